"""Unit tests of workshop.modeling.forest: one row by the fast path equals the batch path."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor

from workshop.dataset import CATALOGUE
from workshop.features import RowFeaturizer
from workshop.modeling.estimator import TREE_COLUMNS
from workshop.modeling.forest import FlatForest


def _rows(n: int, seed: int = 0) -> np.ndarray:
    """Feature rows the service would build: random days 2020-2030, products, promotions."""
    rng = np.random.default_rng(seed)
    featurizer = RowFeaturizer()
    days = rng.integers(0, 4000, n)
    items = rng.integers(0, len(CATALOGUE), n)
    promos = rng.integers(0, 2, n)
    return np.vstack(
        [
            featurizer.row(date(2020, 1, 1) + timedelta(days=int(d)), CATALOGUE[int(i)], bool(p))
            for d, i, p in zip(days, items, promos, strict=True)
        ]
    )


def test_raw_tree_sums_equal_scikit_learn(trained: tuple) -> None:
    model, _, _ = trained
    trees = model.named_steps["regressor"].model_  # type: ignore[attr-defined]
    rows = _rows(500, seed=1)
    rows[::7, TREE_COLUMNS[0]] = np.nan  # missing values follow missing_go_to_left
    forest = FlatForest.from_estimator(trees, columns=TREE_COLUMNS)
    expected = trees._raw_predict(rows[:, TREE_COLUMNS]).ravel()
    got = np.array([forest.predict_row(row.tolist()) for row in rows])
    assert np.array_equal(got, expected)


def test_categorical_splits_are_refused() -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.integers(0, 4, 300), rng.normal(size=300)])
    y = X[:, 0] * 2 + rng.normal(size=300)
    model = HistGradientBoostingRegressor(max_iter=5, categorical_features=[0], random_state=0).fit(
        X, y
    )
    with pytest.raises(ValueError, match="categorical"):
        FlatForest.from_estimator(model)
