"""PSI, its reading, the KS test and time-window parsing: pure functions, no servers."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import pytest

from workshop import monitoring
from workshop.errors import InvalidInputError

NOW = datetime(2026, 11, 27, 15, 0, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- PSI


def test_psi_of_identical_distributions_is_zero() -> None:
    shares = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert monitoring.psi(shares, shares) == pytest.approx(0.0, abs=1e-15)
    assert monitoring.psi(shares, {"a": 50, "b": 30, "c": 20}) == pytest.approx(0.0, abs=1e-15)


def test_psi_matches_the_formula_by_hand() -> None:
    expected, actual = [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]
    by_hand = (0.5 - 0.25) * math.log(0.5 / 0.25) + 0 + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert monitoring.psi(expected, actual) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.3466, abs=1e-4)


def test_psi_aligns_mappings_by_key_and_is_order_free() -> None:
    left = monitoring.psi({"a": 0.2, "b": 0.8}, {"b": 0.6, "a": 0.4})
    right = monitoring.psi({"b": 0.8, "a": 0.2}, {"a": 0.4, "b": 0.6})
    assert left == pytest.approx(right)
    assert left > 0


def test_empty_window_bin_uses_half_an_event_not_a_tiny_epsilon() -> None:
    """12 equally likely products, a 600-event window that happens to miss one of them."""
    expected = {str(i): 1 / 12 for i in range(12)}
    actual = {str(i): 600 / 11 for i in range(11)}  # product "11" never asked
    with_n = monitoring.psi(expected, actual, actual_n=600)
    without_n = monitoring.psi(expected, actual)
    assert with_n < without_n
    floor = 0.5 / 600
    a = np.array([1 / 11] * 11 + [floor])
    a = a / a.sum()
    e = np.full(12, 1 / 12)
    assert with_n == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)
    # the plain 1e-4 floor alone would already read "agir" for one missed product
    assert monitoring.psi_reading(without_n) == "agir"


def test_category_never_seen_in_training_is_heavy_drift() -> None:
    value = monitoring.psi({"a": 0.5, "b": 0.5}, {"a": 0.4, "b": 0.4, "new": 0.2}, actual_n=1000)
    assert monitoring.psi_reading(value) == "agir"


def test_psi_without_data_is_nan_and_negative_shares_are_rejected() -> None:
    assert math.isnan(monitoring.psi({"a": 1.0}, {}))
    assert math.isnan(monitoring.psi({}, {"a": 1.0}))
    with pytest.raises(InvalidInputError, match="negativas"):
        monitoring.psi([0.5, 0.5], [1.2, -0.2])


@pytest.mark.parametrize(
    ("value", "reading"),
    [
        (0.0, "estável"),
        (0.0999, "estável"),
        (0.1, "atenção"),
        (0.25, "atenção"),
        (0.2501, "agir"),
        (3.0, "agir"),
        (math.nan, "sem dados"),
        (None, "sem dados"),
    ],
)
def test_psi_reading(value, reading) -> None:
    assert monitoring.psi_reading(value) == reading


def test_psi_grows_with_the_shift() -> None:
    base = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    other = np.array([0.4, 0.3, 0.2, 0.05, 0.05])
    values = [monitoring.psi(base, (1 - w) * base + w * other) for w in (0, 0.25, 0.5, 1.0)]
    assert values[0] == pytest.approx(0.0)
    assert all(a < b for a, b in itertools.pairwise(values))


# --------------------------------------------------------------------------- KS


def test_ks_same_sample_and_shifted_sample() -> None:
    rng = np.random.default_rng(1)
    sample = rng.normal(10, 2, 2_000)
    same = monitoring.ks_test(sample, sample)
    assert same.statistic == 0.0 and same.pvalue == pytest.approx(1.0)
    assert same.reading == "sem evidência de diferença"
    moved = monitoring.ks_test(sample + 1.5, sample)
    assert moved.pvalue < 1e-6
    assert moved.reading.startswith("distribuições diferentes")
    empty = monitoring.ks_test([], sample)
    assert math.isnan(empty.statistic) and empty.reading == "sem dados"
    assert moved.to_dict()["n_window"] == 2_000


# --------------------------------------------------------------------------- bins


def test_bin_ranges_open_at_both_ends() -> None:
    ranges = monitoring._bin_ranges([0.0, 1.0, 2.0, 5.0])
    assert ranges == [{"to": 1.0}, {"from": 1.0, "to": 2.0}, {"from": 2.0}]
    with pytest.raises(InvalidInputError):
        monitoring._bin_ranges([0.0, 1.0])


# --------------------------------------------------------------------------- time windows


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("15min", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        (" 2 H ", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_relative_windows(text, delta) -> None:
    window = monitoring.time_window(text, now=NOW)
    assert window.end == NOW
    assert window.start == NOW - delta
    assert window.seconds == delta.total_seconds()


def test_absolute_windows_and_types() -> None:
    window = monitoring.time_window("2026-11-27T10:00:00Z", "2026-11-27T12:00:00+01:00", now=NOW)
    assert window.start == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 27, 11, tzinfo=UTC)
    by_date = monitoring.time_window(date(2026, 11, 1), date(2026, 11, 2), now=NOW)
    assert by_date.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert by_date.seconds == 86_400
    brt = timezone(timedelta(hours=-3))
    aware = monitoring.time_window(datetime(2026, 11, 27, 9, tzinfo=brt), "now", now=NOW)
    assert aware.start == datetime(2026, 11, 27, 12, tzinfo=UTC)
    by_delta = monitoring.time_window(timedelta(minutes=5), now=NOW)
    assert by_delta.start == NOW - timedelta(minutes=5)
    assert monitoring.time_window(window) is window


def test_naive_datetime_is_local_time() -> None:
    naive = datetime(2026, 11, 27, 10, 0, 0)
    window = monitoring.time_window(naive, now=NOW)
    assert window.start == naive.astimezone(UTC)


def test_window_is_widened_to_whole_milliseconds_and_renders_the_query() -> None:
    start = datetime(2026, 11, 27, 10, 0, 0, 123_456, tzinfo=UTC)
    end = datetime(2026, 11, 27, 10, 0, 1, 987_001, tzinfo=UTC)
    window = monitoring.time_window(start, end, now=NOW)
    assert window.start.microsecond == 123_000
    assert window.end.microsecond == 988_000
    clause = window.range_query()["range"]["@timestamp"]
    assert clause["gte"] == "2026-11-27T10:00:00.123Z"
    assert clause["lt"] == "2026-11-27T10:00:01.988Z"
    assert window.label() == "27/11/2026 10:00:00 → 27/11/2026 10:00:01 UTC"


@pytest.mark.parametrize("bad", ["ontem", "1 hora", "5x", "-1h", "", "2026-13-01", "1.5h", 42])
def test_bad_window_input_is_a_pt_br_error(bad) -> None:
    with pytest.raises(monitoring.InvalidWindowError) as info:
        monitoring.time_window(bad, now=NOW)  # type: ignore[arg-type]
    message = str(info.value)
    assert "Janela de tempo inválida" in message or "Unidade de tempo desconhecida" in message
    assert "'1h'" in message  # says what to write instead
    assert isinstance(info.value, InvalidInputError)


def test_start_must_precede_end() -> None:
    with pytest.raises(monitoring.InvalidWindowError, match="precisa ser anterior ao fim"):
        monitoring.time_window("1h", "2h", now=NOW)
    with pytest.raises(monitoring.InvalidWindowError, match="duração não pode ser negativa"):
        monitoring.time_window(timedelta(hours=-1), now=NOW)
