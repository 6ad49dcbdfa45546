"""Closing the data feedback loop: label events, measure live error, curate, retrain, promote.

The stages, in the order the data travels; each module imports only the stages above it and
:mod:`~workshop.feedback.indices` (the index reads they share: refresh, count, paging).

1. :mod:`~workshop.feedback.scenario` — the simulated world (:class:`Scenario`: a change in
   demand and the dates of traffic, labels and evaluation), where it is saved, :func:`parse_day`.
2. :mod:`~workshop.feedback.labels` — :func:`label_events`: prediction events whose target
   ``date`` has passed get the store's actual sales, plus the error terms NWRMSLE needs.
3. :mod:`~workshop.feedback.live_metrics` — :func:`live_error`: MAE and NWRMSLE of the
   labelled events by Elasticsearch aggregations, per target day/week, family, model version.
4. :mod:`~workshop.feedback.curation` — :func:`fetch_labelled` + :func:`curate` +
   :func:`merge_with_history`: labelled events become training rows (the label is the ACTUAL).
5. :mod:`~workshop.feedback.retraining` — :func:`retrain` → :func:`compare` on a LATER window of
   actuals neither version trained on → :func:`promote_if_better`, recorded in the new card.
6. :mod:`~workshop.feedback.loop` — :func:`close_loop` (one turn, ``workshop feedback retrain``)
   and :func:`run_scenario` (``workshop feedback demo`` and notebook 06).
"""

from __future__ import annotations

from workshop.feedback.curation import (
    FEEDBACK_SOURCE,
    HISTORY_SOURCE,
    TRAINING_COLUMNS,
    curate,
    fetch_events,
    fetch_labelled,
    merge_with_history,
)
from workshop.feedback.labels import KEY, LABEL_FIELDS, error_weight, label_events, sq_log_error
from workshop.feedback.live_metrics import ERROR_AGGS, frame_records, live_error, plot_live_error
from workshop.feedback.loop import (
    close_loop,
    ensure_baseline,
    events_by_version,
    run_scenario,
    wait_for_events,
    wait_for_service_version,
)
from workshop.feedback.retraining import (
    OVERALL,
    Comparison,
    check_window,
    compare,
    is_better,
    plot_comparison,
    promote_if_better,
    retrain,
)
from workshop.feedback.scenario import (
    FeedbackError,
    Scenario,
    default_as_of,
    load_scenario,
    parse_day,
    save_scenario,
    today_utc,
)

__all__ = [
    "ERROR_AGGS",
    "FEEDBACK_SOURCE",
    "HISTORY_SOURCE",
    "KEY",
    "LABEL_FIELDS",
    "OVERALL",
    "TRAINING_COLUMNS",
    "Comparison",
    "FeedbackError",
    "Scenario",
    "check_window",
    "close_loop",
    "compare",
    "curate",
    "default_as_of",
    "ensure_baseline",
    "error_weight",
    "events_by_version",
    "fetch_events",
    "fetch_labelled",
    "frame_records",
    "is_better",
    "label_events",
    "live_error",
    "load_scenario",
    "merge_with_history",
    "parse_day",
    "plot_comparison",
    "plot_live_error",
    "promote_if_better",
    "retrain",
    "run_scenario",
    "save_scenario",
    "sq_log_error",
    "today_utc",
    "wait_for_events",
    "wait_for_service_version",
]
