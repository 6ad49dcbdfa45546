"""Serve a registered model: one row in well under a millisecond, or a batch.

:class:`Predictor` loads a version once. A single prediction parses and validates the input,
assembles the feature row by lookup (:class:`workshop.features.RowFeaturizer`, built from
:func:`workshop.features.make_features`) and calls the fitted regressor on a 1×n array —
no DataFrame on the hot path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from workshop.config import Settings
from workshop.dataset import Product, parse_date, parse_flag, resolve_product
from workshop.errors import InvalidInputError, ModelNotFoundError
from workshop.features import RowFeaturizer
from workshop.modeling.registry import NO_MODEL_MESSAGE, Registry


@dataclass(frozen=True)
class Prediction:
    prediction: float
    model_version: str
    latency_ms: float


class Predictor:
    """A loaded model version that answers ``predict(date, item_nbr, onpromotion)``."""

    def __init__(self, model: Any, version: str, card: dict[str, Any] | None = None) -> None:
        self.model = model
        self.version = version
        self.card = card or {}
        self._regressor = model.named_steps["regressor"]
        self._featurizer = RowFeaturizer()
        # Compile the single-row trees now (loading happens off the request path: the service's
        # model holder loads in its own thread), not at the first prediction.
        flat_forest = getattr(self._regressor, "_flat_forest", None)
        if flat_forest is not None:
            flat_forest()

    @classmethod
    def load(cls, version: str | None = None, settings: Settings | None = None) -> Predictor:
        """Load ``version`` (None = the production version)."""
        registry = Registry(settings)
        if version is None:
            version = registry.production_version()
            if version is None:
                latest = registry.latest_version()
                if latest is None:
                    raise ModelNotFoundError(NO_MODEL_MESSAGE)
                raise ModelNotFoundError(
                    f"Nenhum modelo em produção — promova uma versão, por exemplo "
                    f"`workshop models promote {latest}`."
                )
        return cls(registry.load(version), version, registry.card(version))

    def predict(
        self, date: date | str, item_nbr: str | int | Product, onpromotion: bool
    ) -> Prediction:
        """Predicted unit sales of one product on one day."""
        started = time.perf_counter()
        day = parse_date(date)
        product = resolve_product(item_nbr)
        promo = parse_flag(onpromotion)
        row = self._featurizer.row(day, product, promo)
        value = float(self._regressor.predict(row)[0])
        latency = (time.perf_counter() - started) * 1000
        return Prediction(prediction=value, model_version=self.version, latency_ms=latency)

    def predict_batch(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows ``date, item_nbr`` (or ``product``), ``onpromotion`` → a copy with
        ``prediction`` and ``model_version`` columns added."""
        out = frame.copy()
        if "item_nbr" not in out.columns:
            if "product" not in out.columns:
                raise InvalidInputError("Informe a coluna 'item_nbr' ou 'product'.")
            out["item_nbr"] = [resolve_product(p).item_nbr for p in out["product"]]
        if len(out) == 0:
            out["prediction"] = pd.Series(dtype=np.float64)
            out["model_version"] = pd.Series(dtype=object)
            return out
        rows = out[["date", "item_nbr", "onpromotion"]].copy()
        rows["item_nbr"] = [resolve_product(i).item_nbr for i in rows["item_nbr"]]
        out["prediction"] = self.model.predict(rows)
        out["model_version"] = self.version
        return out
