"""Unit tests of workshop.modeling.metrics: NWRMSLE, evaluate, the baselines."""

from __future__ import annotations

import pandas as pd
import pytest

from workshop.errors import InvalidInputError
from workshop.modeling import (
    evaluate,
    nwrmsle,
    product_mean_baseline,
    seasonal_naive_baseline,
)


def test_nwrmsle_hand_computed_example() -> None:
    # actual 0, 10, 3; predicted 1, 8, -2 (clipped to 0); the first item is perishable.
    #   ln(2) - ln(1) = 0.693147, ln(9) - ln(11) = -0.200671, ln(1) - ln(4) = -1.386294
    #   (1.25·0.480453 + 0.040269 + 1.921812) / 3.25 = 0.788507  →  sqrt = 0.887979
    value = nwrmsle([0, 10, 3], [1, 8, -2], [True, False, False])
    assert value == pytest.approx(0.8879790453, abs=1e-9)


def test_nwrmsle_properties() -> None:
    assert nwrmsle([5, 7], [5, 7], [True, False]) == 0.0
    # Relative: missing half of 20 costs about as much as missing half of 200.
    small = nwrmsle([20], [10], [False])
    big = nwrmsle([200], [100], [False])
    assert small == pytest.approx(big, rel=0.1)
    # Negative actuals (returns) count as zero.
    assert nwrmsle([-3], [0], [False]) == 0.0
    # Perishable errors weigh more.
    assert nwrmsle([10, 10], [20, 10], [True, False]) > nwrmsle([10, 10], [20, 10], [False, False])
    with pytest.raises(InvalidInputError):
        nwrmsle([1, 2], [1], [True, False])
    with pytest.raises(InvalidInputError):
        nwrmsle([], [], [])


def test_evaluate_adds_mae_and_r2() -> None:
    metrics = evaluate([1, 2, 3, 4], [1, 2, 3, 5], [False] * 4)
    assert metrics["mae"] == pytest.approx(0.25)
    assert metrics["r2"] == pytest.approx(1 - 1 / 5)
    assert set(metrics) == {"nwrmsle", "mae", "r2"}


def test_baselines() -> None:
    history = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-08", "2025-01-01"]),
            "item_nbr": ["1", "1", "1", "2"],
            "unit_sales": [10.0, 20.0, 30.0, 5.0],
        }
    )
    target = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-08", "2025-01-09"]), "item_nbr": ["1", "2"]}
    )
    mean = product_mean_baseline(history.iloc[:2], target)
    assert mean.tolist() == [15.0, 15.0]  # product 2 unseen in training → the overall mean
    naive = seasonal_naive_baseline(history, target)
    assert naive.iloc[0] == 10.0  # the same weekday one week earlier
    assert naive.iloc[1] == 5.0  # no row a week earlier → the product's mean
