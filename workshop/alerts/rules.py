"""The rules file (``infra/monitoring/rules.toml``): what the scheduled checks watch.

A rule is data: a name, a pt-BR description, the signal, the window, the threshold, the minimum
sample and the severity. :func:`load_rules` validates the whole file with pydantic before anything
runs; one invalid rule refuses the file, with a pt-BR message naming the rule and the field.
TOML because Python reads it with the standard library (``tomllib``), no new dependency.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from workshop import formatting
from workshop.config import project_root
from workshop.errors import InvalidInputError

RULES_PATH = project_root() / "infra" / "monitoring" / "rules.toml"
_DURATION = re.compile(r"^(\d+)(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Features a drift rule can watch (the keys of workshop.monitoring.DRIFT_FEATURES).
DRIFT_FEATURES = ("product", "family", "weekday", "promotion", "prediction")
#: By default the inputs only: the prediction distribution also moves with the asked dates.
DEFAULT_DRIFT_FEATURES = ("product", "family", "weekday", "promotion")


class Signal(StrEnum):
    """What a rule measures (the value compared with its threshold)."""

    DRIFT = "drift"  # the highest PSI among the features with at least min_n events
    LATENCY_P95 = "latency_p95"  # p95 of latency_ms, in milliseconds
    SILENCE = "silence"  # events in the window (fires at zero while the service is healthy)
    LIVE_ERROR = "live_error"  # NWRMSLE of labelled events ÷ the version's validation NWRMSLE


SIGNAL_LABELS = {
    Signal.DRIFT: "drift (PSI)",
    Signal.LATENCY_P95: "latência p95 (ms)",
    Signal.SILENCE: "silêncio (eventos)",
    Signal.LIVE_ERROR: "erro real (× validação)",
}


class RulesError(InvalidInputError):
    """The rules file cannot be used (pt-BR message names the rule and the field)."""


def parse_duration(value: str) -> timedelta:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"7d"`` → timedelta; a pt-BR :class:`ValueError` else."""
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"duração inválida {value!r}: use um inteiro maior que zero seguido de s, m, h ou d "
            "(ex.: '15m', '1h', '7d')"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Rule(BaseModel):
    """One monitoring rule, as written in the rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = Field(min_length=1)
    signal: Signal
    window: str
    threshold: float | None = None
    min_n: int = Field(default=1, ge=1)
    severity: Literal["baixa", "média", "alta"]
    features: tuple[str, ...] | None = None  # drift only

    @field_validator("features")
    @classmethod
    def _features(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        unknown = [f for f in value if f not in DRIFT_FEATURES]
        if unknown or not value:
            raise ValueError(
                f"variáveis desconhecidas {unknown!r}; use algumas de: {', '.join(DRIFT_FEATURES)}"
                if unknown
                else "informe pelo menos uma variável"
            )
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "use letras minúsculas, dígitos e '_', começando por uma letra "
                "(ex.: drift_entradas)"
            )
        return value

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)
        return value

    @model_validator(mode="after")
    def _threshold(self) -> Rule:
        if self.features is not None and self.signal is not Signal.DRIFT:
            raise ValueError("features: só regras de drift têm variáveis")
        if self.signal is Signal.SILENCE:
            if self.threshold not in (None, 0):
                raise ValueError(
                    "threshold: a regra de silêncio não tem limite (dispara com zero eventos)"
                )
        elif self.threshold is None or not self.threshold > 0:
            raise ValueError("threshold: obrigatório e maior que zero para este sinal")
        return self

    @property
    def watched_features(self) -> tuple[str, ...]:
        return self.features or DEFAULT_DRIFT_FEATURES

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def signal_label(self) -> str:
        return SIGNAL_LABELS[self.signal]

    def to_row(self) -> dict[str, Any]:
        """The rule as a pt-BR table row (notebook 07)."""
        return {
            "regra": self.name,
            "sinal": self.signal_label,
            "janela": self.window,
            "limite": "—" if self.threshold is None else formatting.short(self.threshold),
            "n mínimo": self.min_n,
            "severidade": self.severity,
            "descrição": self.description,
        }


class RuleSet(BaseModel):
    """Every rule of a file; names are unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: list[Rule] = Field(min_length=1)

    @property
    def rules(self) -> list[Rule]:
        return self.rule

    def get(self, name: str) -> Rule:
        for rule in self.rule:
            if rule.name == name:
                return rule
        raise RulesError(
            f"Regra desconhecida: {name!r}. Regras: {', '.join(r.name for r in self.rule)}."
        )

    def table(self) -> Any:
        """The rules as a pandas DataFrame (pandas imported here only)."""
        import pandas as pd

        return pd.DataFrame([r.to_row() for r in self.rule]).set_index("regra")


