"""Train, evaluate (NWRMSLE, baselines), register and serve the sales-forecast model.

Submodules: :mod:`~workshop.modeling.metrics` (NWRMSLE, MAE, R², baselines),
:mod:`~workshop.modeling.estimator` (the scikit-learn pipeline),
:mod:`~workshop.modeling.training` (:func:`train_and_register`),
:mod:`~workshop.modeling.registry` (:class:`Registry`) and
:mod:`~workshop.modeling.predictor` (:class:`Predictor`).
"""

from __future__ import annotations

from workshop.modeling.estimator import SalesRegressor, make_pipeline
from workshop.modeling.metrics import (
    evaluate,
    nwrmsle,
    product_mean_baseline,
    seasonal_naive_baseline,
)
from workshop.modeling.predictor import Prediction, Predictor
from workshop.modeling.registry import Registry
from workshop.modeling.training import (
    HOLDOUT_DAYS,
    TrainResult,
    prepare_extra_rows,
    train_and_register,
    train_model,
    training_profile,
)

__all__ = [
    "HOLDOUT_DAYS",
    "Prediction",
    "Predictor",
    "Registry",
    "SalesRegressor",
    "TrainResult",
    "evaluate",
    "make_pipeline",
    "nwrmsle",
    "prepare_extra_rows",
    "product_mean_baseline",
    "seasonal_naive_baseline",
    "train_and_register",
    "train_model",
    "training_profile",
]
