"""Queries over the prediction events (``model-*``) that return pandas objects.

Every function takes an explicit time window (``start``/``end``: datetimes, dates, ISO strings or
relative strings like "15m", "1h", "7d" — see :func:`time_window`) and runs its aggregation in
Elasticsearch (``terms``, ``date_histogram``, ``percentiles``, ``range``, ``histogram``); only
:func:`latest_events`, :func:`events` and the KS test download documents. Drift compares a
window with the training profile stored in the model's registry card (PSI per feature, with the
usual reading "estável" / "atenção" / "agir", and a Kolmogorov–Smirnov test of the predictions).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from scipy import stats
from tqdm.auto import tqdm

from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, ModelNotFoundError, StackError, WorkshopError
from workshop.stack import connect, es_error

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
        raise es_error(exc, "buscar os eventos mais recentes", settings) from None
    rows = [hit["_source"] for hit in resp["hits"]["hits"]]
    frame = pd.DataFrame(rows, columns=columns)
    if not frame.empty:
        frame["@timestamp"] = pd.to_datetime(frame["@timestamp"], utc=True)
    return frame


# =========================================================================== time windows

#: Units accepted in relative windows ("15m", "1h", "7d"): seconds, minutes, hours, days, weeks.
_RELATIVE_UNITS: dict[str, str] = {
    "s": "seconds",
    "seg": "seconds",
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "sem": "weeks",
}
_RELATIVE = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$", re.IGNORECASE)
_WINDOW_HELP = (
    "Use um intervalo relativo como '15m', '1h' ou '7d' (unidades s, m, h, d, w) ou uma data/hora "
    "ISO como '2026-11-27T10:00:00Z'."
)

TimeLike = datetime | date | timedelta | str


class InvalidWindowError(InvalidInputError):
    """A time window that cannot be understood (pt-BR message)."""


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of ``@timestamp``, in UTC, millisecond resolution."""

    start: datetime
    end: datetime

    def range_query(self, field: str = "@timestamp") -> dict[str, Any]:
        """The Query DSL clause selecting the window."""
        return {
            "range": {
                field: {
                    "gte": _iso_ms(self.start),
                    "lt": _iso_ms(self.end),
                    "format": "strict_date_optional_time",
                }
            }
        }

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def label(self) -> str:
        """pt-BR description, e.g. ``27/11/2026 14:20:00 → 27/11/2026 15:20:00 UTC``."""
        fmt = "%d/%m/%Y %H:%M:%S"
        return f"{self.start:{fmt}} → {self.end:{fmt}} UTC"

    def to_dict(self) -> dict[str, str]:
        return {"start": _iso_ms(self.start), "end": _iso_ms(self.end)}


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_moment(value: TimeLike, now: datetime, what: str) -> datetime:
    """One bound: relative strings and timedeltas count back from ``now``.

    A naive datetime is taken as the machine's local time (what ``datetime.now()`` gives); a
    ``date`` is midnight UTC of that day.
    """
    if isinstance(value, datetime):  # also pandas.Timestamp
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidWindowError(
                f"Janela de tempo inválida para o {what}: a duração não pode ser negativa "
                f"({value}). {_WINDOW_HELP}"
            )
        return now - value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"now", "agora"}:
            return now
        match = _RELATIVE.match(text)
        if match:
            unit = _RELATIVE_UNITS.get(match.group(2).lower())
            if unit is None:
                raise InvalidWindowError(
                    f"Unidade de tempo desconhecida em {value!r} para o {what}. {_WINDOW_HELP}"
                )
            try:
                return now - timedelta(**{unit: int(match.group(1))})
            except (OverflowError, ValueError):  # e.g. 99999999999d: before year 1
                from workshop.errors import ArgumentError

                raise ArgumentError(
                    f"Janela de tempo grande demais para o {what}: {value!r}. {_WINDOW_HELP}"
                ) from None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parsed.astimezone(UTC)
    raise InvalidWindowError(f"Janela de tempo inválida para o {what}: {value!r}. {_WINDOW_HELP}")


def _floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _ceil_ms(moment: datetime) -> datetime:
    floor = _floor_ms(moment)
    return floor if floor == moment else floor + timedelta(milliseconds=1)


