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


def _small_fit_data(n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    from workshop.features import FEATURE_NAMES

    rng = np.random.default_rng(5)
    X = _rows(n, seed=3)
    assert X.shape[1] == len(FEATURE_NAMES)
    y = np.expm1(np.clip(0.5 * X[:, 0] + rng.normal(0, 0.3, n), 0, 6))
    return X, y


def test_a_fit_with_progress_bars_is_the_fit_without() -> None:
    """Issue 15: the trees are fit in one go, the bar follows them from a thread; the model
    must not depend on whether a bar was shown."""
    from workshop.modeling.estimator import SalesRegressor

    X, y = _small_fit_data()
    quiet = SalesRegressor(max_iter=30).fit(X, y, progress=False)
    shown = SalesRegressor(max_iter=30).fit(X, y, progress=True)
    assert np.array_equal(quiet.predict(X), shown.predict(X))
    assert quiet.model_.n_iter_ == shown.model_.n_iter_ == 30


def test_the_tree_bar_follows_the_trees_built_so_far() -> None:
    import threading

    from workshop.modeling.estimator import _follow_trees

    class Model:
        _predictors: list[list[object]]

    class Bar:
        def __init__(self) -> None:
            self.n, self.total, self.seen = 0, 10, []
            self.moved = threading.Event()

        def update(self, k: int) -> None:
            self.n += k
            self.seen.append(self.n)
            self.moved.set()

    model, bar = Model(), Bar()
    with _follow_trees(model, bar):  # type: ignore[arg-type]
        threading.Event().wait(0.25)  # no _predictors yet (fit has not begun): the bar waits
        assert bar.n == 0
        model._predictors = [[], [], []]  # three trees built
        assert bar.moved.wait(5)
        assert bar.n == 3
        bar.moved.clear()
        model._predictors += [[]] * 20  # more than the total: the bar stops at it
        assert bar.moved.wait(5)
    assert bar.seen == [3, 10]
