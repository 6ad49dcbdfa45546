"""Train, evaluate against baselines, profile and register a forecast model.

:func:`train_and_register` is what ``workshop train``, notebook 01 and the feedback loop's retrain
call. Steps:

1. generate the history (:func:`workshop.dataset.generate_history`, seeded, optional regime);
2. time-based split: the last :data:`HOLDOUT_DAYS` (8 weeks) of the history are the holdout;
3. fit the pipeline on the rows before the holdout, score it on the holdout (NWRMSLE, MAE, R²)
   next to two baselines: each product's mean, and the seasonal naive (same weekday a week
   earlier);
4. fit the final pipeline on the whole history plus ``extra_rows`` (recent labelled rows, e.g.
   the feedback loop's curated events), which also calibrate the per-family level correction
   (see :mod:`workshop.modeling.estimator`);
5. profile the training data (for drift monitoring) and register model + card; optionally promote.

Card metrics are the holdout's (the pattern model's quality on the last 8 weeks of history). When
``extra_rows`` move a family's level, compare versions on fresh labelled rows instead (the holdout
lies before the change).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from tqdm.auto import tqdm

from workshop.config import Settings
from workshop.dataset import (
    COLUMNS,
    DEFAULT_SEED,
    HISTORY_END,
    HISTORY_START,
    RegimeChange,
    generate_history,
    with_product_columns,
)
from workshop.errors import InvalidInputError
from workshop.features import FEATURE_NAMES, make_features, parse_dates
from workshop.modeling.estimator import make_pipeline
from workshop.modeling.metrics import (
    evaluate,
    product_mean_baseline,
    seasonal_naive_baseline,
)
from workshop.modeling.registry import Registry

HOLDOUT_DAYS = 56
PREDICTION_SAMPLE_SIZE = 2000
PREDICTION_BINS = 10
BASELINE_NAMES = {
    "product_mean": "média do produto",
    "seasonal_naive": "ingênuo sazonal (mesmo dia da semana anterior)",
}


@dataclass
class TrainResult:
    """What a training run produced (``summary()`` is what ``workshop train --json`` prints)."""

    version: str
    card: dict[str, Any]
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    baseline_nwrmsle: float
    train_seconds: float
    promoted: bool
    model: Any = field(repr=False)
    holdout: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "nwrmsle": round(self.metrics["nwrmsle"], 4),
            "mae": round(self.metrics["mae"], 3),
            "r2": round(self.metrics["r2"], 4),
            "baseline_nwrmsle": round(self.baseline_nwrmsle, 4),
            "baselines": {k: round(v["nwrmsle"], 4) for k, v in self.baselines.items()},
            "ratio_to_baseline": round(self.metrics["nwrmsle"] / self.baseline_nwrmsle, 4),
            "train_seconds": round(self.train_seconds, 2),
            "promoted": self.promoted,
            "rows": self.card["rows"],
            "extra_rows": self.card["extra_rows"],
            "seed": self.card["seed"],
            "data_hash": self.card["data_hash"],
        }


def prepare_extra_rows(extra_rows: pd.DataFrame | None) -> pd.DataFrame:
    """Validate recent labelled rows: ``date, item_nbr, onpromotion`` and ``unit_sales`` (or
    ``actual``, as labelled prediction events call it). Product columns come from the catalogue.
    """
    if extra_rows is None or len(extra_rows) == 0:
        return pd.DataFrame(columns=COLUMNS)
    frame = extra_rows.copy()
    if "unit_sales" not in frame.columns and "actual" in frame.columns:
        frame = frame.rename(columns={"actual": "unit_sales"})
    missing = [c for c in ("date", "item_nbr", "onpromotion", "unit_sales") if c not in frame]
    if missing:
        raise InvalidInputError(
            f"Linhas extras sem a(s) coluna(s) {', '.join(missing)} "
            "(esperado: date, item_nbr, onpromotion, unit_sales ou actual)."
        )
    sales = pd.to_numeric(frame["unit_sales"], errors="coerce")
    if sales.isna().any() or not np.isfinite(sales.to_numpy(dtype=float)).all():
        raise InvalidInputError(
            f"{int(sales.isna().sum())} linha(s) extra(s) sem venda real (unit_sales/actual): "
            "remova-as antes de treinar."
        )
    features = make_features(frame)  # validates dates, products and flags (pt-BR errors)
    frame["date"] = parse_dates(frame["date"]).to_numpy()
    frame["onpromotion"] = features["onpromotion"].to_numpy(dtype=bool)
    frame["unit_sales"] = sales.to_numpy(dtype=float)
    return with_product_columns(frame)[COLUMNS]


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the training rows (order-independent), to tell datasets apart."""
    rows = frame[COLUMNS].sort_values(["date", "item_nbr", "onpromotion", "unit_sales"])
    hashed = pd.util.hash_pandas_object(rows.reset_index(drop=True), index=False)
    return "sha256:" + hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def _shares(values: pd.Series) -> dict[str, float]:
    counts = values.astype(str).value_counts(normalize=True).sort_index()
    return {str(k): round(float(v), 6) for k, v in counts.items()}


