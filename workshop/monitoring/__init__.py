"""Monitoring the prediction events (``model-*``), in the order a question about them travels.

- :mod:`~workshop.monitoring.windows`: the explicit time window every query takes (``start``/
  ``end``: datetimes, dates, ISO strings or relative strings like "15m", "1h", "7d").
- :mod:`~workshop.monitoring.queries`: the shared query helpers and the queries that download or
  count documents (:func:`latest_events`, :func:`events`, :func:`count_events`,
  :func:`wait_for_events`).
- :mod:`~workshop.monitoring.aggregations`: aggregations run in Elasticsearch that return pandas
  (counts, counts over time, percentiles, latency, histograms).
- :mod:`~workshop.monitoring.drift`: a window against the training profile stored in the model's
  registry card (PSI per feature, read "estável" / "atenção" / "agir", and a Kolmogorov–Smirnov
  test of the predictions).
- :mod:`~workshop.monitoring.summary`: the key figures of a window in one dict
  (``workshop monitor report``).

This module only re-exports the names the notebooks, the CLI, :mod:`workshop.plots` and the
tests use; everything else is imported from the module that owns it.
"""

from __future__ import annotations

from workshop.errors import InvalidInputError
from workshop.monitoring.aggregations import (
    COUNT,
    DEFAULT_PERCENTS,
    SHARE,
    LatencySummary,
    counts,
    counts_by_channel,
    counts_by_model_version,
    counts_by_product,
    counts_over_time,
    histogram,
    latency,
    percentiles,
    prediction_percentiles,
)
from workshop.monitoring.drift import (
    DRIFT_FEATURES,
    PSI_ACT,
    PSI_WATCH,
    DriftReport,
    drift_report,
    ks_test,
    psi,
    psi_reading,
    training_profile,
    window_profile,
)
from workshop.monitoring.queries import (
    DISCOVER_COLUMNS,
    count_events,
    events,
    latest_events,
    wait_for_events,
)
from workshop.monitoring.summary import report
from workshop.monitoring.windows import InvalidWindowError, time_window

__all__ = [
    "COUNT",
    "DEFAULT_PERCENTS",
    "DISCOVER_COLUMNS",
    "DRIFT_FEATURES",
    "PSI_ACT",
    "PSI_WATCH",
    "SHARE",
    "DriftReport",
    "InvalidInputError",
    "InvalidWindowError",
    "LatencySummary",
    "count_events",
    "counts",
    "counts_by_channel",
    "counts_by_model_version",
    "counts_by_product",
    "counts_over_time",
    "drift_report",
    "events",
    "histogram",
    "ks_test",
    "latency",
    "latest_events",
    "percentiles",
    "prediction_percentiles",
    "psi",
    "psi_reading",
    "report",
    "time_window",
    "training_profile",
    "wait_for_events",
    "window_profile",
]
