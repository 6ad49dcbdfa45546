"""Forecast metrics: NWRMSLE exactly as Kaggle's Favorita competition defined it, MAE and R².

NWRMSLE (Normalized Weighted Root Mean Squared Logarithmic Error)::

    NWRMSLE = sqrt( Σ wᵢ · (ln(ŷᵢ + 1) − ln(yᵢ + 1))² / Σ wᵢ )

with ``wᵢ = 1.25`` for perishable items and ``1.0`` otherwise; predictions and actuals are clipped
at zero first (Favorita's actuals include negative returns, scored as 0). The logarithm makes the
error relative (missing 10 units of 20 costs as much as 100 of 200), so slow and fast sellers
count alike, and the weight makes errors on perishables — which spoil — costlier.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, r2_score

from workshop.errors import InvalidInputError

PERISHABLE_WEIGHT = 1.25


def _array(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise InvalidInputError(f"'{name}' contém valores ausentes ou infinitos.")
    return arr


def nwrmsle(y_true: Any, y_pred: Any, perishable: Any) -> float:
    """Normalized Weighted Root Mean Squared Logarithmic Error (Favorita)."""
    y = _array(y_true, "y_true")
    p = _array(y_pred, "y_pred")
    w = np.where(np.asarray(perishable, dtype=bool).reshape(-1), PERISHABLE_WEIGHT, 1.0)
    if not (len(y) == len(p) == len(w)):
        raise InvalidInputError(
            f"Tamanhos diferentes: {len(y)} valores reais, {len(p)} previsões, {len(w)} pesos."
        )
    if len(y) == 0:
        raise InvalidInputError("Nada para avaliar: nenhuma linha.")
    diff = np.log1p(np.clip(p, 0, None)) - np.log1p(np.clip(y, 0, None))
    return float(np.sqrt(np.sum(w * diff**2) / np.sum(w)))


def evaluate(y_true: Any, y_pred: Any, perishable: Any) -> dict[str, float]:
    """``{"nwrmsle", "mae", "r2"}`` of predictions against actual unit sales."""
    y = _array(y_true, "y_true")
    p = _array(y_pred, "y_pred")
    return {
        "nwrmsle": nwrmsle(y, p, perishable),
        "mae": float(mean_absolute_error(y, p)),
        "r2": float(r2_score(y, p)) if len(y) > 1 else float("nan"),
    }


def product_mean_baseline(train: pd.DataFrame, target: pd.DataFrame) -> pd.Series:
    """Baseline 1: each product's mean daily sales in the training period."""
    means = train.groupby("item_nbr")["unit_sales"].mean()
    pred = target["item_nbr"].map(means).astype(np.float64)
    return pred.fillna(float(train["unit_sales"].mean())).rename("baseline_product_mean")


def seasonal_naive_baseline(history: pd.DataFrame, target: pd.DataFrame) -> pd.Series:
    """Baseline 2: the same product's sales on the same weekday one week earlier."""
    sales = history.set_index([pd.to_datetime(history["date"]), history["item_nbr"]])["unit_sales"]
    sales = sales[~sales.index.duplicated(keep="last")]
    week_before = pd.MultiIndex.from_arrays(
        [pd.to_datetime(target["date"]) - pd.Timedelta(days=7), target["item_nbr"]]
    )
    pred = pd.Series(sales.reindex(week_before).to_numpy(), index=target.index, dtype=np.float64)
    fallback = product_mean_baseline(history, target)
    return pred.fillna(fallback).rename("baseline_seasonal_naive")