def training_profile(frame: pd.DataFrame, predictions: np.ndarray, seed: int) -> dict[str, Any]:
    """What the training data looked like, for drift monitoring (see CONTRACTS.md).

    ``prediction_bins`` are decile edges of the model's predictions on its training rows (first
    edge 0); values outside the edges belong to the first/last bin.
    """
    days = pd.to_datetime(frame["date"])
    weekday = days.dt.day_of_week.value_counts(normalize=True)
    preds = np.asarray(predictions, dtype=np.float64)
    edges = np.unique(np.round(np.quantile(preds, np.linspace(0, 1, PREDICTION_BINS + 1)), 3))
    edges[0] = 0.0
    counts, _ = np.histogram(np.clip(preds, edges[0], edges[-1]), bins=edges)
    rng = np.random.default_rng(seed)
    size = min(PREDICTION_SAMPLE_SIZE, len(preds))
    sample = rng.choice(preds, size=size, replace=False)
    return {
        "product_share": _shares(frame["item_nbr"]),
        "family_share": _shares(frame["family"]),
        "weekday_share": {str(d): round(float(weekday.get(d, 0.0)), 6) for d in range(7)},
        "promotion_rate": round(float(frame["onpromotion"].astype(bool).mean()), 6),
        "prediction_bins": [float(e) for e in edges],
        "prediction_share": [round(float(c) / len(preds), 6) for c in counts],
        "prediction_sample": [round(float(v), 3) for v in sample],
    }


def _regime_list(regime: RegimeChange | Sequence[RegimeChange] | None) -> list[dict[str, Any]]:
    if regime is None:
        return []
    items = [regime] if isinstance(regime, RegimeChange) else list(regime)
    return [r.as_dict() for r in items]


