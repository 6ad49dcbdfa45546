"""workshop.alerts.checks.judge: fires exactly above the threshold, respects min_n, resolves."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from workshop.alerts.checks import FIRING, OK, Measurement, judge
from workshop.alerts.rules import parse_rules

END = datetime(2026, 3, 1, 12, tzinfo=UTC)
START = END - timedelta(minutes=15)
RULES = parse_rules(
    {
        "rule": [
            {"name": "drift", "description": "d", "signal": "drift", "window": "15m",
             "threshold": 0.25, "min_n": 200, "severity": "alta"},
            {"name": "lat", "description": "l", "signal": "latency_p95", "window": "15m",
             "threshold": 100, "min_n": 20, "severity": "média"},
            {"name": "quiet", "description": "q", "signal": "silence", "window": "10m",
             "severity": "alta"},
            {"name": "err", "description": "e", "signal": "live_error", "window": "7d",
             "threshold": 1.5, "min_n": 50, "severity": "alta"},
        ]
    }
)  # fmt: skip
DRIFT, LAT, QUIET, ERR = RULES.rules


def state(rule, value, n, **kw) -> str:
    return judge(rule, "v1", Measurement(value, n, **kw), START, END).state


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.2499, OK), (0.25, OK), (0.2501, FIRING), (3.0, FIRING)],
)
def test_drift_fires_exactly_above_the_threshold(value: float, expected: str) -> None:
    assert state(DRIFT, value, 200, feature="produto") == expected


def test_minimum_n_is_respected() -> None:
    evaluation = judge(DRIFT, "v1", Measurement(0.9, 199, feature="produto"), START, END)
    assert evaluation.state == OK and not evaluation.sufficient
    assert "amostra insuficiente: 199 eventos (mínimo 200)" in evaluation.message
    assert state(DRIFT, 0.9, 200, feature="produto") == FIRING
    assert state(LAT, 500.0, 19) == OK and state(LAT, 500.0, 20) == FIRING


def test_a_value_back_under_the_threshold_is_ok_again() -> None:
    assert [state(LAT, v, 50) for v in (150.0, 99.0)] == [FIRING, OK]


def test_live_error_compares_with_k_times_the_validation_figure() -> None:
    limit = 1.5 * 0.4
    fired = judge(ERR, "v1", Measurement(0.61, 60, limit=limit), START, END)
    assert fired.firing and fired.limit == pytest.approx(0.6)
    assert "NWRMSLE 0,610 acima do limite 0,600 · 60 eventos" in fired.message
    assert state(ERR, 0.59, 60, limit=limit) == OK
    assert state(ERR, 5.0, 49, limit=limit) == OK  # too few labelled events


def test_silence_fires_only_with_zero_events_and_a_healthy_service() -> None:
    assert state(QUIET, 0.0, 0, healthy=True) == FIRING
    assert state(QUIET, 3.0, 3, healthy=True) == OK
    down = judge(QUIET, "v1", Measurement(0.0, 0, healthy=False), START, END)
    assert down.state == OK and not down.sufficient


def test_no_value_is_not_judged_and_the_document_is_typed() -> None:
    evaluation = judge(LAT, "v1", Measurement(math.nan, 0), START, END)
    assert evaluation.state == OK and evaluation.value is None
    doc = judge(DRIFT, "v2", Measurement(0.3, 250, feature="produto", details={"product": 0.3}),
                START, END).to_dict()  # fmt: skip
    assert doc["rule"] == "drift" and doc["version"] == "v2" and doc["state"] == FIRING
    assert doc["window"] == "15m" and doc["window_end"] == "2026-03-01T12:00:00.000Z"
    assert (doc["value"], doc["threshold"], doc["n"]) == (0.3, 0.25, 250)
    assert doc["psi"] == {"product": 0.3}
