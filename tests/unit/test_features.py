"""The one feature function, and the single-row path that must give identical features."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from workshop import dataset as ds
from workshop.errors import InvalidInputError
from workshop.features import FEATURE_NAMES, RowFeaturizer, feature_matrix, make_features


def _row(day: str, item: str = "103520", promo: bool = False) -> pd.Series:
    frame = pd.DataFrame({"date": [day], "item_nbr": [item], "onpromotion": [promo]})
    return make_features(frame).iloc[0]


def test_columns_and_index() -> None:
    frame = pd.DataFrame(
        {"date": ["2025-01-01", "2025-01-02"], "item_nbr": ["103520", "114790"], "onpromotion": 0},
        index=[10, 20],
    )
    features = make_features(frame)
    assert list(features.columns) == FEATURE_NAMES
    assert list(features.index) == [10, 20]
    assert feature_matrix(frame).shape == (2, len(FEATURE_NAMES))


def test_calendar_values() -> None:
    christmas_eve = _row("2025-12-24")
    assert christmas_eve["dayofweek"] == 2  # Wednesday (Monday = 0)
    assert (christmas_eve["holiday"], christmas_eve["holiday_eve"]) == (0, 1)
    assert _row("2025-12-25")["holiday"] == 1
    assert _row("2025-01-15")["payday"] == 1 and _row("2025-02-28")["payday"] == 1
    assert _row("2024-02-28")["payday"] == 0 and _row("2024-02-29")["payday"] == 1
    assert _row("2025-01-16")["after_payday"] == 1 and _row("2025-02-01")["after_payday"] == 1
    assert _row("2025-01-17")[["payday", "after_payday"]].sum() == 0
    assert _row("2024-01-01")["days_since_start"] == 0
    assert _row("2025-01-01")["days_since_start"] == 366
    assert _row("2025-03-01")[["day", "month", "dayofyear"]].tolist() == [1, 3, 60]


def test_product_and_promotion_values() -> None:
    soap = ds.product_by_item("114790")
    row = _row("2025-03-01", soap.item_nbr, True)
    assert row["onpromotion"] == 1 and row["perishable"] == 0 and row["class"] == soap.class_
    assert row["family"] == ds.FAMILIES.index(soap.family)
    assert row["item"] == [p.item_nbr for p in ds.CATALOGUE].index(soap.item_nbr)


def test_date_types_are_equivalent() -> None:
    as_text = _row("2025-06-13")
    assert as_text.equals(_row(date(2025, 6, 13)))  # type: ignore[arg-type]
    assert as_text.equals(_row(pd.Timestamp("2025-06-13")))  # type: ignore[arg-type]
    frame = pd.DataFrame(
        {"date": pd.to_datetime(["2025-06-13"]), "item_nbr": ["103520"], "onpromotion": [False]}
    )
    assert make_features(frame).iloc[0].equals(as_text)


def test_training_and_serving_features_are_identical() -> None:
    """The service's single-row path (RowFeaturizer) equals make_features row by row, for days
    inside the preloaded range and outside it (computed on demand)."""
    rng = np.random.default_rng(0)
    days = list(pd.date_range("2023-06-01", "2027-12-31").date)
    days += [date(2001, 2, 28), date(2099, 12, 31), date(2031, 1, 1)]
    picks = [days[i] for i in rng.integers(0, len(days), 400)] + days[-3:]
    products = [ds.CATALOGUE[i] for i in rng.integers(0, len(ds.CATALOGUE), len(picks))]
    promos = rng.random(len(picks)) < 0.5
    frame = pd.DataFrame(
        {"date": picks, "item_nbr": [p.item_nbr for p in products], "onpromotion": promos}
    )
    training = feature_matrix(frame)
    featurizer = RowFeaturizer()
    serving = np.vstack(
        [
            featurizer.row(day, product, bool(promo))
            for day, product, promo in zip(picks, products, promos, strict=True)
        ]
    )
    np.testing.assert_array_equal(serving, training)


def test_flags_accept_bool_int_and_text() -> None:
    frame = pd.DataFrame(
        {"date": ["2025-01-01"] * 4, "item_nbr": ["103520"] * 4, "onpromotion": [1, 0, 1, 0]}
    )
    assert make_features(frame)["onpromotion"].tolist() == [1, 0, 1, 0]
    frame["onpromotion"] = ["sim", "não", "true", "False"]
    assert make_features(frame)["onpromotion"].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("date", "2025-02-30", "Data inválida"),
        ("date", "ontem", "Data inválida"),
        ("date", None, "Data inválida"),
        ("date", "1999-01-01", "fora do intervalo"),
        ("item_nbr", "42", "Produto desconhecido"),
        ("onpromotion", "talvez", "onpromotion"),
        ("onpromotion", None, "onpromotion"),
    ],
)
def test_bad_input_raises_in_portuguese(column: str, value: object, message: str) -> None:
    frame = pd.DataFrame(
        {"date": ["2025-01-01", "2025-01-02"], "item_nbr": ["103520"] * 2, "onpromotion": [0, 1]}
    ).astype(object)
    frame.loc[1, column] = value
    with pytest.raises(InvalidInputError, match=message):
        make_features(frame)


def test_missing_column() -> None:
    with pytest.raises(InvalidInputError, match="onpromotion"):
        make_features(pd.DataFrame({"date": ["2025-01-01"], "item_nbr": ["103520"]}))
