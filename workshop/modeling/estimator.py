"""The forecast model: a scikit-learn pipeline ``features → SalesRegressor``.

``SalesRegressor`` predicts ``log1p(unit_sales)`` (the scale NWRMSLE scores; the mean of the log
is what minimises it) as the sum of three parts:

1. **trend** — a log-linear trend in time, estimated by least squares with item, month, weekday
   and promotion held fixed (so December's peak is not mistaken for growth);
2. **patterns** — a ``HistGradientBoostingRegressor`` on the detrended target and every feature
   except the time index: weekday, payday, holiday, promotion and season effects and their
   interactions per product/family. Trees cannot extrapolate a time index (a future date would
   fall in the leaf of the last weeks seen), which is why time enters only through the trend.
   ``item``/``family`` are numeric codes: declaring them categorical makes scikit-learn run an
   encoder on every call (~2 ms for a single row), and 21 items split fine as numbers;
3. **level** — one offset per family, learned from the *recent rows* (``calibration``: the
   feedback loop's labelled rows, or by default the last ``recent_days`` of the data). The
   pattern model is first fit WITHOUT the recent rows, the offset is the mean residual of the
   recent rows of the family (each residual clipped to ±``residual_clip`` so a stock-out zero
   cannot move a level, shrunk towards 0 as if ``level_prior_rows`` rows with residual 0 were
   added), then the pattern model is refit on all rows with the recent rows' offset taken out,
   so they teach patterns without counting the level twice.

Why the level part: when a family's demand drops 30 % (a competitor opens, see
:class:`workshop.dataset.RegimeChange`), a tree model retrained on two years of history plus a
few weeks of new rows keeps predicting (almost) the old level — the new rows are a small minority.
The level offset picks the change up from a few dozen rows of that family, which is what
"retrain on post-change data" must achieve in the feedback loop (notebook 06). In a normal
training the offsets are close to 0.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from threadpoolctl import ThreadpoolController
from tqdm.auto import tqdm

from workshop.dataset import FAMILIES
from workshop.features import FEATURE_NAMES, feature_matrix
from workshop.modeling.forest import FlatForest

FAMILY_COLUMN = FEATURE_NAMES.index("family")
ITEM_COLUMN = FEATURE_NAMES.index("item")
MONTH_COLUMN = FEATURE_NAMES.index("month")
WEEKDAY_COLUMN = FEATURE_NAMES.index("dayofweek")
PROMO_COLUMN = FEATURE_NAMES.index("onpromotion")
TIME_COLUMN = FEATURE_NAMES.index("days_since_start")
# The trees see every feature but the time index: trees cannot extrapolate a time index (a date
# after the history would land in the leaf of the last weeks seen, e.g. December's peak), so time
# enters through a log-linear trend instead.
TREE_COLUMNS = np.array([i for i in range(len(FEATURE_NAMES)) if i != TIME_COLUMN])

_controller: ThreadpoolController | None = None


def single_thread() -> Any:
    """Context: OpenMP limited to one thread (for the calling thread only).

    The trees are small (15k rows): OpenMP threads gain nothing, and on a busy 2-core machine
    they wait on each other — measured: training 3× slower, single-row p99 > 500 ms instead of
    ~5 ms. ``omp_set_num_threads`` is per thread, so concurrent service threads do not interfere.
    """
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="openmp")


@contextmanager
def _follow_trees(model: HistGradientBoostingRegressor, bar: Any) -> Iterator[None]:
    """Move ``bar`` with the trees ``model.fit`` has built so far, from a thread of its own.

    scikit-learn has no per-tree callback; its fit appends one entry per iteration to
    ``model._predictors`` as it goes (sklearn 1.9, ``gradient_boosting.py``), and this reads
    its length ten times a second. Until issue 15 the trees were fit in five warm-started
    chunks instead, for the bar: the same trees, but each chunk binned the data again and
    predicted with every tree so far: a training took 2.7 s, and takes 1.6–1.8 s now. Were
    a future scikit-learn to rename the list, the bar would jump to full at the end.
    """
    done = threading.Event()

    def follow() -> None:
        while not done.wait(0.1):
            built = len(getattr(model, "_predictors", ()) or ())
            if built > bar.n:
                bar.update(min(built, bar.total) - bar.n)

    follower = threading.Thread(target=follow, name="tree-progress", daemon=True)
    follower.start()
    try:
        yield
    finally:
        done.set()
        follower.join()


class FeatureTransformer(TransformerMixin, BaseEstimator):
    """Pipeline step: rows ``(date, item_nbr, onpromotion)`` → :func:`feature_matrix`."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> FeatureTransformer:
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return feature_matrix(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)


