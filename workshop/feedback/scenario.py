"""The simulated world of the feedback loop: the scenario, where it is saved, and its dates.

A :class:`Scenario` is a change in demand (one family sells ``factor`` × from ``change_start``)
plus the dates of the traffic, the labels (``as_of``, the simulated "today") and the evaluation
window. :func:`save_scenario` writes it under ``$WORKSHOP_HOME/data/`` so that later steps (the
CLI, the next notebook cell) label and compare in the same world. :func:`parse_day` turns what
participants type, or what a document holds, into a day. Every later stage imports from here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workshop import dataset
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, WorkshopError

SCENARIO_FILE = "feedback_scenario.json"


class FeedbackError(WorkshopError):
    """A step of the feedback loop cannot run (pt-BR message says what to do)."""


@dataclass(frozen=True)
class Scenario:
    """The demo world: a change in demand and the dates of the traffic, labels and evaluation.

    ``as_of`` is the simulated "today" when labelling and retraining happen: every target date of
    the traffic has passed. The evaluation window starts on ``as_of`` (after everything either
    model trained on) and lasts ``eval_days``.
    """

    family: str = "LATICÍNIOS"
    change_start: date = date(2026, 1, 1)
    factor: float = 0.7
    traffic_start: date = date(2025, 12, 15)  # a Monday: whole calendar weeks
    traffic_days: int = 56
    eval_days: int = 28
    seed: int = dataset.DEFAULT_SEED

    def __post_init__(self) -> None:
        families = {p.family for p in dataset.CATALOGUE}
        if self.family not in families:
            raise InvalidInputError(
                f"Família desconhecida: {self.family!r}. Opções: {', '.join(sorted(families))}."
            )
        if not 0 < self.factor <= 5:
            raise InvalidInputError(f"Fator da mudança inválido: {self.factor} (use entre 0 e 5).")
        if self.traffic_days < 1 or self.eval_days < 1:
            raise InvalidInputError("Os períodos de tráfego e de avaliação precisam de ≥ 1 dia.")

    @property
    def regime(self) -> dataset.RegimeChange:
        return dataset.RegimeChange(family=self.family, start=self.change_start, factor=self.factor)

    @property
    def as_of(self) -> date:
        return self.traffic_start + timedelta(days=self.traffic_days)

    @property
    def eval_start(self) -> date:
        return self.as_of

    @property
    def eval_end(self) -> date:
        """Last day (inclusive) of the evaluation window."""
        return self.as_of + timedelta(days=self.eval_days - 1)

    def describe(self) -> str:
        """The scenario in one pt-BR paragraph."""
        change = round(abs(1 - self.factor) * 100)
        if self.factor < 1:
            what = f"vende {change}% menos (um concorrente abriu ao lado)"
        elif self.factor > 1:
            what = f"vende {change}% mais"
        else:
            what = "vende o mesmo (nenhuma mudança)"
        last = self.as_of - timedelta(days=1)
        return (
            f"Cenário: a partir de {self.change_start:%d/%m/%Y}, a família {self.family} {what}. "
            f"Tráfego para as datas de {self.traffic_start:%d/%m/%Y} a {last:%d/%m/%Y}; "
            f"'hoje' no mundo simulado: {self.as_of:%d/%m/%Y}; avaliação de "
            f"{self.eval_start:%d/%m/%Y} a {self.eval_end:%d/%m/%Y}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        values = dict(data)
        for key in ("change_start", "traffic_start"):
            if key in values:
                values[key] = date.fromisoformat(str(values[key]))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


def save_scenario(scenario: Scenario, settings: Settings | None = None) -> None:
    """Remember the world's regime so that later labelling (CLI, notebooks) uses the same one."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / SCENARIO_FILE).write_text(json.dumps(scenario.to_dict(), indent=2))


def load_scenario(settings: Settings | None = None) -> Scenario | None:
    """The scenario saved by :func:`save_scenario`, or ``None`` (a world without a change)."""
    settings = settings or get_settings()
    path = settings.data_dir / SCENARIO_FILE
    if not path.exists():
        return None
    try:
        return Scenario.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise FeedbackError(f"Arquivo de cenário inválido em {path}: {exc}. Apague-o.") from None


def world(scenario: Scenario | None, settings: Settings) -> tuple[dataset.RegimeChange | None, int]:
    scenario = scenario if scenario is not None else load_scenario(settings)
    if scenario is None:
        return None, dataset.DEFAULT_SEED
    return scenario.regime, scenario.seed


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_day(value: date | str | None, *, default: date | None = None) -> date:
    """A day from a date, an ISO date/timestamp string or ``None`` (→ ``default``); pt-BR errors."""
    if value is None:
        if default is None:
            raise InvalidInputError("Informe uma data.")
        return default
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        value = value[:10]  # an ISO timestamp from a document: its day
    return dataset.parse_date(value)


def default_as_of(value: date | None, settings: Settings | None = None) -> date:
    """``value``, else the saved scenario's simulated today, else today (UTC)."""
    if value is not None:
        return value
    scenario = load_scenario(settings)
    return scenario.as_of if scenario is not None else today_utc()
