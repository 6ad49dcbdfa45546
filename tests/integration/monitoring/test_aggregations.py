"""workshop.monitoring.aggregations on the embedded engine: every answer equals pandas on the
same known events.

Counts must match exactly; percentiles within the engine's t-digest tolerance, checked as a
percentile *rank* (the share of values below the engine's answer), which is what the estimate
promises whatever the spread of the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.monitoring.known_events import END, START
from workshop import monitoring
from workshop.errors import InvalidInputError

# Percentiles are t-digest estimates (compression 100 by default): near the median a centroid
# holds about n/100 values, i.e. one percentile point of rank; allow two.
RANK_TOLERANCE = 0.02


def assert_percentile(values: pd.Series, percent: float, estimate: float) -> None:
    """The engine's estimate must sit at the requested rank, give or take RANK_TOLERANCE."""
    x = values.astype("float32").astype(float).to_numpy()
    below, at_or_below = np.mean(x < estimate), np.mean(x <= estimate)
    q = percent / 100
    assert below - RANK_TOLERANCE <= q <= at_or_below + RANK_TOLERANCE, (
        f"p{percent}: estimate {estimate} has rank [{below:.4f}, {at_or_below:.4f}]"
    )


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize("field", ["product", "channel", "model_version", "family"])
def test_counts_equal_pandas_value_counts(es, known, field) -> None:
    frame = monitoring.counts(field, START, END, es=es)
    expected = known[field].value_counts()
    assert dict(zip(frame[field], frame[monitoring.COUNT], strict=True)) == expected.to_dict()
    assert frame[monitoring.COUNT].is_monotonic_decreasing
    assert frame[monitoring.SHARE].sum() == pytest.approx(1.0)


def test_named_count_helpers(es, known) -> None:
    for helper, field in [
        (monitoring.counts_by_product, "product"),
        (monitoring.counts_by_channel, "channel"),
        (monitoring.counts_by_model_version, "model_version"),
    ]:
        frame = helper(START, END, es=es)
        assert frame.set_index(field)[monitoring.COUNT].to_dict() == (
            known[field].value_counts().to_dict()
        )


def test_counts_with_size_keeps_the_rest_in_outros(es, known) -> None:
    frame = monitoring.counts("product", START, END, es=es, size=2)
    assert frame[monitoring.COUNT].sum() == len(known)
    assert frame["product"].iloc[-1] == "(outros)"
    assert frame[monitoring.COUNT].iloc[:2].tolist() == known["product"].value_counts()[:2].tolist()


def test_counts_over_time_fixed_interval(es, known) -> None:
    frame = monitoring.counts_over_time(START, END, fixed_interval="1h", es=es)
    expected = known.groupby(known["@timestamp"].dt.floor("1h")).size()
    assert len(frame) == 72  # three days of hours, empty ones included
    observed = frame[monitoring.COUNT]
    assert observed[observed > 0].to_dict() == expected.to_dict()
    assert observed.sum() == len(known)


def test_counts_over_time_calendar_interval_split_by_channel(es, known) -> None:
    frame = monitoring.counts_over_time(
        START, END, calendar_interval="day", split_by="channel", es=es
    )
    expected = pd.crosstab(known["@timestamp"].dt.floor("D"), known["channel"])
    assert list(frame.index) == list(expected.index)
    for channel in expected.columns:
        assert frame[channel].tolist() == expected[channel].tolist()


def test_counts_over_time_needs_exactly_one_valid_interval(es) -> None:
    with pytest.raises(InvalidInputError, match="exatamente um intervalo"):
        monitoring.counts_over_time(START, END, es=es)
    with pytest.raises(InvalidInputError, match="fixed_interval inválido"):
        monitoring.counts_over_time(START, END, fixed_interval="1 hora", es=es)
    with pytest.raises(InvalidInputError, match="pequeno demais para esta janela"):
        monitoring.counts_over_time(START, END, fixed_interval="1s", es=es)
    with pytest.raises(InvalidInputError, match="pequeno demais"):
        monitoring.counts_over_time(START, END, fixed_interval="0m", es=es)
    with pytest.raises(InvalidInputError, match="calendar_interval inválido"):
        monitoring.counts_over_time(START, END, calendar_interval="7d", es=es)


# --------------------------------------------------------------------------- distributions


def test_prediction_percentiles_per_product(es, known) -> None:
    frame = monitoring.prediction_percentiles(START, END, es=es)
    groups = known.groupby("product")["prediction"]
    assert frame[monitoring.COUNT].to_dict() == groups.size().to_dict()
    means = groups.mean()
    for product, row in frame.iterrows():
        assert row["média"] == pytest.approx(means[product], rel=1e-5)
        values = known.loc[known["product"] == product, "prediction"]
        for p in monitoring.DEFAULT_PERCENTS:
            assert_percentile(values, p, row[f"p{p:g}"])


def test_percentiles_overall_and_filtered(es, known) -> None:
    frame = monitoring.percentiles(
        "prediction", START, END, percents=[10, 90], es=es, filters={"onpromotion": True}
    )
    values = known.loc[known["onpromotion"], "prediction"]
    assert frame.index.tolist() == ["todos"]
    assert frame[monitoring.COUNT].iloc[0] == len(values)
    assert_percentile(values, 10, frame["p10"].iloc[0])
    assert_percentile(values, 90, frame["p90"].iloc[0])


def test_latency_percentiles(es, known) -> None:
    summary = monitoring.latency(START, END, es=es)
    assert summary.count == len(known)
    for p, value in [(50, summary.p50), (95, summary.p95), (99, summary.p99)]:
        assert_percentile(known["latency_ms"], p, value)
    assert summary.mean == pytest.approx(known["latency_ms"].mean(), rel=1e-5)
    assert summary.max == pytest.approx(known["latency_ms"].max(), rel=1e-6)
    assert summary.to_dict()["p95_ms"] == summary.p95
    assert summary.to_frame()[monitoring.COUNT].iloc[0] == len(known)


def test_latency_histogram(es, known) -> None:
    frame = monitoring.histogram("latency_ms", 0.5, START, END, es=es)
    bucket = (known["latency_ms"].astype("float32") // 0.5) * 0.5
    expected = bucket.value_counts()
    observed = frame.set_index("início")[monitoring.COUNT]
    assert observed.sum() == len(known)
    assert observed[observed > 0].to_dict() == {float(k): v for k, v in expected.items()}


def test_bad_window_is_a_pt_br_error(es) -> None:
    with pytest.raises(monitoring.InvalidWindowError, match="Janela de tempo inválida"):
        monitoring.counts_by_product("ontem", es=es)
    with pytest.raises(monitoring.InvalidWindowError, match="precisa ser anterior ao fim"):
        monitoring.latency(END, START, es=es)
