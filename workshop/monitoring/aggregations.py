"""Aggregations over a window of events that return pandas: counts, counts over time,
percentiles, latency and histograms.

Each function runs its aggregation in Elasticsearch (``terms``, ``date_histogram``,
``percentiles``, ``histogram``) in one request; nothing is downloaded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from elasticsearch import Elasticsearch

from workshop.errors import InvalidInputError
from workshop.monitoring.queries import Filters, _aggregate
from workshop.monitoring.windows import TimeLike, TimeWindow, time_window

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
