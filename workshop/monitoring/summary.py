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
    drift: dict[str, Any] | None = None
    drift_error: str | None = None
    if total:
        try:
            drift = drift_report(window, reference=version, es=client).to_dict()
        except ModelNotFoundError as exc:
            if version is not None:
                raise  # the participant named a version that does not exist
            drift_error = str(exc)
    else:
        drift_error = "Nenhum evento na janela."
    drift_warning = None
    if drift is not None and total < MIN_EVENTS_FOR_DRIFT:
        drift_warning = (
            f"Poucos eventos ({total}): com menos de {MIN_EVENTS_FOR_DRIFT}, o PSI varia muito "
            "por acaso — trate a leitura como indicativa."
        )
    return {
        "window": window.to_dict(),
        "total": total,
        "by_channel": as_dict(counts_by_channel(window, es=client), "channel"),
        "by_model_version": as_dict(counts_by_model_version(window, es=client), "model_version"),
        "top_products": as_dict(products, "product"),
        "latency_ms": {
            k: v for k, v in latency(window, es=client).to_dict().items() if k != "window"
        },
        "drift": drift,
        "drift_error": drift_error,
        "drift_warning": drift_warning,
    }
