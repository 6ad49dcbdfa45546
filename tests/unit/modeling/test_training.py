"""Unit tests of workshop.modeling.training: targets, determinism, the card, retraining."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from workshop import dataset as ds
from workshop.errors import InvalidInputError
from workshop.modeling import (
    nwrmsle,
    prepare_extra_rows,
    train_model,
)


def test_model_beats_the_best_baseline_by_a_quarter(trained: tuple) -> None:
    _, card, holdout = trained
    assert card["metrics"]["nwrmsle"] <= 0.75 * card["baseline_nwrmsle"]
    assert card["baseline_nwrmsle"] == min(b["nwrmsle"] for b in card["baselines"].values())
    assert card["metrics"]["r2"] > 0.7
    days = pd.to_datetime(holdout["date"])
    assert days.nunique() == 56 and days.max() == pd.Timestamp("2025-12-31")
    assert card["holdout_start"] == "2025-11-06" and card["train_end"] == "2025-12-31"
    assert card["trend_per_year"] == pytest.approx(0.06, abs=0.03)


def test_same_seed_same_metrics(trained: tuple) -> None:
    _, card, _ = trained
    _, again, _ = train_model(progress=False)
    assert again["metrics"] == card["metrics"] and again["data_hash"] == card["data_hash"]
    assert again["profile"] == card["profile"]


def test_card_profile_for_drift(trained: tuple) -> None:
    _, card, _ = trained
    profile = card["profile"]
    assert set(profile["product_share"]) == {p.item_nbr for p in ds.CATALOGUE}
    assert set(profile["family_share"]) == set(ds.FAMILIES)
    assert set(profile["weekday_share"]) == {str(d) for d in range(7)}
    for key in ("product_share", "family_share", "weekday_share"):
        assert sum(profile[key].values()) == pytest.approx(1, abs=1e-4)
    assert 0.05 < profile["promotion_rate"] < 0.3
    edges = profile["prediction_bins"]
    assert edges[0] == 0 and bool(np.all(np.diff(edges) > 0))
    assert len(profile["prediction_share"]) == len(edges) - 1
    assert sum(profile["prediction_share"]) == pytest.approx(1, abs=1e-4)
    sample = profile["prediction_sample"]
    assert len(sample) == 2000 and min(sample) >= 0
    assert set(card) >= {
        "created_at",
        "train_start",
        "train_end",
        "features",
        "metrics",
        "baselines",
        "seed",
        "data_hash",
    }


def test_retrain_on_post_change_rows_learns_the_regime_change(trained: tuple) -> None:
    """A competitor opens: dairy sells 30 % less from 2026-01-05. The feedback loop labels a few
    weeks of predictions (~200 rows, ~35 of dairy) and retrains; on the following weeks the new
    model must beat the old one by at least 20 % NWRMSLE on dairy and not hurt the rest."""
    old, _, _ = trained
    regime = ds.RegimeChange("LATICÍNIOS", date(2026, 1, 5), factor=0.7)
    rng = np.random.default_rng(1)
    n = 200
    feedback = pd.DataFrame(
        {
            "date": rng.choice(pd.date_range("2026-01-05", "2026-02-01"), n),
            "item_nbr": rng.choice([p.item_nbr for p in ds.CATALOGUE], n),
            "onpromotion": rng.random(n) < 0.1,
        }
    )
    feedback["actual"] = ds.actuals_frame(feedback, regime=regime)
    new, card, _ = train_model(regime=regime, extra_rows=feedback, progress=False)
    assert card["extra_rows"] == n and card["train_end"] == "2026-02-01"
    assert card["level_correction"]["LATICÍNIOS"] < math.log(0.85)

    later = ds.generate_history(start=date(2026, 2, 2), end=date(2026, 3, 1), regime=regime)
    dairy = (later["family"] == "LATICÍNIOS").to_numpy()
    y, per = later["unit_sales"], later["perishable"]
    old_pred, new_pred = old.predict(later), new.predict(later)
    old_dairy = nwrmsle(y[dairy], old_pred[dairy], per[dairy])
    new_dairy = nwrmsle(y[dairy], new_pred[dairy], per[dairy])
    assert new_dairy <= 0.8 * old_dairy
    old_rest = nwrmsle(y[~dairy], old_pred[~dairy], per[~dairy])
    new_rest = nwrmsle(y[~dairy], new_pred[~dairy], per[~dairy])
    assert new_rest <= 1.05 * old_rest


def test_extra_rows_validation() -> None:
    good = pd.DataFrame(
        {"date": ["2026-01-10"], "item_nbr": [103520], "onpromotion": [True], "actual": [12.0]}
    )
    rows = prepare_extra_rows(good)
    assert list(rows.columns) == ds.COLUMNS
    assert rows.iloc[0]["product"] == "Leite integral 1L" and rows.iloc[0]["unit_sales"] == 12.0
    with pytest.raises(InvalidInputError, match="unit_sales"):
        prepare_extra_rows(good.drop(columns="actual"))
    with pytest.raises(InvalidInputError, match="sem venda real"):
        prepare_extra_rows(good.assign(actual=[None]))
    with pytest.raises(InvalidInputError, match="Produto desconhecido"):
        prepare_extra_rows(good.assign(item_nbr=["1"]))
