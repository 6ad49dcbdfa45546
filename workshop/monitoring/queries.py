"""Queries over the prediction events (``model-*``) that download documents or count them.

The query helpers every monitoring module shares (the window plus ``term``/``terms`` filters,
one aggregation request), :func:`latest_events` (what Kibana's Discover shows), :func:`events`
(every event of a window, paged with ``search_after``/PIT), :func:`count_events` and
:func:`wait_for_events`. The aggregations that return pandas live in
:mod:`workshop.monitoring.aggregations`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from tqdm.auto import tqdm

from workshop.config import get_settings
from workshop.errors import InvalidInputError, StackError
from workshop.events.arrival import DISCOVER_COLUMNS, latest_documents
from workshop.monitoring.windows import TimeLike, TimeWindow, time_window
from workshop.polling import poll
from workshop.stack import connect

# =========================================================================== query helpers

Filters = Mapping[str, str | bool | Sequence[str]]


def _query(window: TimeWindow, filters: Filters | None = None) -> dict[str, Any]:
    """``bool.filter``: the window plus one ``term``/``terms`` clause per filter field."""
    return {"bool": {"filter": [window.range_query(), *_query_clauses(filters)]}}


def _search(es: Elasticsearch, index: str, **body: Any) -> dict[str, Any]:
    resp: Any = es.search(index=index, ignore_unavailable=True, allow_no_indices=True, **body)
    return dict(resp)


def _context(
    start: TimeLike | TimeWindow, end: TimeLike | None, es: Elasticsearch | None
) -> tuple[TimeWindow, Elasticsearch, str]:
    window = time_window(start, end)
    settings = get_settings()
    return window, es or connect(settings), settings.index_pattern


def _aggregate(
    start: TimeLike | TimeWindow,
    end: TimeLike | None,
    es: Elasticsearch | None,
    filters: Filters | None,
    aggs: dict[str, Any],
) -> tuple[TimeWindow, dict[str, Any]]:
    window, client, index = _context(start, end, es)
    resp = _search(
        client, index, size=0, track_total_hits=True, query=_query(window, filters), aggs=aggs
    )
    return window, resp


def _query_clauses(filters: Filters | None) -> list[dict[str, Any]]:
    """One ``term`` (a value) or ``terms`` (a list of values) clause per filter field."""
    clauses: list[dict[str, Any]] = []
    for field, value in (filters or {}).items():
        if isinstance(value, str | bool):
            clauses.append({"term": {field: value}})
        else:
            clauses.append({"terms": {field: list(value)}})
    return clauses


# =========================================================================== the latest events


def latest_events(
    n: int = 50, es: Elasticsearch | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """The ``n`` most recent events, newest first (what Kibana's Discover shows by default), as
    a DataFrame of :func:`workshop.events.arrival.latest_documents` (``@timestamp`` a datetime).

    An empty frame with the same columns when there are no events (or no index) yet.
    """
    columns = columns or DISCOVER_COLUMNS
    frame = pd.DataFrame(latest_documents(n, es, columns=columns), columns=columns)
    if not frame.empty:
        frame["@timestamp"] = pd.to_datetime(frame["@timestamp"], utc=True)
    return frame


# =========================================================================== events in a window

#: Every field of the event schema (DESIGN.md), in the order of the table.
EVENT_COLUMNS = [
    "@timestamp",
    "prediction_id",
    "model_version",
    "channel",
    "date",
    "item_nbr",
    "product",
    "family",
    "onpromotion",
    "prediction",
    "latency_ms",
    "actual",
    "abs_error",
    "labeled_at",
]
_SORT = [{"@timestamp": "asc"}, {"prediction_id": "asc"}]
#: Show a progress bar by default from this many events on.
PROGRESS_FROM = 10_000


def _open_pit(es: Elasticsearch, index: str, keep_alive: str) -> str | None:
    """A point-in-time id, or ``None`` when the engine has no PIT API (the embedded one)."""
    try:
        resp: Any = es.open_point_in_time(
            index=index, keep_alive=keep_alive, ignore_unavailable=True
        )
    except (ApiError, TransportError):
        return None
    return str(resp["id"])


def events(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    columns: Sequence[str] | None = None,
    filters: Filters | None = None,
    page_size: int = 5_000,
    progress: bool | None = None,
    keep_alive: str = "2m",
) -> pd.DataFrame:
    """Every event of the window (all pages, oldest first) as a DataFrame.

    Pages are read with ``search_after`` on ``[@timestamp, prediction_id]`` — the prediction id
    is unique, so the sort is total and no event is skipped or repeated across pages. On
    Elasticsearch a point in time (PIT) also freezes the view of the indices while paging; the
    embedded engine has no PIT API, so there the same ``search_after`` runs on the live indices.
    ``frame.attrs`` records ``pagination`` ("pit" or "search_after") and ``pages``.
    A tqdm progress bar appears for large downloads (``progress=None``: from
    :data:`PROGRESS_FROM` events on).
    """
    window, client, index = _context(start, end, es)
    if not 1 <= page_size <= 10_000:
        raise InvalidInputError("page_size deve estar entre 1 e 10000.")
    columns = list(columns or EVENT_COLUMNS)
    query = _query(window, filters)
    pit_id = _open_pit(client, index, keep_alive)
    rows: list[dict[str, Any]] = []
    pages = 0
    after: list[Any] | None = None
    bar: Any = None
    try:
        while True:
            body: dict[str, Any] = {
                "size": page_size,
                "sort": _SORT,
                "query": query,
                "source": columns,
                "track_total_hits": pages == 0,
            }
            if after is not None:
                body["search_after"] = after
            if pit_id is not None:
                body["pit"] = {"id": pit_id, "keep_alive": keep_alive}
                resp: dict[str, Any] = dict(client.search(**body))
                pit_id = resp.get("pit_id", pit_id)
            else:
                resp = _search(client, index, **body)
            hits = resp["hits"]["hits"]
            if pages == 0:
                total = int(resp["hits"]["total"]["value"])
                show = progress if progress is not None else total >= PROGRESS_FROM
                if show:
                    bar = tqdm(total=total, desc="Baixando eventos", unit=" eventos")
            pages += 1
            rows.extend(hit.get("_source", {}) for hit in hits)
            if bar is not None:
                bar.update(len(hits))
            if len(hits) < page_size:
                break
            after = hits[-1]["sort"]
    finally:
        if bar is not None:
            bar.close()
        if pit_id is not None:
            with contextlib.suppress(ApiError, TransportError):
                client.close_point_in_time(id=pit_id)
    frame = _typed(pd.DataFrame(rows, columns=columns))
    frame.attrs.update(
        {"pagination": "pit" if pit_id is not None else "search_after", "pages": pages}
    )
    frame.attrs["window"] = window.to_dict()
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for col in ("@timestamp", "labeled_at"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    if "date" in frame:
        frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    for col in ("prediction", "latency_ms", "actual", "abs_error"):
        if col in frame:
            frame[col] = pd.to_numeric(frame[col])
    return frame


def count_events(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
) -> int:
    """How many events the window holds (``_count``, nothing downloaded)."""
    window, client, index = _context(start, end, es)
    resp: Any = client.count(
        index=index,
        query=_query(window, filters),
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    return int(resp["count"])


def wait_for_events(
    expected: int,
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    timeout: float = 60.0,
) -> int:
    """Refresh and count until the window holds ``expected`` events; return the count.

    The model service writes events from its own process, a moment after answering; call this
    after generating traffic and before querying. Raises :class:`StackError` (pt-BR) on timeout.
    """
    window, client, index = _context(start, end, es)

    def look() -> int:
        with contextlib.suppress(ApiError, TransportError):
            client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
        return count_events(window, es=client, filters=filters)

    found = poll(look, lambda found: found >= expected, timeout=timeout)
    if found < expected:
        raise StackError(
            f"Só {found} de {expected} eventos chegaram ao Elasticsearch em {timeout:.0f} s. "
            "Veja o estado do registro de eventos em /health do serviço e, se houver eventos no "
            "spool, rode `workshop events replay`."
        )
    return found
