"""The synthetic grocery data: catalogue, determinism, ground truth for any day, effects, regime."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from workshop import dataset as ds
from workshop.errors import InvalidInputError


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return ds.generate_history()


def test_catalogue_has_the_exercise_products_and_enough_variety() -> None:
    names = {p.product for p in ds.CATALOGUE}
    assert {"Leite integral 1L", "Queijo muçarela 500g", "Sabão em pó 1kg"} <= names
    assert len(ds.CATALOGUE) >= 12 and len(ds.FAMILIES) >= 5
    assert len({p.item_nbr for p in ds.CATALOGUE}) == len(ds.CATALOGUE) == len(names)
    assert all(p.item_nbr.isdigit() for p in ds.CATALOGUE)
    assert {True, False} == {p.perishable for p in ds.CATALOGUE}


def test_product_lookups() -> None:
    milk = ds.product_by_item("103520")
    assert milk.product == "Leite integral 1L" and milk.family == "LATICÍNIOS" and milk.perishable
    assert ds.product_by_item(103520) is milk
    assert ds.product_by_name("  leite INTEGRAL 1l ") is milk
    assert ds.resolve_product("Leite integral 1L") is milk
    assert ds.resolve_product(milk) is milk
    with pytest.raises(InvalidInputError, match="Produto desconhecido"):
        ds.product_by_item("999999")
    with pytest.raises(InvalidInputError, match="Produto desconhecido"):
        ds.product_by_name("Caviar 50g")


def test_history_shape_and_columns(history: pd.DataFrame) -> None:
    assert list(history.columns) == ds.COLUMNS
    days = pd.to_datetime(history["date"])
    assert days.min() == pd.Timestamp("2024-01-01") and days.max() == pd.Timestamp("2025-12-31")
    assert len(history) == 731 * len(ds.CATALOGUE)
    assert not history.duplicated(["date", "item_nbr"]).any()
    sales = history["unit_sales"].to_numpy()
    assert (sales >= 0).all() and np.array_equal(sales, np.round(sales))
    first = history.iloc[0]
    product = ds.product_by_item(first["item_nbr"])
    assert (first["product"], first["family"], first["class"], first["perishable"]) == (
        product.product,
        product.family,
        product.class_,
        product.perishable,
    )


def test_same_seed_same_data_other_seed_other_data(history: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(history, ds.generate_history())
    other = ds.generate_history(seed=1)
    assert not np.array_equal(other["unit_sales"], history["unit_sales"])


def test_actuals_match_history_and_exist_after_it(history: pd.DataFrame) -> None:
    rows = history.sample(30, random_state=0)
    for row in rows.itertuples():
        value = ds.actuals(row.date.date(), row.item_nbr, row.onpromotion)
        assert value == row.unit_sales
    future = ds.actuals("2027-06-15", "103520", False)
    assert future == ds.actuals(date(2027, 6, 15), 103520, False) and future >= 0


def test_actuals_of_a_row_do_not_depend_on_the_other_rows() -> None:
    frame = pd.DataFrame(
        {
            "date": np.repeat(pd.date_range("2026-01-01", periods=20, freq="D"), 2),
            "item_nbr": ["103520", "114790"] * 20,
            "onpromotion": [False, True] * 20,
        }
    )
    whole = ds.actuals_frame(frame)
    part = ds.actuals_frame(frame.iloc[::3])
    assert np.array_equal(whole.iloc[::3].to_numpy(), part.to_numpy())


def test_promotion_never_lowers_actual_sales() -> None:
    days = pd.date_range("2026-01-01", periods=60, freq="D")
    frame = pd.DataFrame(
        {
            "date": np.repeat(days, len(ds.CATALOGUE)),
            "item_nbr": [p.item_nbr for p in ds.CATALOGUE] * len(days),
        }
    )
    off = ds.actuals_frame(frame.assign(onpromotion=False))
    on = ds.actuals_frame(frame.assign(onpromotion=True))
    stocked = off > 0
    assert (on[stocked] >= off[stocked]).all() and on.mean() > 1.3 * off.mean()


def _ratio(history: pd.DataFrame, mask: pd.Series) -> float:
    """Mean sales on ``mask`` days over mean on the other days, averaged over products."""
    by_product = history.assign(flag=mask.to_numpy()).groupby(["item_nbr", "flag"])["unit_sales"]
    means = by_product.mean().unstack()
    return float((means[True] / means[False]).mean())


def test_effects_a_retail_analyst_would_recognise(history: pd.DataFrame) -> None:
    days = pd.to_datetime(history["date"])
    plain = ~history["onpromotion"]
    h = history[plain]
    d = days[plain]
    payday = (d.dt.day == 15) | d.dt.is_month_end
    assert _ratio(h, payday) > 1.1
    assert _ratio(history, history["onpromotion"]) > 1.3
    saturday, monday = h[d.dt.day_of_week == 5], h[d.dt.day_of_week == 0]
    assert saturday["unit_sales"].mean() > 1.4 * monday["unit_sales"].mean()
    december = h[(d.dt.month == 12) & (d.dt.day.between(10, 23))]
    november = h[(d.dt.month == 11) & (d.dt.day.between(10, 23))]
    assert december["unit_sales"].mean() > 1.15 * november["unit_sales"].mean()
    holidays = pd.to_datetime(list(ds.brazil_holidays([2024, 2025])))
    assert _ratio(h, d.isin(holidays)) < 0.8
    assert h[d.dt.year == 2025]["unit_sales"].mean() > h[d.dt.year == 2024]["unit_sales"].mean()
    zeros = float((history["unit_sales"] == 0).mean())
    assert 0 < zeros < 0.01  # occasional stock-outs


def test_brazilian_holidays_come_from_the_holidays_package() -> None:
    table = ds.brazil_holidays([2025])
    assert table[date(2025, 12, 25)] == "Natal"
    assert date(2025, 4, 21) in table and date(2025, 9, 7) in table
    assert date(2025, 12, 24) not in table


def test_regime_change_moves_only_its_family_after_the_start() -> None:
    regime = ds.RegimeChange("LATICÍNIOS", date(2026, 2, 1))
    frame = pd.DataFrame(
        {
            "date": np.repeat(pd.to_datetime(["2026-01-20", "2026-02-10"]), 2),
            "item_nbr": ["103520", "114790"] * 2,
            "onpromotion": False,
        }
    )
    base = ds.expected_sales(frame).to_numpy()
    changed = ds.expected_sales(frame, regime=regime).to_numpy()
    np.testing.assert_allclose(changed / base, [1.0, 1.0, 0.7, 1.0])
    assert ds.actuals("2026-01-20", "103520", False, regime=regime) == ds.actuals(
        "2026-01-20", "103520", False
    )
    after = [
        ds.actuals(day, "103520", False, regime=regime)
        for day in pd.date_range("2026-02-01", periods=60)
    ]
    before = [ds.actuals(day, "103520", False) for day in pd.date_range("2026-02-01", periods=60)]
    assert 0.6 < np.mean(after) / np.mean(before) < 0.8
    history = ds.generate_history(start=date(2026, 1, 1), end=date(2026, 3, 1), regime=regime)
    assert (
        history["unit_sales"].sum()
        < ds.generate_history(start=date(2026, 1, 1), end=date(2026, 3, 1))["unit_sales"].sum()
    )


def test_regime_change_validation() -> None:
    with pytest.raises(InvalidInputError, match="Família desconhecida"):
        ds.RegimeChange("PEIXARIA", date(2026, 1, 1))
    with pytest.raises(InvalidInputError, match="positivo"):
        ds.RegimeChange("LATICÍNIOS", date(2026, 1, 1), factor=0)
    assert ds.RegimeChange("LATICÍNIOS", "2026-01-01").start == date(2026, 1, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-01", date(2025, 3, 1)),
        (" 2025-03-01 ", date(2025, 3, 1)),
        (date(2025, 3, 1), date(2025, 3, 1)),
        (datetime(2025, 3, 1, 13, 30), date(2025, 3, 1)),
        (pd.Timestamp("2025-03-01"), date(2025, 3, 1)),
    ],
)
def test_parse_date_accepts(value: object, expected: date) -> None:
    assert ds.parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2025-02-30", "Data inexistente"),
        ("01/03/2025", "Data inválida"),
        ("amanhã", "Data inválida"),
        ("1999-12-31", "fora do intervalo"),
        ("2101-01-01", "fora do intervalo"),
        (None, "Data inválida"),
    ],
)
def test_parse_date_rejects_in_portuguese(value: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        ds.parse_date(value)


def test_generate_history_rejects_an_inverted_range() -> None:
    with pytest.raises(InvalidInputError, match="Período inválido"):
        ds.generate_history(start=date(2025, 1, 2), end=date(2025, 1, 1))


def test_an_unknown_item_number_points_a_python_user_to_the_catalogue() -> None:
    with pytest.raises(InvalidInputError) as caught:
        ds.product_by_item(" 999999 ")
    message = str(caught.value)
    assert "item_nbr '999999'" in message and "dataset.CATALOGUE" in message
    assert "GET /api" not in message  # the HTTP API says that in its own message
