"""The whole loop, end to end: one turn (:func:`close_loop`) and the demo (:func:`run_scenario`).

:func:`close_loop` curates the labelled events, retrains, compares and (optionally) promotes —
``workshop feedback retrain``. :func:`run_scenario` is ``workshop feedback demo``: a history-only
baseline (:func:`ensure_baseline`), the saved scenario, traffic through the model service,
labels, live error, then :func:`close_loop`; notebook 06 runs the same steps one cell at a time
with the helpers here (:func:`wait_for_events`, :func:`wait_for_service_version`,
:func:`events_by_version`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch

from workshop import dataset, formatting, modeling
from workshop.config import Settings, get_settings
from workshop.errors import ModelNotFoundError
from workshop.feedback.curation import Curated, curate, fetch_labelled
from workshop.feedback.indices import count, refresh, search_kwargs
from workshop.feedback.labels import label_events
from workshop.feedback.live_metrics import live_error, worst_family
from workshop.feedback.retraining import (
    Comparison,
    compare,
    promote_if_better,
    record_comparison,
    retrain,
)
from workshop.feedback.scenario import (
    FeedbackError,
    Scenario,
    default_as_of,
    load_scenario,
    parse_day,
    save_scenario,
)
from workshop.polling import poll
from workshop.stack import connect


@dataclass
class LoopResult:
    """One turn of the loop: curation, the new version, the comparison (and promotion)."""

    curated: Curated
    comparison: Comparison
    train: modeling.TrainResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {**self.comparison.to_dict(), "curation": self.curated.to_dict()}


def close_loop(
    *,
    as_of: date | str | None = None,
    family: str | None = None,
    eval_days: int = 28,
    promote: bool = False,
    scenario: Scenario | None = None,
    es: Elasticsearch | None = None,
    settings: Settings | None = None,
    progress: bool = False,
) -> LoopResult:
    """Curate the labelled events before ``as_of``, retrain, compare on ``[as_of, +eval_days)``
    and (when ``promote``) promote the new version if it is better."""
    settings = settings or get_settings()
    es = es or connect(settings)
    scenario = scenario if scenario is not None else load_scenario(settings)
    as_of = parse_day(as_of, default=default_as_of(None, settings))
    registry = modeling.Registry(settings)
    old = registry.production_version()
    if old is None:
        raise ModelNotFoundError(
            "Nenhum modelo em produção para comparar — execute o notebook 01 ou `workshop train`."
        )
    family = family or (scenario.family if scenario else worst_family(settings, es))
    # The retrain regenerates the store's history (up to dataset.HISTORY_END): feedback rows
    # of days it already covers add nothing new.
    curated = curate(
        fetch_labelled(es=es, settings=settings), as_of=as_of, history_until=dataset.HISTORY_END
    )
    train = retrain(curated, scenario=scenario, settings=settings, progress=progress)
    comparison = compare(
        old,
        train.version,
        family=family,
        start=as_of,
        days=eval_days,
        scenario=scenario,
        settings=settings,
    )
    if promote:
        promote_if_better(comparison, curated=curated, settings=settings)
    else:
        record_comparison(comparison, curated=curated, settings=settings)
    return LoopResult(curated, comparison, train)


# --------------------------------------------------------------------------- the demo scenario


def _baseline_ok(card: dict[str, Any]) -> bool:
    """A production model that knows nothing of the change: history only, no feedback rows."""
    return not card.get("extra_rows") and pd.Timestamp(card["train_end"]) <= pd.Timestamp(
        dataset.HISTORY_END
    )


def ensure_baseline(
    scenario: Scenario | None = None,
    *,
    settings: Settings | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> str:
    """The production version, trained on the history only (what the scenario starts from).

    When nothing is in production, or production already learned from feedback (a second run of
    the scenario), a history-only model is trained and promoted first.
    """
    settings = settings or get_settings()
    registry = modeling.Registry(settings)
    production = registry.production_version()
    if production is not None and _baseline_ok(registry.card(production)):
        return production
    why = (
        "não há modelo em produção"
        if production is None
        else f"a versão de produção {production} já aprendeu com feedback"
    )
    # Not a rollback to notebook 01's v1, though it is the same model: the checks of notebook 07
    # read each version's recent traffic, and v1's includes every earlier notebook's (notebook
    # 04's drift too). A new version starts the scenario with a clean window (tried in issue 15:
    # with v1 the drift rule of notebook 07 did not fire).
    echo(f"Treinando um modelo só com o histórico 2024–2025 ({why})…")
    return modeling.train_and_register(
        seed=scenario.seed if scenario else dataset.DEFAULT_SEED,
        promote=True,
        description="Modelo inicial (histórico 2024–2025) do cenário do ciclo de feedback.",
        settings=settings,
        progress=progress,
    ).version


def wait_for_events(
    es: Elasticsearch,
    ids: list[str],
    *,
    settings: Settings | None = None,
    timeout: float = 60.0,
) -> int:
    """Wait until the events with these ``prediction_id`` are searchable; return how many are.

    The service's event logger writes in the background, so right after a simulation some
    events may still be in its queue.
    """
    settings = settings or get_settings()
    if not ids:
        return 0

    def look() -> int:
        refresh(es, settings)
        return sum(
            count(es, settings, {"ids": {"values": ids[i : i + 5000]}})
            for i in range(0, len(ids), 5000)
        )

    return poll(look, lambda found: found >= len(ids), timeout=timeout)


def wait_for_service_version(url: str, version: str, timeout: float = 30.0) -> str | None:
    """Poll the service's ``/health`` until it answers with ``version``; return what it serves."""
    from workshop.service_process import service_health

    def served() -> str | None:
        health = service_health(url)
        return health.get("model_version") if health else None

    return poll(served, lambda answer: answer == version, timeout=timeout)


