"""Metric, baselines, training targets, determinism, the regime retrain, the Predictor."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from workshop import dataset as ds
from workshop.config import get_settings
from workshop.errors import InvalidInputError
from workshop.modeling import (
    Predictor,
    evaluate,
    nwrmsle,
    prepare_extra_rows,
    product_mean_baseline,
    seasonal_naive_baseline,
    train_model,
)


def test_nwrmsle_hand_computed_example() -> None:
    # actual 0, 10, 3; predicted 1, 8, -2 (clipped to 0); the first item is perishable.
    #   ln(2) - ln(1) = 0.693147, ln(9) - ln(11) = -0.200671, ln(1) - ln(4) = -1.386294
    #   (1.25·0.480453 + 0.040269 + 1.921812) / 3.25 = 0.788507  →  sqrt = 0.887979
    value = nwrmsle([0, 10, 3], [1, 8, -2], [True, False, False])
    assert value == pytest.approx(0.8879790453, abs=1e-9)


def test_nwrmsle_properties() -> None:
    assert nwrmsle([5, 7], [5, 7], [True, False]) == 0.0
    # Relative: missing half of 20 costs about as much as missing half of 200.
    small = nwrmsle([20], [10], [False])
    big = nwrmsle([200], [100], [False])
    assert small == pytest.approx(big, rel=0.1)
    # Negative actuals (returns) count as zero.
    assert nwrmsle([-3], [0], [False]) == 0.0
    # Perishable errors weigh more.
    assert nwrmsle([10, 10], [20, 10], [True, False]) > nwrmsle([10, 10], [20, 10], [False, False])
    with pytest.raises(InvalidInputError):
        nwrmsle([1, 2], [1], [True, False])
    with pytest.raises(InvalidInputError):
        nwrmsle([], [], [])


def test_evaluate_adds_mae_and_r2() -> None:
    metrics = evaluate([1, 2, 3, 4], [1, 2, 3, 5], [False] * 4)
    assert metrics["mae"] == pytest.approx(0.25)
    assert metrics["r2"] == pytest.approx(1 - 1 / 5)
    assert set(metrics) == {"nwrmsle", "mae", "r2"}


def test_baselines() -> None:
    history = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-08", "2025-01-01"]),
            "item_nbr": ["1", "1", "1", "2"],
            "unit_sales": [10.0, 20.0, 30.0, 5.0],
        }
    )
    target = pd.DataFrame(
        {"date": pd.to_datetime(["2025-01-08", "2025-01-09"]), "item_nbr": ["1", "2"]}
    )
    mean = product_mean_baseline(history.iloc[:2], target)
    assert mean.tolist() == [15.0, 15.0]  # product 2 unseen in training → the overall mean
    naive = seasonal_naive_baseline(history, target)
    assert naive.iloc[0] == 10.0  # the same weekday one week earlier
    assert naive.iloc[1] == 5.0  # no row a week earlier → the product's mean


@pytest.fixture(scope="module")
def trained() -> tuple[object, dict, pd.DataFrame]:
    return train_model(progress=False)


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


def test_predictor_single_rows_equal_the_pipeline(trained: tuple) -> None:
    model, card, _ = trained
    predictor = Predictor(model, "v1", card)
    frame = pd.DataFrame(
        {
            "date": ["2026-01-03", "2026-03-15", "2025-12-24", "2030-06-01"],
            "item_nbr": ["103520", "114790", "165718", "153239"],
            "onpromotion": [True, False, False, True],
        }
    )
    batch = predictor.predict_batch(frame)
    np.testing.assert_allclose(batch["prediction"], model.predict(frame))  # type: ignore[attr-defined]
    assert (batch["model_version"] == "v1").all()
    for row, expected in zip(frame.itertuples(), batch["prediction"], strict=True):
        result = predictor.predict(row.date, row.item_nbr, row.onpromotion)
        assert result.prediction == pytest.approx(expected, rel=1e-12)
        assert result.model_version == "v1" and result.latency_ms > 0
    by_name = predictor.predict_batch(
        pd.DataFrame({"date": ["2026-01-03"], "product": ["Leite integral 1L"], "onpromotion": [1]})
    )
    assert by_name["prediction"].iloc[0] == pytest.approx(batch["prediction"].iloc[0])
    # Promotion raises the forecast; Saturday beats Monday.
    assert (
        predictor.predict("2026-03-07", "103520", True).prediction
        > predictor.predict("2026-03-07", "103520", False).prediction
    )
    assert (
        predictor.predict("2026-03-07", "103520", False).prediction
        > predictor.predict("2026-03-09", "103520", False).prediction
    )


@pytest.mark.parametrize(
    ("day", "item", "message"),
    [
        ("2026-02-30", "103520", "Data inexistente"),
        ("30/01/2026", "103520", "Data inválida"),
        ("1850-01-01", "103520", "fora do intervalo"),
        ("2026-01-10", "999", "Produto desconhecido"),
        ("2026-01-10", "Caviar", "Produto desconhecido"),
    ],
)
def test_predictor_rejects_bad_input(trained: tuple, day: str, item: str, message: str) -> None:
    model, card, _ = trained
    predictor = Predictor(model, "v1", card)
    with pytest.raises(InvalidInputError, match=message):
        predictor.predict(day, item, False)


def test_predictor_load_without_models(tmp_path) -> None:
    from workshop.errors import ModelNotFoundError

    settings = get_settings(home=tmp_path)
    with pytest.raises(ModelNotFoundError) as info:
        Predictor.load(settings=settings)
    assert str(info.value) == "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"