def time_window(
    start: TimeLike | TimeWindow = "1h", end: TimeLike | None = None, *, now: datetime | None = None
) -> TimeWindow:
    """Resolve ``start``/``end`` into a :class:`TimeWindow`.

    ``start`` and ``end`` accept datetimes (naive = local time), dates (midnight UTC),
    ``timedelta`` or relative strings ("15m", "1h", "7d", "2w": that long before now) and ISO
    strings. ``end=None`` means now. The bounds are widened to whole milliseconds (the resolution
    of Elasticsearch dates) so that no event at the edges is lost. Bad input raises
    :class:`InvalidWindowError` with a pt-BR message.
    """
    if isinstance(start, TimeWindow):
        if end is not None:
            raise InvalidWindowError("Passe uma TimeWindow sozinha, sem um fim separado.")
        return start
    now = (now or datetime.now(UTC)).astimezone(UTC)
    begin = _parse_moment(start, now, "início")
    finish = now if end is None else _parse_moment(end, now, "fim")
    if begin >= finish:
        raise InvalidWindowError(
            f"Janela de tempo vazia: o início ({_iso_ms(begin)}) precisa ser anterior ao fim "
            f"({_iso_ms(finish)})."
        )
    return TimeWindow(_floor_ms(begin), _ceil_ms(finish))


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
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ApiError, TransportError):
            client.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
        found = count_events(window, es=client, filters=filters)
        if found >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    if found < expected:
        raise StackError(
            f"Só {found} de {expected} eventos chegaram ao Elasticsearch em {timeout:.0f} s. "
            "Veja o estado do registro de eventos em /health do serviço e, se houver eventos no "
            "spool, rode `workshop events replay`."
        )
    return found


# =========================================================================== counts

COUNT = "eventos"
SHARE = "proporção"


def counts(
    field: str,
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    size: int = 500,
) -> pd.DataFrame:
    """Events per value of a keyword ``field`` (``terms`` aggregation), most frequent first.

    Columns: ``field``, ``eventos``, ``proporção`` (share of the window's events). A final row
    ``(outros)`` holds the events beyond the ``size`` most frequent values, if any.
    """
    _, resp = _aggregate(start, end, es, filters, {"by": {"terms": {"field": field, "size": size}}})
    agg = resp["aggregations"]["by"]
    rows = [
        (bucket.get("key_as_string", bucket["key"]), bucket["doc_count"])
        for bucket in agg["buckets"]
    ]
    if agg.get("sum_other_doc_count"):
        rows.append(("(outros)", agg["sum_other_doc_count"]))
    frame = pd.DataFrame(rows, columns=[field, COUNT])
    total = int(resp["hits"]["total"]["value"])
    frame[SHARE] = frame[COUNT] / total if total else 0.0
    return frame


