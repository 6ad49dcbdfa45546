"""feedback.retraining through the registry: compare and promote, with stand-in models in a
temporary registry (its own WORKSHOP_HOME per test).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.feedback.conftest import SCENARIO
from workshop import dataset, modeling
from workshop.config import get_settings
from workshop.feedback import retraining
from workshop.feedback.scenario import FeedbackError

LAST_TRAIN_DAY = (SCENARIO.as_of - timedelta(days=1)).isoformat()  # of a retrained version


class ExpectedSalesModel:
    """A stand-in model: predicts the store's mean demand, in a world with or without a change."""

    def __init__(self, regime: dataset.RegimeChange | None) -> None:
        self.regime = regime

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        return dataset.expected_sales(rows, regime=self.regime).to_numpy()


def register(registry: modeling.Registry, model, train_end: str) -> str:
    card = {"train_start": "2024-01-01", "train_end": train_end, "extra_rows": 0, "metrics": {}}
    return registry.register(model, card)


@pytest.fixture
def registry(tmp_path: Path, monkeypatch) -> modeling.Registry:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    return modeling.Registry(get_settings())


def test_promotes_a_better_version_and_records_the_comparison(registry) -> None:
    settings = registry.settings
    stale = register(registry, ExpectedSalesModel(None), "2025-12-31")
    adapted = register(registry, ExpectedSalesModel(SCENARIO.regime), LAST_TRAIN_DAY)
    registry.promote(stale)
    comparison = retraining.compare(
        stale, adapted, family="LATICÍNIOS", start=SCENARIO.as_of, scenario=SCENARIO,
        settings=settings,
    )  # fmt: skip
    assert comparison.window_start > date.fromisoformat(LAST_TRAIN_DAY)
    assert comparison.family_nwrmsle_new <= 0.8 * comparison.family_nwrmsle_old
    assert comparison.better
    assert retraining.promote_if_better(comparison, settings=settings)
    assert registry.production_version() == adapted
    card = registry.card(adapted)["feedback"]["comparison"]
    assert (card["old_version"], card["new_version"], card["promoted"]) == (stale, adapted, True)
    assert card["window_start"] == SCENARIO.as_of.isoformat()


def test_does_not_promote_a_worse_version(registry) -> None:
    settings = registry.settings
    adapted = register(registry, ExpectedSalesModel(SCENARIO.regime), LAST_TRAIN_DAY)
    stale = register(registry, ExpectedSalesModel(None), LAST_TRAIN_DAY)
    registry.promote(adapted)
    comparison = retraining.compare(
        adapted, stale, family="LATICÍNIOS", start=SCENARIO.as_of, scenario=SCENARIO,
        settings=settings,
    )  # fmt: skip
    assert not comparison.better
    assert not retraining.promote_if_better(comparison, settings=settings)
    assert registry.production_version() == adapted
    assert registry.card(stale)["feedback"]["comparison"]["promoted"] is False


def test_comparison_window_inside_a_training_set_is_refused(registry) -> None:
    old = register(registry, ExpectedSalesModel(None), "2025-12-31")
    new = register(registry, ExpectedSalesModel(SCENARIO.regime), LAST_TRAIN_DAY)
    with pytest.raises(FeedbackError, match=new):
        retraining.compare(
            old,
            new,
            family="LATICÍNIOS",
            start=SCENARIO.as_of - timedelta(days=7),
            scenario=SCENARIO,
            settings=registry.settings,
        )