def events_by_version(
    *, es: Elasticsearch | None = None, settings: Settings | None = None
) -> dict[str, int]:
    """How many events each model version answered (terms aggregation)."""
    settings = settings or get_settings()
    es = es or connect(settings)
    refresh(es, settings)
    resp = es.search(
        size=0,
        aggs={"v": {"terms": {"field": "model_version", "size": 100}}},
        **search_kwargs(settings),
    )
    buckets = resp.get("aggregations", {}).get("v", {}).get("buckets", [])
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


def scenario_traffic(fast: bool) -> int:
    """Requests the scenario sends over its traffic window (fast: CI)."""
    return 700 if fast else 2000


def run_scenario(
    *,
    scenario: Scenario | None = None,
    fast: bool = False,
    n_events: int | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The whole loop on the configured stack (``workshop feedback demo``).

    Trains a history-only production model if needed, saves the scenario (the world's regime),
    simulates the traffic through the model service, labels the events as of the simulated
    today, measures live error, retrains on curated feedback, compares on the next weeks of
    actuals, promotes if better and checks that the service answers with the new version.
    """
    from workshop import simulator, stack
    from workshop.service_process import ensure_service

    settings = settings or get_settings()
    scenario = scenario or Scenario()
    echo(stack.ensure_engine(settings))
    es = connect(settings)
    stack.install_template(es)
    save_scenario(scenario, settings)
    echo(scenario.describe())

    production = ensure_baseline(scenario, settings=settings, echo=echo, progress=progress)
    echo(f"Versão em produção: {production}")

    service = ensure_service(settings)
    url = service.url if service is not None else settings.service_url
    try:
        served = wait_for_service_version(url, production)
        if served != production:
            raise FeedbackError(
                f"O serviço em {url} responde com a versão {served}, não com {production}."
            )
        n = n_events or scenario_traffic(fast)
        echo(
            f"Simulando {formatting.integer(n)} predições para "
            f"{formatting.day(scenario.traffic_start)} … "
            f"{formatting.day(scenario.as_of - timedelta(days=1))} via {url}…"
        )
        summary = simulator.simulate(
            n=n,
            start=scenario.traffic_start,
            days=scenario.traffic_days,
            url=url,
            seed=scenario.seed,
            progress=progress,
        )
        if summary.ok == 0:
            raise FeedbackError(f"Nenhuma predição deu certo: {summary}")
        logged = wait_for_events(es, summary.prediction_ids, settings=settings)
        echo(f"{summary.ok} predições respondidas; {logged} eventos no Elasticsearch.")

        labels = label_events(as_of=scenario.as_of, scenario=scenario, es=es, settings=settings)
        echo(labels.summary())
        live = live_error(
            interval=None,
            by=["model_version", "family"],
            start=scenario.change_start,
            end=scenario.as_of - timedelta(days=1),
            es=es,
            settings=settings,
        )
        live_old = live[live["model_version"] == production].set_index("family")
        others = live_old.drop(index=scenario.family, errors="ignore")
        live_family = (
            float(live_old.loc[scenario.family, "nwrmsle"])
            if scenario.family in live_old.index
            else float("nan")
        )
        live_others = (
            float(np.average(others["nwrmsle"], weights=others["n"]))
            if len(others)
            else float("nan")
        )

        loop = close_loop(
            as_of=scenario.as_of,
            family=scenario.family,
            eval_days=scenario.eval_days,
            promote=True,
            scenario=scenario,
            es=es,
            settings=settings,
            progress=progress,
        )
        comparison = loop.comparison
        echo(loop.curated.summary())

        served_after = served
        new_events = 0
        if comparison.promoted:
            served_after = wait_for_service_version(url, comparison.new_version)
            after = simulator.simulate(
                n=20,
                start=scenario.eval_start,
                days=7,
                url=url,
                seed=scenario.seed + 1,
                progress=False,
            )
            wait_for_events(es, after.prediction_ids, settings=settings)
            new_events = events_by_version(es=es, settings=settings).get(comparison.new_version, 0)
    finally:
        if service is not None:
            service.stop()

    return {
        **comparison.to_dict(),
        "scenario": scenario.to_dict(),
        "as_of": scenario.as_of.isoformat(),
        "requests": summary.sent,
        "requests_ok": summary.ok,
        "events_logged": logged,
        "labelled": labels.labelled,
        "already_labelled": labels.already_labelled,
        "skipped_future": labels.skipped_future,
        "live_family_nwrmsle": round(live_family, 4),
        "live_other_families_nwrmsle": round(live_others, 4),
        "curation": loop.curated.to_dict(),
        "service_model_version": served_after,
        "events_new_version": new_events,
    }
