"""The key figures of a window as one JSON-ready dict (``workshop monitor report``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from elasticsearch import Elasticsearch

from workshop.errors import ModelNotFoundError
from workshop.monitoring.aggregations import (
    COUNT,
    counts_by_channel,
    counts_by_model_version,
    counts_by_product,
    latency,
)
from workshop.monitoring.drift import drift_report
from workshop.monitoring.queries import _context, count_events
from workshop.monitoring.windows import TimeLike, TimeWindow

#: Below this many events in a window, PSI readings swing by chance (shown as a warning).
MIN_EVENTS_FOR_DRIFT = 200


def report(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    version: str | None = None,
    es: Elasticsearch | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """The key figures of a window as one JSON-ready dict (``workshop monitor report``).

    Counts per channel, model version and product (top ``top``), latency percentiles and drift
    against the training profile of ``version`` (production by default). Without a trained model
    (or a card without a profile), ``drift`` is ``None`` and ``drift_error`` says why in pt-BR.
    """
    window, client, _ = _context(start, end, es)

    def as_dict(frame: pd.DataFrame, field: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in zip(frame[field], frame[COUNT], strict=True)}

    total = count_events(window, es=client)
    products = counts_by_product(window, es=client, size=top)
    products = products[products["product"] != "(outros)"]
    by_version = as_dict(counts_by_model_version(window, es=client), "model_version")
    drift: dict[str, Any] | None = None
    drift_error: str | None = None
    drift_by_version: dict[str, dict[str, Any]] = {}
    if total:
        try:
            main = drift_report(window, reference=version, es=client)
        except ModelNotFoundError as exc:
            if version is not None:
                raise  # the participant named a version that does not exist
            drift_error = str(exc)
        else:
            # Issue 13: v1's traffic was read against v2's profile. Each version's own events
            # are compared with its own training profile; the headline is the chosen version's.
            versions = [main.version] if version is not None else list(by_version)
            for name in versions:
                if not name:
                    continue
                try:
                    own = drift_report(
                        window, reference=name, es=client, filters={"model_version": name}
                    )
                except ModelNotFoundError:
                    continue  # events of a version no longer in the registry
                drift_by_version[name] = _judged(own.to_dict())
            drift = drift_by_version.get(main.version or "") or _judged(main.to_dict())
    else:
        drift_error = "Nenhum evento na janela."
    drift_warning = None
    if drift is not None and drift["small_features"]:
        drift_warning = (
            f"Poucos eventos em {', '.join(drift['small_features'])}: com menos de "
            f"{MIN_EVENTS_FOR_DRIFT} por variável, o PSI varia muito por acaso — essas linhas "
            "são indicativas e ficam fora da leitura geral."
        )
    return {
        "window": window.to_dict(),
        "total": total,
        "by_channel": as_dict(counts_by_channel(window, es=client), "channel"),
        "by_model_version": by_version,
        "top_products": as_dict(products, "product"),
        "latency_ms": {
            k: v for k, v in latency(window, es=client).to_dict().items() if k != "window"
        },
        "drift": drift,
        "drift_by_version": drift_by_version,
        "drift_error": drift_error,
        "drift_warning": drift_warning,
    }


def _judged(drift: dict[str, Any]) -> dict[str, Any]:
    """A drift dict whose overall reading rests only on features with enough events (issue 13:
    "agir" from a feature with 47 events); the others are flagged ``small_sample``."""
    order = ["agir", "atenção", "estável"]
    small = []
    for item in drift["psi"].values():
        item["small_sample"] = item["n"] < MIN_EVENTS_FOR_DRIFT
        if item["small_sample"]:
            small.append(item["label"])
    judged = {i["reading"] for i in drift["psi"].values() if not i["small_sample"]}
    drift["worst"] = next(
        (r for r in order if r in judged), "indefinida (poucos eventos)" if small else "sem dados"
    )
    drift["small_features"] = small
    return drift
