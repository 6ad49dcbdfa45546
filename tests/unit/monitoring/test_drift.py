"""PSI, its reading, the KS test and the profile bins (workshop.monitoring.drift): pure
functions, no servers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from workshop import monitoring
from workshop.errors import InvalidInputError
from workshop.monitoring import drift

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
    ranges = drift._bin_ranges([0.0, 1.0, 2.0, 5.0])
    assert ranges == [{"to": 1.0}, {"from": 1.0, "to": 2.0}, {"from": 2.0}]
    with pytest.raises(InvalidInputError):
        drift._bin_ranges([0.0, 1.0])


def test_bin_labels_read_with_a_decimal_comma() -> None:
    assert drift._bin_labels([0.0, 1.5, 20.25, 1e9]) == ["< 1,5", "1,5–20,2", "≥ 20,2"]


def test_the_overall_reading_ignores_features_with_too_few_events() -> None:
    # Issue 13: "Leitura geral: agir" came from a feature with 47 events; the warning looked
    # at the window's total, not at each feature's n.
    from workshop.monitoring.summary import _judged

    drift = {
        "psi": {
            "product": {"label": "produto", "psi": 0.02, "reading": "estável", "n": 900},
            "prediction": {"label": "predição", "psi": 0.6, "reading": "agir", "n": 47},
        }
    }
    judged = _judged(drift)
    assert judged["worst"] == "estável"
    assert judged["small_features"] == ["predição"]
    assert judged["psi"]["prediction"]["small_sample"] is True
    assert judged["psi"]["product"]["small_sample"] is False
