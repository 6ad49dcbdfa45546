"""Evaluate the rules: measure each signal with the kit's Elasticsearch queries, then judge it.

Two halves, so the decision can be tested without servers:

* ``measure_*`` ask Elasticsearch through the kit's own query functions —
  :func:`workshop.monitoring.drift_report` (PSI per feature: ``terms``/``date_histogram``/
  ``range`` aggregations), :func:`workshop.monitoring.latency` (``percentiles``),
  :func:`workshop.monitoring.count_events` (``_count``) and :func:`workshop.feedback.live_error`
  (``weighted_avg`` of the labelled events) — always filtered on one ``model_version``;
* :func:`judge` is pure: below ``min_n`` a rule does not judge (state ``ok``, ``sufficient``
  false), otherwise it fires exactly when the value is above the limit.

Which version is judged: the one in production (the registry's pointer; for silence, the one the
service says it serves). Alerts of a version that left production are closed by the store (see
:mod:`workshop.alerts.store`), so after a promotion the next evaluation starts the new version
from its own events.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from workshop import formatting
from workshop.alerts.rules import Rule, RuleSet, Signal
from workshop.config import Settings, get_settings
from workshop.errors import ModelNotFoundError

OK = "ok"
FIRING = "firing"
STATE_LABELS = {OK: "ok", FIRING: "DISPARADA"}


@dataclass(frozen=True)
class Measurement:
    """What a signal measured for one version in one window (no decision yet)."""

    value: float | None
    n: int
    limit: float | None = None  # the figure compared (live_error: k × validation NWRMSLE)
    feature: str | None = None  # drift: the feature with the highest PSI
    details: dict[str, float] = field(default_factory=dict)  # drift: PSI per feature
    healthy: bool | None = None  # silence: the service answered /health with a model
    note: str | None = None  # why it could not be measured/judged (pt-BR)


@dataclass(frozen=True)
class Evaluation:
    """One rule, one version, one window: the document :mod:`workshop.alerts.store` writes."""

    rule: Rule
    version: str
    window_start: datetime
    window_end: datetime
    value: float | None
    limit: float | None
    n: int
    state: str
    sufficient: bool
    message: str
    feature: str | None = None
    details: dict[str, float] = field(default_factory=dict)

    @property
    def firing(self) -> bool:
        return self.state == FIRING

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule.name,
            "signal": self.rule.signal.value,
            "severity": self.rule.severity,
            "version": self.version,
            "window": self.rule.window,
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "value": self.value,
            "threshold": self.limit,
            "rule_threshold": self.rule.threshold,
            "n": self.n,
            "min_n": self.rule.min_n,
            "state": self.state,
            "sufficient": self.sufficient,
            "feature": self.feature,
            "psi": dict(self.details) or None,
            "message": self.message,
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return formatting.number(value, digits)


# --------------------------------------------------------------------------- the decision


def judge(
    rule: Rule,
    version: str,
    measurement: Measurement,
    window_start: datetime,
    window_end: datetime,
) -> Evaluation:
    """The state of one rule from one measurement (pure; pt-BR message)."""
    m = measurement
    limit = m.limit if m.limit is not None else rule.threshold
    state, sufficient = OK, True
    if rule.signal is Signal.SILENCE:
        if not m.healthy:
            sufficient = False
            message = m.note or "serviço fora do ar ou sem modelo: o silêncio não é julgado"
        elif m.n == 0:
            state = FIRING
            message = (
                f"nenhum evento em {rule.window} com o serviço no ar (versão {version}): "
                "o registro de eventos parou?"
            )
        else:
            message = f"{formatting.integer(m.n)} eventos em {rule.window}"
    elif m.value is None or math.isnan(m.value) or m.n < rule.min_n:
        sufficient = False
        message = m.note or (
            f"amostra insuficiente: {formatting.integer(m.n)} eventos (mínimo "
            f"{formatting.integer(rule.min_n)}) — a regra não julga"
        )
    else:
        assert limit is not None  # rules validate a threshold for every other signal
        above = m.value > limit
        state = FIRING if above else OK
        digits = 1 if rule.signal is Signal.LATENCY_P95 else 3
        what = {
            Signal.DRIFT: f"PSI máximo {_num(m.value)} ({m.feature})",
            Signal.LATENCY_P95: f"p95 {_num(m.value, 1)} ms",
            Signal.LIVE_ERROR: f"NWRMSLE {_num(m.value)}",
        }[rule.signal]
        relation = "acima do" if above else "dentro do"
        count = formatting.integer(m.n)
        message = f"{what} {relation} limite {_num(limit, digits)} · {count} eventos"
    return Evaluation(
        rule=rule,
        version=version,
        window_start=window_start,
        window_end=window_end,
        value=None if m.value is None or math.isnan(m.value) else float(m.value),
        limit=limit,
        n=m.n,
        state=state,
        sufficient=sufficient,
        message=message,
        feature=m.feature,
        details=m.details,
    )


# --------------------------------------------------------------------------- the measurements


def measure_drift(rule: Rule, version: str, window: Any, es: Any) -> Measurement:
    """Highest PSI among the features with at least ``min_n`` events (this version's events)."""
    from workshop import monitoring

    try:
        report = monitoring.drift_report(
            window, reference=version, es=es, filters={"model_version": version}, ks=False
        )
    except ModelNotFoundError as exc:
        return Measurement(None, 0, note=f"sem perfil de treino para comparar: {exc}")
    details = {key: round(f.psi, 6) for key, f in report.features.items() if not math.isnan(f.psi)}
    judged = {
        key: f.psi
        for key, f in report.features.items()
        if key in rule.watched_features and f.n >= rule.min_n and not math.isnan(f.psi)
    }
    if not judged:
        return Measurement(None, report.n_events, details=details)
    worst = max(judged, key=lambda k: judged[k])
    label = monitoring.DRIFT_FEATURES.get(worst, worst)
    return Measurement(judged[worst], report.n_events, feature=label, details=details)


def measure_latency(rule: Rule, version: str, window: Any, es: Any) -> Measurement:
    from workshop import monitoring

    summary = monitoring.latency(window, es=es, filters={"model_version": version})
    return Measurement(summary.p95 if summary.count else None, summary.count)


def measure_silence(
    rule: Rule, version: str, window: Any, es: Any, health: dict[str, Any] | None
) -> Measurement:
    from workshop import monitoring

    n = monitoring.count_events(window, es=es)
    healthy = bool(health and health.get("model_loaded"))
    stats = (health or {}).get("events") or {}
    handed = sum(int(stats.get(k) or 0) for k in ("sent", "spooled", "queued"))
    note = None
    if not healthy:
        note = "serviço fora do ar ou sem modelo: o silêncio não é julgado"
    elif handed == 0:  # nothing answered since the service started: quiet, not broken
        healthy, note = False, "o serviço ainda não respondeu nenhuma predição: nada a julgar"
    return Measurement(float(n), n, healthy=healthy, note=note)


def measure_live_error(
    rule: Rule, version: str, window: Any, es: Any, settings: Settings
) -> Measurement:
    """NWRMSLE of this version's labelled events logged in the window; limit k × validation."""
    from workshop import feedback, modeling

    try:
        validation = float(modeling.Registry(settings).card(version)["metrics"]["nwrmsle"])
    except (ModelNotFoundError, KeyError, TypeError, ValueError):
        return Measurement(None, 0, note=f"a versão {version} não tem NWRMSLE de validação")
    assert rule.threshold is not None
    limit = rule.threshold * validation
    frame = feedback.live_error(
        interval=None, by="model_version", logged_since=window.start, es=es, settings=settings
    )
    rows = frame[frame["model_version"] == version] if not frame.empty else frame
    if rows.empty:
        return Measurement(None, 0, limit=limit, note=_no_labels(rule))
    row = rows.iloc[0]
    return Measurement(float(row["nwrmsle"]), int(row["n"]), limit=limit)


def _no_labels(rule: Rule) -> str:
    return (
        f"nenhum evento rotulado em {rule.window}: os rótulos chegam depois das predições "
        "(`workshop feedback label`)"
    )


# --------------------------------------------------------------------------- all rules


@dataclass(frozen=True)
class Context:
    """What one evaluation round needs: the clock, the client, the judged versions."""

    now: datetime
    es: Any
    settings: Settings
    production: str | None
    health: dict[str, Any] | None


def current_context(
    es: Any = None, settings: Settings | None = None, now: datetime | None = None
) -> Context:
    from workshop import modeling, stack
    from workshop.service_process import service_health

    settings = settings or get_settings()
    return Context(
        now=(now or datetime.now(UTC)).astimezone(UTC),
        es=es or stack.connect(settings),
        settings=settings,
        production=modeling.Registry(settings).production_version(),
        health=service_health(settings.service_url),
    )


def evaluate_rule(rule: Rule, ctx: Context) -> list[Evaluation]:
    """The rule for the version in production (silence: the version the service serves)."""
    from workshop import monitoring

    window = monitoring.time_window(ctx.now - rule.window_delta, ctx.now)
    if rule.signal is Signal.SILENCE:
        version = str((ctx.health or {}).get("model_version") or ctx.production or "nenhuma")
        m = measure_silence(rule, version, window, ctx.es, ctx.health)
        return [judge(rule, version, m, window.start, window.end)]
    if ctx.production is None:
        m = Measurement(None, 0, note="nenhum modelo em produção (notebook 01 ou `workshop train`)")
        return [judge(rule, "nenhuma", m, window.start, window.end)]
    version = ctx.production
    if rule.signal is Signal.DRIFT:
        m = measure_drift(rule, version, window, ctx.es)
    elif rule.signal is Signal.LATENCY_P95:
        m = measure_latency(rule, version, window, ctx.es)
    else:
        m = measure_live_error(rule, version, window, ctx.es, ctx.settings)
    return [judge(rule, version, m, window.start, window.end)]


def evaluate(
    rules: RuleSet | Iterable[Rule],
    ctx: Context,
    progress: bool = False,
) -> list[Evaluation]:
    """Every rule, in file order (a tqdm bar when ``progress``)."""
    from tqdm.auto import tqdm

    items = list(rules.rules if isinstance(rules, RuleSet) else rules)
    out: list[Evaluation] = []
    for rule in tqdm(items, desc="Avaliando regras", unit="regra", disable=not progress):
        out += evaluate_rule(rule, ctx)
    return out
