"""Unit tests of workshop.modeling.estimator: SalesRegressor answers one row by the fast path."""

from __future__ import annotations

import pickle

import numpy as np

from tests.unit.modeling.test_forest import _rows


def test_single_rows_equal_the_batch_path_to_the_last_digit(trained: tuple) -> None:
    model, _, _ = trained
    regressor = model.named_steps["regressor"]  # type: ignore[attr-defined]
    rows = _rows(3000)
    batch = regressor.predict(rows)  # scikit-learn's path (more than one row)
    single = np.array([regressor.predict(rows[i : i + 1])[0] for i in range(len(rows))])
    assert regressor._flat_forest() is not None  # the fast path was taken
    assert np.array_equal(single, batch)  # bit for bit, not approximately


def test_the_fast_path_is_not_pickled_and_comes_back_after_loading(trained: tuple) -> None:
    model, _, _ = trained
    regressor = model.named_steps["regressor"]  # type: ignore[attr-defined]
    row = _rows(1, seed=2)
    before = regressor.predict(row)
    assert "_forest" in regressor.__dict__
    loaded = pickle.loads(pickle.dumps(regressor))
    assert "_forest" not in loaded.__dict__
    assert np.array_equal(loaded.predict(row), before)