def train_model(
    *,
    seed: int = DEFAULT_SEED,
    start: date = HISTORY_START,
    end: date = HISTORY_END,
    regime: RegimeChange | Sequence[RegimeChange] | None = None,
    extra_rows: pd.DataFrame | None = None,
    params: dict[str, Any] | None = None,
    progress: bool = True,
) -> tuple[Any, dict[str, Any], pd.DataFrame]:
    """Train and evaluate without registering: ``(pipeline, card, holdout)``.

    ``holdout`` holds the holdout rows with columns ``prediction``,
    ``baseline_product_mean`` and ``baseline_seasonal_naive``.
    """
    started = time.perf_counter()
    params = dict(params or {})
    steps = tqdm(total=5, desc="Etapas", unit="etapa", disable=not progress)
    with steps:
        steps.set_postfix_str("gerando o histórico")
        history = generate_history(seed=seed, start=start, end=end, regime=regime)
        extra = prepare_extra_rows(extra_rows)
        steps.update()

        days = pd.to_datetime(history["date"])
        holdout_start = days.max() - pd.Timedelta(days=HOLDOUT_DAYS - 1)
        if days.min() > holdout_start - pd.Timedelta(days=2 * HOLDOUT_DAYS):
            raise InvalidInputError(
                "Histórico curto demais: são necessárias ao menos 24 semanas "
                f"(8 de validação); recebido de {start} a {end}."
            )
        is_holdout = (days >= holdout_start).to_numpy()
        train_part, holdout = history[~is_holdout], history[is_holdout].copy()

        steps.set_postfix_str("avaliando na validação (últimas 8 semanas)")
        evaluation = make_pipeline(**params)
        evaluation.fit(train_part, train_part["unit_sales"], regressor__progress=progress)
        holdout["prediction"] = evaluation.predict(holdout)
        holdout["baseline_product_mean"] = product_mean_baseline(train_part, holdout)
        holdout["baseline_seasonal_naive"] = seasonal_naive_baseline(history, holdout)
        steps.update()

        steps.set_postfix_str("métricas e baselines")
        y, per = holdout["unit_sales"], holdout["perishable"]
        metrics = evaluate(y, holdout["prediction"], per)
        baselines = {
            "product_mean": evaluate(y, holdout["baseline_product_mean"], per),
            "seasonal_naive": evaluate(y, holdout["baseline_seasonal_naive"], per),
        }
        steps.update()

        steps.set_postfix_str("treinando o modelo final (histórico completo)")
        data = pd.concat([history, extra], ignore_index=True) if len(extra) else history
        # Recent rows set each family's level: the extra rows when given, otherwise the last
        # four weeks of history (SalesRegressor's default for calibration=None).
        calibration = (
            np.r_[np.zeros(len(history), dtype=bool), np.ones(len(extra), dtype=bool)]
            if len(extra)
            else None
        )
        model = make_pipeline(**params)
        model.fit(
            data,
            data["unit_sales"],
            regressor__calibration=calibration,
            regressor__progress=progress,
        )
        steps.update()

        steps.set_postfix_str("perfil dos dados de treino")
        regressor = model.named_steps["regressor"]
        train_predictions = model.predict(data)
        profile = training_profile(data, train_predictions, seed)
        steps.update()

    best = min(baselines, key=lambda k: baselines[k]["nwrmsle"])
    train_days = pd.to_datetime(data["date"])
    card: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": "tendência + HistGradientBoostingRegressor em log1p(vendas) + nível por família",
        "train_start": train_days.min().date().isoformat(),
        "train_end": train_days.max().date().isoformat(),
        "holdout_start": holdout_start.date().isoformat(),
        "holdout_end": days.max().date().isoformat(),
        "features": list(FEATURE_NAMES),
        "metrics": metrics,
        "baselines": baselines,
        "best_baseline": best,
        "baseline_nwrmsle": baselines[best]["nwrmsle"],
        "seed": seed,
        "data_hash": data_hash(data),
        "rows": len(data),
        "extra_rows": len(extra),
        "regime": _regime_list(regime),
        "trend_per_year": regressor.trend_per_year(),
        "level_correction": regressor.level_correction(),
        "calibration_rows": regressor.calibration_rows_,
        "params": regressor.get_params(),
        "sklearn_version": sklearn.__version__,
        "profile": profile,
        "train_seconds": time.perf_counter() - started,
    }
    return model, card, holdout


def train_and_register(
    *,
    seed: int = DEFAULT_SEED,
    start: date = HISTORY_START,
    end: date = HISTORY_END,
    regime: RegimeChange | Sequence[RegimeChange] | None = None,
    extra_rows: pd.DataFrame | None = None,
    promote: bool = False,
    description: str | None = None,
    params: dict[str, Any] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train on the seeded history (+ ``extra_rows``), evaluate, register; optionally promote.

    ``extra_rows``: recent labelled rows (``date, item_nbr, onpromotion`` and ``unit_sales`` or
    ``actual``), e.g. curated prediction events with their actual sales. They are added to the
    training data and calibrate the per-family level, so a retrain picks up a level change
    (a :class:`~workshop.dataset.RegimeChange`) from a few dozen rows of the affected family.
    """
    started = time.perf_counter()
    model, card, holdout = train_model(
        seed=seed,
        start=start,
        end=end,
        regime=regime,
        extra_rows=extra_rows,
        params=params,
        progress=progress,
    )
    registry = Registry(settings)
    card["description"] = description
    card["train_seconds"] = round(time.perf_counter() - started, 3)
    version = registry.register(model, card)
    if promote:
        registry.promote(version)
    card = registry.card(version)
    return TrainResult(
        version=version,
        card=card,
        metrics=card["metrics"],
        baselines=card["baselines"],
        baseline_nwrmsle=card["baseline_nwrmsle"],
        train_seconds=time.perf_counter() - started,
        promoted=promote,
        model=model,
        holdout=holdout,
    )