class SalesRegressor(RegressorMixin, BaseEstimator):
    """Trend + gradient-boosted trees on ``log1p`` sales + a per-family level correction.

    ``fit(X, y, calibration=None)``: ``X`` is :func:`workshop.features.feature_matrix`;
    ``calibration`` marks the recent rows that set the level (None: the last ``recent_days``).
    """

    def __init__(
        self,
        max_iter: int = 100,
        learning_rate: float = 0.15,
        max_leaf_nodes: int = 63,
        min_samples_leaf: int = 20,
        l2_regularization: float = 1.0,
        recent_days: int = 28,
        level_prior_rows: float = 5.0,
        residual_clip: float = 1.0,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.recent_days = recent_days
        self.level_prior_rows = level_prior_rows
        self.residual_clip = residual_clip
        self.random_state = random_state

    def _boost(self, X: np.ndarray, y_log: np.ndarray, progress: bool, desc: str) -> Any:
        """Fit the trees in one go; with ``progress``, a bar follows them as they are built."""
        model = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        )
        # leave=False: each fit's tree bars vanish when done, so a training shows one lasting
        # bar ("Etapas"), not five with two names repeated (issue 13).
        with tqdm(
            total=self.max_iter, desc=desc, unit="árvore", disable=not progress, leave=False
        ) as bar:
            if progress:
                with _follow_trees(model, bar):
                    model.fit(X[:, TREE_COLUMNS], y_log)
            else:
                model.fit(X[:, TREE_COLUMNS], y_log)
            bar.update(self.max_iter - bar.n)
        return model

    @staticmethod
    def _trend_slope(X: np.ndarray, y_log: np.ndarray) -> float:
        """Log-sales change per day, with item, month, weekday and promotion held fixed."""
        columns = [X[:, TIME_COLUMN] / 365.25, X[:, PROMO_COLUMN]]
        for col in (ITEM_COLUMN, MONTH_COLUMN, WEEKDAY_COLUMN):
            codes = X[:, col].astype(int)
            levels = np.unique(codes)
            columns += [(codes == level).astype(float) for level in levels[1:]]
        design = np.column_stack([np.ones(len(X)), *columns])
        coef, *_ = np.linalg.lstsq(design, y_log, rcond=None)
        return float(coef[1]) / 365.25

    def fit(
        self,
        X: np.ndarray,
        y: Any,
        calibration: Any = None,
        progress: bool = False,
    ) -> SalesRegressor:
        with single_thread():
            return self._fit(X, y, calibration, progress)

    def _fit(self, X: np.ndarray, y: Any, calibration: Any, progress: bool) -> SalesRegressor:
        X = np.asarray(X, dtype=np.float64)
        y_log = np.log1p(np.clip(np.asarray(y, dtype=np.float64), 0, None))
        t = X[:, TIME_COLUMN]
        if calibration is None:
            calib = t > t.max() - self.recent_days
        else:
            calib = np.asarray(calibration, dtype=bool).reshape(-1)
        base = ~calib
        if base.sum() < 10 * self.min_samples_leaf:
            base = np.ones(len(X), dtype=bool)  # too few rows to hold any out
            calib = np.zeros(len(X), dtype=bool)
        self.trend_per_day_ = self._trend_slope(X[base], y_log[base])
        detrended = y_log - self.trend_per_day_ * t
        self.__dict__.pop("_forest", None)  # the single-row trees of a previous fit
        self.model_ = self._boost(X[base], detrended[base], progress, "Treinando o modelo")
        families = X[:, FAMILY_COLUMN].astype(int)
        self.level_offsets_ = np.zeros(len(FAMILIES))
        self.calibration_rows_ = {f: 0 for f in FAMILIES}
        if calib.any():
            residual = detrended[calib] - self.model_.predict(X[calib][:, TREE_COLUMNS])
            residual = np.clip(residual, -self.residual_clip, self.residual_clip)
            sums = np.bincount(families[calib], weights=residual, minlength=len(FAMILIES))
            counts = np.bincount(families[calib], minlength=len(FAMILIES))
            self.level_offsets_ = sums / (counts + self.level_prior_rows)
            self.calibration_rows_ = {f: int(c) for f, c in zip(FAMILIES, counts, strict=True)}
            # Refit on every row; the recent rows with their family's level taken out, so they
            # teach patterns without counting the level twice.
            target = detrended - np.where(calib, self.level_offsets_[families], 0.0)
            self.model_ = self._boost(X, target, progress, "Treinando com os dados recentes")
        self.n_features_in_ = X.shape[1]
        return self

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """Predicted ``log1p(unit_sales)``."""
        X = np.asarray(X, dtype=np.float64)
        offsets = self.level_offsets_[X[:, FAMILY_COLUMN].astype(int)]
        trend = self.trend_per_day_ * X[:, TIME_COLUMN]
        with single_thread():
            patterns = self.model_.predict(X[:, TREE_COLUMNS])
        return patterns + trend + offsets

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 2 and X.shape[0] == 1:
            forest = self._flat_forest()
            if forest is not None:
                return np.array([self._predict_row(forest, X[0])])
        return np.clip(np.expm1(self.predict_log(X)), 0, None)

    def _flat_forest(self) -> FlatForest | None:
        """The trees as lists for one row (built once per fitted model; None: keep sklearn's)."""
        forest = self.__dict__.get("_forest")
        if forest is None and hasattr(self, "model_"):
            try:
                forest = FlatForest.from_estimator(self.model_, columns=TREE_COLUMNS)
            except ValueError:
                forest = False
            self.__dict__["_forest"] = forest
        return forest or None

    def _predict_row(self, forest: FlatForest, row: np.ndarray) -> float:
        """One row, the same operations in the same order as :meth:`predict_log` + clip."""
        values = row.tolist()
        pattern = forest.predict_row(values)
        trend = self.trend_per_day_ * values[TIME_COLUMN]
        offset = float(self.level_offsets_[int(values[FAMILY_COLUMN])])
        return max(float(np.expm1(pattern + trend + offset)), 0.0)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_forest", None)  # rebuilt from model_ after loading
        return state

    def level_correction(self) -> dict[str, float]:
        """Offset per family, in log units (``exp(offset) − 1`` is the relative change)."""
        return {f: float(o) for f, o in zip(FAMILIES, self.level_offsets_, strict=True)}

    def trend_per_year(self) -> float:
        """The learned trend as a relative change per year (0.06 = +6 %/ano)."""
        return float(np.expm1(self.trend_per_day_ * 365.25))


def make_pipeline(**params: Any) -> Pipeline:
    """The unfitted forecast pipeline (``params`` go to :class:`SalesRegressor`)."""
    return Pipeline([("features", FeatureTransformer()), ("regressor", SalesRegressor(**params))])