def counts_by_product(
    start: TimeLike | TimeWindow = "1h", end: TimeLike | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Events per product (pt-BR name), most asked first."""
    return counts("product", start, end, **kwargs)


def counts_by_channel(
    start: TimeLike | TimeWindow = "1h", end: TimeLike | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Events per channel (``widget``, ``http``, ``simulator``, ``batch``)."""
    return counts("channel", start, end, **kwargs)


def counts_by_model_version(
    start: TimeLike | TimeWindow = "1h", end: TimeLike | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Events per model version that answered."""
    return counts("model_version", start, end, **kwargs)


_FIXED = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: Upper bound on the buckets of one fixed-interval histogram (Elasticsearch refuses > 65,535).
MAX_BUCKETS = 20_000
_CALENDAR = {
    "minute", "1m", "hour", "1h", "day", "1d", "week", "1w",
    "month", "1M", "quarter", "1q", "year", "1y",
}  # fmt: skip


def counts_over_time(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    fixed_interval: str | None = None,
    calendar_interval: str | None = None,
    split_by: str | None = None,
    time_zone: str = "UTC",
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Events per time bucket of ``@timestamp`` (``date_histogram``), empty buckets included.

    Give exactly one of ``fixed_interval`` (a fixed length: "30s", "5m", "1h", "1d") or
    ``calendar_interval`` (calendar units that vary in length: "hour", "day", "week", "month"…).
    Without ``split_by`` the frame has one column ``eventos``; with it, one column per value of
    that keyword field (e.g. ``channel``). The index is the bucket start (UTC).
    """
    if (fixed_interval is None) == (calendar_interval is None):
        raise InvalidInputError(
            "Informe exatamente um intervalo: fixed_interval (ex.: '5m', '1h') ou "
            "calendar_interval (ex.: 'day', 'week', 'month')."
        )
    histogram: dict[str, Any] = {"field": "@timestamp", "min_doc_count": 0, "time_zone": time_zone}
    if fixed_interval is not None:
        match = _FIXED.match(fixed_interval)
        if match is None:
            raise InvalidInputError(
                f"fixed_interval inválido: {fixed_interval!r}. Use um número e uma unidade "
                "ms, s, m, h ou d, como '30s', '5m' ou '1h'."
            )
        number, unit = match.groups()
        buckets = time_window(start, end).seconds / (int(number) * _UNIT_SECONDS[unit] or math.nan)
        if not buckets <= MAX_BUCKETS:
            raise InvalidInputError(
                f"fixed_interval {fixed_interval!r} é pequeno demais para esta janela: daria mais "
                f"de {MAX_BUCKETS} intervalos. Use um intervalo maior."
            )
        histogram["fixed_interval"] = fixed_interval
    else:
        if calendar_interval not in _CALENDAR:
            raise InvalidInputError(
                f"calendar_interval inválido: {calendar_interval!r}. Use minute, hour, day, week, "
                "month, quarter ou year (ou 1m, 1h, 1d, 1w, 1M, 1q, 1y)."
            )
        histogram["calendar_interval"] = calendar_interval
    window = time_window(start, end)
    histogram["extended_bounds"] = {
        "min": int(window.start.timestamp() * 1000),
        "max": int(window.end.timestamp() * 1000) - 1,
    }
    agg: dict[str, Any] = {"date_histogram": histogram}
    if split_by:
        agg["aggs"] = {"split": {"terms": {"field": split_by, "size": 100}}}
    _, resp = _aggregate(window, None, es, filters, {"over_time": agg})
    buckets = resp["aggregations"]["over_time"]["buckets"]
    index = pd.DatetimeIndex(
        pd.to_datetime([b["key"] for b in buckets], unit="ms", utc=True), name="@timestamp"
    )
    if not split_by:
        return pd.DataFrame({COUNT: [b["doc_count"] for b in buckets]}, index=index)
    rows = [
        {str(s.get("key_as_string", s["key"])): s["doc_count"] for s in b["split"]["buckets"]}
        for b in buckets
    ]
    frame = pd.DataFrame(rows, index=index).fillna(0).astype(int)
    frame.columns.name = split_by
    return frame[sorted(frame.columns)]


# =========================================================================== distributions

DEFAULT_PERCENTS = (5.0, 25.0, 50.0, 75.0, 95.0)


def _pct_label(p: float) -> str:
    return f"p{p:g}"


def _pct_values(agg: dict[str, Any], percents: Sequence[float]) -> dict[str, float]:
    values = agg["values"]
    out: dict[str, float] = {}
    for p in percents:
        value = values.get(f"{float(p)}")
        out[_pct_label(p)] = math.nan if value is None else float(value)
    return out


def percentiles(
    field: str,
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    percents: Sequence[float] = DEFAULT_PERCENTS,
    by: str | None = None,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Percentiles (``percentiles`` aggregation), count and mean of a numeric ``field``.

    Elasticsearch estimates percentiles with a t-digest: exact for small sets, within a fraction
    of a percentile rank for large ones. With ``by`` (a keyword field such as ``product``) one row
    per value, most frequent first; without, one row ``todos``.
    """
    metrics = {
        "pct": {"percentiles": {"field": field, "percents": [float(p) for p in percents]}},
        "avg": {"avg": {"field": field}},
        "n": {"value_count": {"field": field}},
    }

    def row(bucket: dict[str, Any]) -> dict[str, float]:
        avg = bucket["avg"]["value"]
        return {
            COUNT: int(bucket["n"]["value"]),
            "média": math.nan if avg is None else float(avg),
            **_pct_values(bucket["pct"], percents),
        }

    if by is None:
        _, resp = _aggregate(start, end, es, filters, metrics)
        return pd.DataFrame([row(resp["aggregations"])], index=pd.Index(["todos"], name=field))
    aggs = {"by": {"terms": {"field": by, "size": 500}, "aggs": metrics}}
    _, resp = _aggregate(start, end, es, filters, aggs)
    buckets = resp["aggregations"]["by"]["buckets"]
    frame = pd.DataFrame(
        [row(b) for b in buckets],
        index=pd.Index([b.get("key_as_string", b["key"]) for b in buckets], name=by),
        columns=[COUNT, "média", *(_pct_label(p) for p in percents)],
    )
    return frame


def prediction_percentiles(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    by: str | None = "product",
    percents: Sequence[float] = DEFAULT_PERCENTS,
    **kwargs: Any,
) -> pd.DataFrame:
    """The distribution of the predicted unit sales, per product by default."""
    return percentiles("prediction", start, end, percents=percents, by=by, **kwargs)


@dataclass(frozen=True)
class LatencySummary:
    """Model latency in a window, in milliseconds."""

    window: TimeWindow
    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": self.window.to_dict(),
            "count": self.count,
            "p50_ms": self.p50,
            "p95_ms": self.p95,
            "p99_ms": self.p99,
            "mean_ms": self.mean,
            "max_ms": self.max,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [[self.count, self.p50, self.p95, self.p99, self.mean, self.max]],
            columns=[COUNT, "p50 (ms)", "p95 (ms)", "p99 (ms)", "média (ms)", "máx (ms)"],
        )


def latency(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
) -> LatencySummary:
    """p50/p95/p99 of ``latency_ms`` (``percentiles`` aggregation) plus mean and max."""
    aggs = {
        "pct": {"percentiles": {"field": "latency_ms", "percents": [50.0, 95.0, 99.0]}},
        "stats": {"stats": {"field": "latency_ms"}},
    }
    window, resp = _aggregate(start, end, es, filters, aggs)
    pct = _pct_values(resp["aggregations"]["pct"], [50.0, 95.0, 99.0])
    stats = resp["aggregations"]["stats"]

    def num(value: Any) -> float:
        return math.nan if value is None else float(value)

    return LatencySummary(
        window=window,
        count=int(stats["count"]),
        p50=pct["p50"],
        p95=pct["p95"],
        p99=pct["p99"],
        mean=num(stats["avg"]),
        max=num(stats["max"]),
    )


def histogram(
    field: str,
    interval: float,
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Events per bucket of width ``interval`` of a numeric field (``histogram`` aggregation).

    Columns ``início`` (bucket start) and ``eventos``; used for the latency histogram.
    """
    if not interval > 0:
        raise InvalidInputError("O intervalo do histograma precisa ser maior que zero.")
    aggs = {"hist": {"histogram": {"field": field, "interval": interval, "min_doc_count": 0}}}
    _, resp = _aggregate(start, end, es, filters, aggs)
    buckets = resp["aggregations"]["hist"]["buckets"]
    return pd.DataFrame(
        [(float(b["key"]), int(b["doc_count"])) for b in buckets], columns=["início", COUNT]
    )


# =========================================================================== drift

#: Floor for an empty bin's share in PSI (see :func:`psi`).
PSI_EPSILON = 1e-4
#: The usual PSI reading: below 0.1 stable, 0.1–0.25 watch, above 0.25 act.
PSI_WATCH = 0.1
PSI_ACT = 0.25
KS_ALPHA = 0.05
WEEKDAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")


def psi_reading(value: float | None) -> str:
    """pt-BR reading of a PSI: "estável" (< 0.1), "atenção" (0.1–0.25), "agir" (> 0.25)."""
    if value is None or math.isnan(value):
        return "sem dados"
    if value < PSI_WATCH:
        return "estável"
    if value <= PSI_ACT:
        return "atenção"
    return "agir"


def _as_series(values: Mapping[Any, float] | Sequence[float] | pd.Series) -> pd.Series:
    if isinstance(values, pd.Series):
        series = values
    elif isinstance(values, Mapping):
        series = pd.Series(dict(values), dtype=float)
    else:
        series = pd.Series(list(values), dtype=float)
    return series.astype(float)


def psi(
    expected: Mapping[Any, float] | Sequence[float] | pd.Series,
    actual: Mapping[Any, float] | Sequence[float] | pd.Series,
    *,
    eps: float = PSI_EPSILON,
    actual_n: int | None = None,
) -> float:
    """Population Stability Index of ``actual`` against ``expected``.

    ``PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)`` over the union of the categories (bins), where ``eᵢ`` and
    ``aᵢ`` are shares. Both inputs may be shares or counts (each is normalised to sum 1); mappings
    are aligned by key, sequences by position.

    Empty bins: ``ln(a/0)`` is infinite, so each share is floored before the formula and the
    shares renormalised. The expected (training) side is floored at ``eps`` (0.01 %), so a
    category never seen in training but present now still weighs heavily, as it should. On the
    window side, an empty bin out of ``actual_n`` events only says its share is below about
    ``1/actual_n``, so it is floored at ``max(eps, 0.5 / actual_n)`` — half an event, the usual
    continuity correction. Without this, one product nobody asked for in a small window would add
    ``eᵢ · ln(eᵢ/eps)`` (≈ 0.5 for a product with 8 % of the training rows) and read "agir" by
    itself. Returns NaN when either side is empty.
    """
    exp, act = _as_series(expected), _as_series(actual)
    keys = exp.index.union(act.index, sort=False)
    exp, act = exp.reindex(keys, fill_value=0.0), act.reindex(keys, fill_value=0.0)
    if (exp < 0).any() or (act < 0).any():
        raise InvalidInputError("PSI: as proporções não podem ser negativas.")
    if exp.sum() <= 0 or act.sum() <= 0:
        return math.nan
    floor_actual = max(eps, 0.5 / actual_n) if actual_n else eps
    e = np.maximum(exp.to_numpy() / exp.sum(), eps)
    a = np.maximum(act.to_numpy() / act.sum(), floor_actual)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov–Smirnov test (scipy ``ks_2samp``)."""

    statistic: float
    pvalue: float
    n_window: int
    n_reference: int

    @property
    def reading(self) -> str:
        if math.isnan(self.pvalue):
            return "sem dados"
        if self.pvalue < KS_ALPHA:
            return f"distribuições diferentes (p < {KS_ALPHA:g})".replace(".", ",")
        return "sem evidência de diferença"

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "n_window": self.n_window,
            "n_reference": self.n_reference,
            "reading": self.reading,
        }


def ks_test(window_values: Sequence[float], reference_values: Sequence[float]) -> KSResult:
    """KS statistic (largest gap between the two empirical CDFs) and its p-value."""
    left = np.asarray(window_values, dtype=float)
    right = np.asarray(reference_values, dtype=float)
    left, right = left[~np.isnan(left)], right[~np.isnan(right)]
    if left.size == 0 or right.size == 0:
        return KSResult(math.nan, math.nan, int(left.size), int(right.size))
    result = stats.ks_2samp(left, right)
    return KSResult(float(result.statistic), float(result.pvalue), int(left.size), int(right.size))


def training_profile(
    version: str | None = None, settings: Settings | None = None
) -> tuple[str, dict[str, Any]]:
    """``(version, profile)`` from the model registry card (production model by default)."""
    from workshop.modeling import Registry

    registry = Registry(settings)
    version = version or registry.production_version()
    if version is None:
        raise ModelNotFoundError(
            "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"
        )
    profile = registry.card(version).get("profile")
    if not profile:
        raise ModelNotFoundError(
            f"O cartão do modelo {version} não tem o perfil dos dados de treino (profile); "
            "treine de novo com `workshop train`."
        )
    return version, profile


def _bin_ranges(edges: Sequence[float]) -> list[dict[str, float]]:
    """``range`` aggregation buckets for the profile's bins: ``[eᵢ, eᵢ₊₁)``, with the first bin
    open to the left and the last open to the right, so that a prediction outside the training
    range still lands in an end bin (as it would when the profile was computed with clipping)."""
    edges = [float(e) for e in edges]
    if len(edges) < 3:
        raise InvalidInputError("O perfil precisa de pelo menos 2 faixas de predição.")
    inner = edges[1:-1]
    ranges: list[dict[str, float]] = [{"to": inner[0]}]
    ranges += [{"from": lo, "to": hi} for lo, hi in itertools.pairwise(inner)]
    ranges.append({"from": inner[-1]})
    return ranges


def window_profile(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    bins: Sequence[float] | None = None,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    prediction_filters: Filters | None = None,
) -> dict[str, Any]:
    """The same profile as the registry card's, computed from a window in ONE aggregation request.

    Keys ``n``, ``product_share`` (per ``item_nbr``), ``family_share``, ``weekday_share`` (of the
    asked ``date``, Monday = "0": a ``date_histogram`` per day on ``date``, mapped to weekdays
    here), ``promotion_rate`` (``filter`` on ``onpromotion``) and, with ``bins``,
    ``prediction_bins``, ``prediction_share`` (``range`` aggregation on those edges) and
    ``prediction_n``. Shares sum to 1; with no events they are empty and the rates NaN.
    ``prediction_filters`` narrows only the prediction bins (e.g. to one model version's answers).
    """
    aggs: dict[str, Any] = {
        "product": {"terms": {"field": "item_nbr", "size": 1000}},
        "family": {"terms": {"field": "family", "size": 200}},
        "days": {
            "date_histogram": {"field": "date", "calendar_interval": "day", "min_doc_count": 1}
        },
        "promo": {"filter": {"term": {"onpromotion": True}}},
    }
    if bins is not None:
        clauses = _query_clauses(prediction_filters)
        pred_filter = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
        aggs["prediction"] = {
            "filter": pred_filter,
            "aggs": {"bins": {"range": {"field": "prediction", "ranges": _bin_ranges(bins)}}},
        }
    _, resp = _aggregate(start, end, es, filters, aggs)
    result = resp["aggregations"]
    n = int(resp["hits"]["total"]["value"])

    def shares(buckets: list[dict[str, Any]]) -> dict[str, float]:
        total = sum(b["doc_count"] for b in buckets)
        return {str(b["key"]): b["doc_count"] / total for b in buckets} if total else {}

    weekdays = [0] * 7
    for bucket in result["days"]["buckets"]:
        day = datetime.fromtimestamp(bucket["key"] / 1000, tz=UTC)
        weekdays[day.weekday()] += bucket["doc_count"]
    dated = sum(weekdays)
    profile: dict[str, Any] = {
        "n": n,
        "product_share": shares(result["product"]["buckets"]),
        "family_share": shares(result["family"]["buckets"]),
        "weekday_share": {str(d): c / dated for d, c in enumerate(weekdays)} if dated else {},
        "promotion_rate": result["promo"]["doc_count"] / n if n else math.nan,
    }
    if bins is not None:
        counts_ = [b["doc_count"] for b in result["prediction"]["bins"]["buckets"]]
        m = sum(counts_)
        profile["prediction_bins"] = [float(e) for e in bins]
        profile["prediction_share"] = [c / m for c in counts_] if m else []
        profile["prediction_n"] = m
    return profile


def _query_clauses(filters: Filters | None) -> list[dict[str, Any]]:
    clauses: list[dict[str, Any]] = []
    for field, value in (filters or {}).items():
        if isinstance(value, str | bool):
            clauses.append({"term": {field: value}})
        else:
            clauses.append({"terms": {field: list(value)}})
    return clauses


#: The features compared by :func:`drift_report`: key → pt-BR label.
DRIFT_FEATURES = {
    "product": "produto",
    "family": "família",
    "weekday": "dia da semana (data pedida)",
    "promotion": "promoção",
    "prediction": "predição (faixas)",
}


@dataclass(frozen=True)
class FeatureDrift:
    """PSI of one feature: shares in the reference (training) and in the window."""

    feature: str
    label: str
    psi: float
    n: int
    expected: pd.Series
    actual: pd.Series

    @property
    def reading(self) -> str:
        return psi_reading(self.psi)


@dataclass(frozen=True)
class DriftReport:
    """Drift of a window of events against a reference profile (a model's training data)."""

    window: TimeWindow
    reference: str
    version: str | None
    n_events: int
    features: dict[str, FeatureDrift]
    ks: KSResult | None

    def table(self) -> pd.DataFrame:
        """One row per feature: PSI, pt-BR reading and how many events it rests on."""
        rows = [
            {"variável": f.label, "psi": round(f.psi, 3), "leitura": f.reading, COUNT: f.n}
            for f in self.features.values()
        ]
        return pd.DataFrame(rows).set_index("variável")

    @property
    def worst(self) -> str:
        """The most severe reading across features."""
        order = ["agir", "atenção", "estável"]
        readings = {f.reading for f in self.features.values()}
        return next((r for r in order if r in readings), "sem dados")

    def shares(self, feature: str) -> pd.DataFrame:
        """Reference vs window shares of one feature, with pt-BR category labels."""
        if feature not in self.features:
            raise InvalidInputError(
                f"Variável desconhecida: {feature!r}. Use uma de {', '.join(self.features)}."
            )
        item = self.features[feature]
        frame = pd.DataFrame({"treino": item.expected, "janela": item.actual}).fillna(0.0)
        frame.index = [_category_label(feature, key) for key in frame.index]
        frame.index.name = item.label
        return frame

    def to_dict(self) -> dict[str, Any]:
        def clean(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 6)

        return {
            "window": self.window.to_dict(),
            "reference": self.reference,
            "version": self.version,
            "n_events": self.n_events,
            "worst": self.worst,
            "psi": {
                key: {"psi": clean(f.psi), "reading": f.reading, "label": f.label, "n": f.n}
                for key, f in self.features.items()
            },
            "ks": None if self.ks is None else self.ks.to_dict(),
        }


def _category_label(feature: str, key: Any) -> str:
    if feature == "weekday":
        return WEEKDAYS_PT[int(key)]
    if feature == "promotion":
        return "em promoção" if key == "true" else "sem promoção"
    if feature == "product":
        try:
            from workshop.dataset import product_by_item

            return product_by_item(str(key)).product
        except (ImportError, WorkshopError):
            return str(key)
    return str(key)


def _bin_labels(edges: Sequence[float]) -> list[str]:
    inner = [float(e) for e in edges[1:-1]]
    labels = [f"< {inner[0]:.1f}"]
    labels += [f"{lo:.1f}–{hi:.1f}" for lo, hi in itertools.pairwise(inner)]
    labels.append(f"≥ {inner[-1]:.1f}")
    return labels


def drift_report(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    reference: str | Mapping[str, Any] | None = None,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    ks: bool = True,
) -> DriftReport:
    """PSI per feature (and a KS test of the predictions) of a window against a reference.

    ``reference`` is a model version (its registry card's training ``profile``), ``None`` for the
    production model, or a profile dict (same keys as the card's, e.g. another window's
    :func:`window_profile`). Input features (product, family, weekday of the asked date,
    promotion) use every event of the window; the prediction distribution only the events that
    version answered, since another version's predictions are another distribution. The KS test
    downloads the window's predictions (one field) and compares them with the card's
    ``prediction_sample``.
    """
    window, client, _ = _context(start, end, es)
    if reference is None or isinstance(reference, str):
        version, profile = training_profile(reference)
        label = f"treino do modelo {version}"
        pred_filters: dict[str, Any] = {"model_version": version}
    else:
        version, profile, label, pred_filters = None, dict(reference), "perfil informado", {}
    bins = profile.get("prediction_bins")
    current = window_profile(
        window, es=client, filters=filters, bins=bins, prediction_filters=pred_filters
    )
    n = current["n"]
    promo_ref = float(profile.get("promotion_rate", math.nan))
    promo_now = float(current["promotion_rate"])

    def promo_shares(rate: float) -> pd.Series:
        if math.isnan(rate):
            return pd.Series(dtype=float)
        return pd.Series({"false": 1.0 - rate, "true": rate})

    pairs: dict[str, tuple[pd.Series, pd.Series, int]] = {
        "product": (
            _as_series(profile.get("product_share", {})),
            _as_series(current["product_share"]),
            n,
        ),
        "family": (
            _as_series(profile.get("family_share", {})),
            _as_series(current["family_share"]),
            n,
        ),
        "weekday": (
            _as_series({str(k): v for k, v in profile.get("weekday_share", {}).items()}),
            _as_series(current["weekday_share"]),
            n,
        ),
        "promotion": (promo_shares(promo_ref), promo_shares(promo_now), n),
    }
    if bins is not None:
        labels = _bin_labels(bins)
        expected = pd.Series(list(profile.get("prediction_share", [])), index=labels, dtype=float)
        actual_values = current["prediction_share"]
        actual = pd.Series(actual_values, index=labels if actual_values else None, dtype=float)
        pairs["prediction"] = (expected, actual, int(current["prediction_n"]))
    features: dict[str, FeatureDrift] = {}
    for key, (exp, act, count) in pairs.items():
        value = psi(exp, act, actual_n=count) if count else math.nan
        features[key] = FeatureDrift(key, DRIFT_FEATURES[key], value, count, exp, act)
    ks_result = None
    sample = profile.get("prediction_sample")
    if ks and sample:
        values = events(
            window, es=client, columns=["prediction"], filters={**(filters or {}), **pred_filters}
        )
        ks_result = ks_test(values["prediction"].to_numpy(), sample)
    return DriftReport(window, label, version, n, features, ks_result)


# =========================================================================== the key figures


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