_FIELD_LABELS = {
    "name": "name",
    "description": "description",
    "signal": "signal",
    "window": "window",
    "threshold": "threshold",
    "min_n": "min_n",
    "severity": "severity",
    "features": "features",
}


def _describe(error: dict[str, Any], raw_rules: list[Any]) -> str:
    """One pydantic error as a pt-BR sentence naming the rule (by name or position) and field."""
    loc = list(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    if loc[:1] != ["rule"]:
        where = "o arquivo"
        field = ".".join(str(p) for p in loc) or "rule"
        if kind == "extra_forbidden":
            return f"{where}: campo desconhecido {field!r} (só [[rule]] é aceito)"
        return f"{where}: {field}: {_translate(kind, message, error)}"
    if len(loc) == 1:
        return f"[[rule]]: {_translate(kind, message, error)}"
    index = int(loc[1])
    raw = raw_rules[index] if index < len(raw_rules) else {}
    name = raw.get("name") if isinstance(raw, dict) else None
    who = f"regra {name!r}" if isinstance(name, str) and name else f"regra nº {index + 1}"
    if len(loc) == 2:  # model-level check: the message starts with the field
        field, _, text = message.partition(": ")
        if text:
            return f"{who}, campo {field}: {text}"
        return f"{who}: {_translate(kind, message, error)}"
    field = _FIELD_LABELS.get(str(loc[2]), str(loc[2]))
    if kind == "extra_forbidden":
        return f"{who}: campo desconhecido {field!r}"
    return f"{who}, campo {field}: {_translate(kind, message, error)}"


def _translate(kind: str, message: str, error: dict[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return "obrigatório e ausente"
    if kind in {"enum", "literal_error"}:
        options = str(ctx.get("expected", "")).replace(" or ", " ou ")
        return f"valor {given!r} inválido; use um de: {options}"
    if kind in {"float_parsing", "float_type"}:
        return f"{given!r} não é um número"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{given!r} não é um número inteiro"
    if kind == "string_type":
        return f"{given!r} não é um texto"
    if kind == "greater_than_equal":
        return f"precisa ser ≥ {ctx.get('ge')} (veio {given!r})"
    if kind == "string_too_short":
        return "não pode ser vazio"
    if kind == "too_short":
        return "o arquivo precisa de pelo menos uma regra [[rule]]"
    if kind == "list_type":
        return "use tabelas [[rule]]"
    if kind == "model_type":
        return "cada [[rule]] precisa ser uma tabela TOML"
    return message


def parse_rules(data: dict[str, Any], source: str = "um arquivo de regras") -> RuleSet:
    """Validate already-parsed TOML; every problem is listed, nothing half-loaded is returned."""
    raw_rules = data.get("rule") if isinstance(data.get("rule"), list) else []
    try:
        ruleset = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(dict(err), raw_rules) for err in exc.errors()]
        raise RulesError(
            f"Regras inválidas em {source} — nenhuma regra foi carregada:\n  • "
            + "\n  • ".join(problems)
        ) from None
    names = [r.name for r in ruleset.rule]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RulesError(
            f"Regras inválidas em {source} — nenhuma regra foi carregada:\n  • nome repetido: "
            + ", ".join(repr(n) for n in duplicated)
        )
    return ruleset


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Read and validate the rules file (default ``infra/monitoring/rules.toml``)."""
    path = Path(path) if path is not None else RULES_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RulesError(f"Arquivo de regras não encontrado: {path}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: TOML inválido ({exc}) — nenhuma regra foi carregada.") from None
    return parse_rules(data, source=str(path))
