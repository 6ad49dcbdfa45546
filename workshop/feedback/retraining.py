"""Retrain, compare, promote: a new version from curated feedback, judged on later actuals.

:func:`retrain` registers a version trained on the history + curated rows (not promoted);
:func:`compare` scores it and the production version on a window of actuals that NEITHER trained
on (:func:`check_window`); :func:`promote_if_better` applies the rule (overall no worse AND the
affected family better) and :func:`record_comparison` writes the comparison into the new
version's card. :func:`plot_comparison` draws the result for notebook 06.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from workshop import dataset, formatting, modeling
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError
from workshop.feedback.curation import FEEDBACK_SOURCE, Curated
from workshop.feedback.labels import KEY
from workshop.feedback.scenario import FeedbackError, Scenario, load_scenario, parse_day, world

# --------------------------------------------------------------------------- retrain


def retrain(
    curated: Curated | pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    description: str | None = None,
    settings: Settings | None = None,
    progress: bool = False,
) -> modeling.TrainResult:
    """Train a new version on the history + curated feedback rows (registered, NOT promoted).

    The model module adds the rows to the history and uses them to calibrate each family's level
    (:class:`workshop.modeling.SalesRegressor`), so a few weeks of post-change labels move the
    affected family's predictions. The merge with the history happens inside
    :func:`workshop.modeling.train_and_register` (see :func:`merge_with_history` for the same
    merge as a DataFrame, shown in notebook 06).
    """
    settings = settings or get_settings()
    rows = curated.rows if isinstance(curated, Curated) else curated
    if len(rows) == 0:
        raise FeedbackError(
            "Nenhuma linha curada para treinar: rotule eventos com data-alvo passada primeiro "
            "(`workshop feedback label`)."
        )
    if "source" in rows.columns and (rows["source"] != FEEDBACK_SOURCE).any():
        raise FeedbackError("Só linhas curadas (source = feedback) entram como linhas extras.")
    scenario = scenario if scenario is not None else load_scenario(settings)
    return modeling.train_and_register(
        seed=scenario.seed if scenario else dataset.DEFAULT_SEED,
        regime=scenario.regime if scenario else None,
        extra_rows=rows[["date", "item_nbr", "onpromotion", "unit_sales"]],
        promote=False,
        description=description
        or f"Retreino com {len(rows)} linhas de feedback rotuladas (ciclo de feedback).",
        settings=settings,
        progress=progress,
    )


# --------------------------------------------------------------------------- compare & promote

OVERALL = "GERAL"


@dataclass
class Comparison:
    """Production vs. candidate on a window of actuals that neither version trained on.

    ``table`` has one row per family plus ``GERAL`` (overall) with ``n``, ``nwrmsle_old``,
    ``nwrmsle_new``, ``mae_old``, ``mae_new``.
    """

    old_version: str
    new_version: str
    family: str
    window_start: date
    window_end: date
    trained_until: dict[str, str]
    table: pd.DataFrame
    promoted: bool = False

    def _get(self, row: str, col: str) -> float:
        return float(self.table.loc[row, col])

    @property
    def overall_nwrmsle_old(self) -> float:
        return self._get(OVERALL, "nwrmsle_old")

    @property
    def overall_nwrmsle_new(self) -> float:
        return self._get(OVERALL, "nwrmsle_new")

    @property
    def family_nwrmsle_old(self) -> float:
        return self._get(self.family, "nwrmsle_old")

    @property
    def family_nwrmsle_new(self) -> float:
        return self._get(self.family, "nwrmsle_new")

    @property
    def better(self) -> bool:
        return is_better(
            overall_old=self.overall_nwrmsle_old,
            overall_new=self.overall_nwrmsle_new,
            family_old=self.family_nwrmsle_old,
            family_new=self.family_nwrmsle_new,
        )

    @property
    def reason(self) -> str:
        def n(value: float) -> str:
            return formatting.number(value, 3)

        fam = f"{self.family}: {n(self.family_nwrmsle_old)} → {n(self.family_nwrmsle_new)}"
        overall = f"geral: {n(self.overall_nwrmsle_old)} → {n(self.overall_nwrmsle_new)}"
        if self.better:
            return f"a nova versão é melhor (NWRMSLE {fam}; {overall})."
        if self.overall_nwrmsle_new > self.overall_nwrmsle_old:
            return f"a nova versão é pior no geral (NWRMSLE {overall}); fica a atual."
        return f"a nova versão não melhora a família {self.family} (NWRMSLE {fam}); fica a atual."

    def to_dict(self) -> dict[str, Any]:
        t = self.table
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "family": self.family,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "eval_rows": int(t.loc[OVERALL, "n"]),
            "trained_until": dict(self.trained_until),
            "family_nwrmsle_old": round(self.family_nwrmsle_old, 4),
            "family_nwrmsle_new": round(self.family_nwrmsle_new, 4),
            "family_mae_old": round(self._get(self.family, "mae_old"), 3),
            "family_mae_new": round(self._get(self.family, "mae_new"), 3),
            "family_ratio": round(self.family_nwrmsle_new / self.family_nwrmsle_old, 4),
            "overall_nwrmsle_old": round(self.overall_nwrmsle_old, 4),
            "overall_nwrmsle_new": round(self.overall_nwrmsle_new, 4),
            "overall_mae_old": round(self._get(OVERALL, "mae_old"), 3),
            "overall_mae_new": round(self._get(OVERALL, "mae_new"), 3),
            "better": self.better,
            "promoted": self.promoted,
            "reason": self.reason,
            "per_family": {
                str(idx): {k: (round(float(v), 4)) for k, v in row.items()}
                for idx, row in t.iterrows()
            },
        }


def is_better(
    *, overall_old: float, overall_new: float, family_old: float, family_new: float
) -> bool:
    """The promotion rule: overall no worse AND the affected family strictly better."""
    values = (overall_old, overall_new, family_old, family_new)
    if not all(math.isfinite(v) for v in values):
        return False
    return overall_new <= overall_old and family_new < family_old


def trained_until(version: str, settings: Settings | None = None) -> date:
    """Last target date a version trained on (history and extra rows), from its card."""
    card = modeling.Registry(settings).card(version)
    return parse_day(card["train_end"])


def check_window(window_start: date, trained: dict[str, date]) -> None:
    """The evaluation window must start after the last training day of every version compared."""
    for version, last in trained.items():
        if window_start <= last:
            raise FeedbackError(
                f"A janela de avaliação começa em {formatting.day(window_start)}, mas a versão "
                f"{version} treinou com dados até {formatting.day(last)}: a comparação seria "
                "injusta (o modelo já teria visto as respostas). Escolha uma janela posterior."
            )


def evaluation_rows(
    start: date, end: date, *, regime: dataset.RegimeChange | None, seed: int
) -> pd.DataFrame:
    """Every product on every day of the window with the store's actual sales (the truth)."""
    return dataset.generate_history(seed=seed, start=start, end=end, regime=regime)


