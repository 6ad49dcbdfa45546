"""Queries over the prediction events (``model-*``) that return pandas objects.

Aggregations run in Elasticsearch; only :func:`latest_events` and the windowed event listing
download documents.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from elasticsearch import Elasticsearch

from workshop.config import get_settings
from workshop.stack import connect

DISCOVER_COLUMNS = [
    "@timestamp",
    "product",
    "date",
    "prediction",
    "model_version",
    "channel",
    "latency_ms",
    "prediction_id",
]


def latest_events(
    n: int = 50, es: Elasticsearch | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """The ``n`` most recent events, newest first (what Kibana's Discover shows by default).

    An empty frame with the same columns when there are no events (or no index) yet.
    """
    settings = get_settings()
    es = es or connect(settings)
    columns = columns or DISCOVER_COLUMNS
    resp: Any = es.search(
        index=settings.index_pattern,
        size=n,
        sort=[{"@timestamp": "desc"}],
        source=columns,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    rows = [hit["_source"] for hit in resp["hits"]["hits"]]
    frame = pd.DataFrame(rows, columns=columns)
    if not frame.empty:
        frame["@timestamp"] = pd.to_datetime(frame["@timestamp"], utc=True)
    return frame
