"""Checking arrival: how many events the engine holds, and waiting for them to land."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.schema import _iso_utc
from workshop.polling import POLL_S, poll


def count_events(
    es: Any = None,
    *,
    settings: Settings | None = None,
    channel: str | None = None,
    since: dt.datetime | None = None,
    ids: Iterable[str] | None = None,
    refresh: bool = True,
) -> int:
    """How many events are in ``model-*`` (optionally of one channel, since a time, or with
    these prediction ids). Refreshes the indices first so just-written events count."""
    from workshop import stack

    settings = settings or get_settings()
    es = es or stack.connect(settings)
    filters: list[dict[str, Any]] = []
    if channel:
        filters.append({"term": {"channel": channel}})
    if since is not None:
        filters.append({"range": {"@timestamp": {"gte": _iso_utc(since)}}})
    if ids is not None:
        filters.append({"ids": {"values": list(ids)}})
    query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
    try:
        if refresh:
            es.indices.refresh(
                index=settings.index_pattern, ignore_unavailable=True, allow_no_indices=True
            )
        resp = es.count(
            index=settings.index_pattern,
            query=query,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except Exception as exc:
        from workshop.stack import es_error

        raise es_error(exc, f"contar os eventos em {settings.index_pattern}", settings) from None
    return int(resp["count"])


def wait_for_events(
    expected: int,
    *,
    timeout: float = 30.0,
    interval: float = POLL_S,
    es: Any = None,
    settings: Settings | None = None,
    **filters: Any,
) -> int:
    """Poll :func:`count_events` until it reaches ``expected`` or ``timeout``; the last count.

    For events written by another process (e.g. the service's logger) that this process cannot
    ``flush()``.
    """
    return poll(
        lambda: count_events(es, settings=settings, **filters),
        lambda count: count >= expected,
        timeout=timeout,
        interval=interval,
    )


#: What Kibana's Discover shows for an event in the workshop (the saved search's columns).
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


def latest_documents(
    n: int = 50,
    es: Any = None,
    *,
    columns: list[str] | None = None,
    settings: Settings | None = None,
) -> list[dict[str, Any]]:
    """The ``n`` most recent event documents, newest first, with only ``columns``.

    No pandas: ``workshop events tail`` starts at once. An empty list when there are no events
    (or no index) yet.
    """
    from workshop import stack

    settings = settings or get_settings()
    es = es or stack.connect(settings)
    columns = columns or DISCOVER_COLUMNS
    try:
        resp: Any = es.search(
            index=settings.index_pattern,
            size=n,
            sort=[{"@timestamp": "desc"}],
            source=columns,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except Exception as exc:
        raise stack.es_error(exc, "buscar os eventos mais recentes", settings) from None
    return [
        {column: hit["_source"].get(column) for column in columns} for hit in resp["hits"]["hits"]
    ]