def compare(
    old_version: str,
    new_version: str,
    *,
    family: str,
    start: date | str,
    days: int = 28,
    scenario: Scenario | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """Score both versions on ``days`` days of actuals from ``start`` (after both trainings)."""
    settings = settings or get_settings()
    if family not in dataset.FAMILIES:
        raise InvalidInputError(
            f"Família desconhecida: {family!r}. Opções: {', '.join(dataset.FAMILIES)}."
        )
    start = parse_day(start)
    end = start + timedelta(days=days - 1)
    trained = {v: trained_until(v, settings) for v in dict.fromkeys([old_version, new_version])}
    check_window(start, trained)
    regime, seed = world(scenario, settings)
    rows = evaluation_rows(start, end, regime=regime, seed=seed)
    registry = modeling.Registry(settings)
    inputs = rows[KEY]
    rows["pred_old"] = registry.load(old_version).predict(inputs)
    rows["pred_new"] = registry.load(new_version).predict(inputs)
    table = _score_table(rows)
    return Comparison(
        old_version,
        new_version,
        family,
        start,
        end,
        {v: d.isoformat() for v, d in trained.items()},
        table,
    )


def _score_table(rows: pd.DataFrame) -> pd.DataFrame:
    def score(part: pd.DataFrame) -> dict[str, float]:
        y, per = part["unit_sales"], part["perishable"]
        return {
            "n": float(len(part)),
            "nwrmsle_old": modeling.nwrmsle(y, part["pred_old"], per),
            "nwrmsle_new": modeling.nwrmsle(y, part["pred_new"], per),
            "mae_old": float(np.mean(np.abs(y - part["pred_old"]))),
            "mae_new": float(np.mean(np.abs(y - part["pred_new"]))),
        }

    records = {fam: score(part) for fam, part in rows.groupby("family", sort=True)}
    records[OVERALL] = score(rows)
    table = pd.DataFrame.from_dict(records, orient="index")
    table["n"] = table["n"].astype(int)
    table.index.name = "family"
    return table


def record_comparison(
    comparison: Comparison, *, curated: Curated | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Write the comparison into the NEW version's card (key ``feedback``); return the card.

    The registry has no card-update call; the card is rewritten atomically with the registry's
    own helper, the way :meth:`workshop.modeling.Registry.register` writes it.
    """
    from workshop.modeling.registry import CARD_FILE, atomic_write_text

    registry = modeling.Registry(settings)
    card = registry.card(comparison.new_version)
    card["feedback"] = {
        "compared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "comparison": comparison.to_dict(),
        "curation": curated.to_dict() if curated is not None else None,
        "rule": "promover só se NWRMSLE geral não piorar E a família afetada melhorar",
    }
    path = registry.path(comparison.new_version) / CARD_FILE
    atomic_write_text(path, json.dumps(card, ensure_ascii=False, indent=2, default=str))
    return card


def promote_if_better(
    comparison: Comparison, *, curated: Curated | None = None, settings: Settings | None = None
) -> bool:
    """Record the comparison in the new card, then promote the new version only if better."""
    comparison.promoted = comparison.better
    record_comparison(comparison, curated=curated, settings=settings)
    if comparison.promoted:
        modeling.Registry(settings).promote(comparison.new_version)
    return comparison.promoted


def plot_comparison(comparison: Comparison) -> Any:
    """NWRMSLE of both versions per family and overall, on the evaluation window."""
    import matplotlib.pyplot as plt

    table = comparison.table
    labels = list(table.index)
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.38
    ax.bar(x - width / 2, table["nwrmsle_old"], width, label=f"{comparison.old_version} (produção)")
    ax.bar(x + width / 2, table["nwrmsle_new"], width, label=f"{comparison.new_version} (nova)")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    for tick in ax.get_xticklabels():
        if tick.get_text() == comparison.family:
            tick.set_color("#c62828")
            tick.set_fontweight("bold")
    ax.set_ylabel("NWRMSLE (menor é melhor)")
    end = formatting.day(comparison.window_end)
    ax.set_title(f"Janela de avaliação {comparison.window_start:%d/%m} a {end}")
    ax.legend()
    from workshop.plots import pt_br_axes

    pt_br_axes(fig)  # NWRMSLE ticks with a decimal comma (issue 13)
    fig.tight_layout()
    plt.close(fig)
    return fig
