"""feedback.curation: the curation rules and the merge with the history."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from workshop import dataset, modeling
from workshop.errors import InvalidInputError
from workshop.feedback import curation, labels

MILK = dataset.product_by_name("Leite integral 1L")
SOAP = dataset.product_by_name("Sabão em pó 1kg")


def event(day: str, item: str, promo: bool, prediction: float, actual: float | None, **kw):
    return {
        "prediction_id": kw.get("pid", f"{day}-{item}-{promo}-{prediction}"),
        "date": day,
        "item_nbr": item,
        "onpromotion": promo,
        "prediction": prediction,
        "actual": actual,
        "model_version": "v1",
        "labeled_at": kw.get("labeled_at", "2026-03-01T00:00:00Z"),
    }


def test_curate_collapses_duplicates_and_keeps_one_row_per_key() -> None:
    events = pd.DataFrame(
        [event("2026-01-10", MILK.item_nbr, False, 100.0 + i, 80.0, pid=f"p{i}") for i in range(7)]
        + [event("2026-01-10", MILK.item_nbr, True, 150.0, 120.0)]  # other promo flag: other key
        + [event("2026-01-11", MILK.item_nbr, False, 90.0, 70.0)]
    )
    curated = curation.curate(events, as_of="2026-02-01")
    assert len(curated.rows) == 3
    assert curated.duplicates == 6
    assert not curated.rows.duplicated(subset=labels.KEY).any()
    assert set(curated.rows["source"]) == {curation.FEEDBACK_SOURCE}


def test_curate_drops_future_and_unlabelled_rows() -> None:
    as_of = date(2026, 2, 1)
    events = pd.DataFrame(
        [
            event("2026-01-31", MILK.item_nbr, False, 100.0, 80.0),  # last passed day: kept
            event("2026-02-01", MILK.item_nbr, False, 100.0, 81.0),  # the as_of day: future
            event("2026-03-15", SOAP.item_nbr, False, 40.0, 30.0),  # labelled but future
            event("2026-01-20", SOAP.item_nbr, False, 40.0, None),  # no label yet
        ]
    )
    curated = curation.curate(events, as_of=as_of)
    assert list(curated.rows["date"]) == [pd.Timestamp("2026-01-31")]
    assert (curated.future, curated.unlabelled) == (2, 1)
    assert (curated.rows["date"] < pd.Timestamp(as_of)).all()


def test_curate_labels_are_actuals_never_predictions() -> None:
    rng = np.random.default_rng(0)
    days = pd.date_range("2026-01-01", "2026-01-28").strftime("%Y-%m-%d")
    events = pd.DataFrame(
        [
            event(d, p.item_nbr, bool(rng.integers(2)), 10_000.0 + i, float(rng.integers(1, 90)))
            for i, (d, p) in enumerate((d, p) for d in days for p in dataset.CATALOGUE)
        ]
    )
    curated = curation.curate(events, as_of="2026-02-01")
    merged = curated.rows.merge(
        events.assign(date=pd.to_datetime(events["date"])), on=labels.KEY, how="left"
    )
    assert np.allclose(merged["unit_sales"], merged["actual"])
    assert not set(curated.rows["unit_sales"]) & set(events["prediction"])
    assert "prediction" not in curated.rows.columns


def test_curate_adds_catalogue_columns_and_drops_unknown_products() -> None:
    events = pd.DataFrame(
        [
            event("2026-01-10", MILK.item_nbr, False, 1.0, 5.0),
            event("2026-01-10", "999", False, 1, 2),
        ]
    )
    curated = curation.curate(events, as_of="2026-02-01")
    row = curated.rows.iloc[0]
    assert (row["product"], row["family"], bool(row["perishable"])) == (
        MILK.product,
        MILK.family,
        MILK.perishable,
    )
    assert curated.unknown_product == 1
    assert list(curated.rows.columns) == [*curation.TRAINING_COLUMNS, "source"]
    # the rows are valid extra training rows for the model module
    assert len(modeling.prepare_extra_rows(curated.rows)) == 1


def test_curate_history_until_drops_days_the_history_already_has() -> None:
    events = pd.DataFrame(
        [
            event("2025-12-30", MILK.item_nbr, False, 1.0, 5.0),
            event("2026-01-02", MILK.item_nbr, False, 1.0, 6.0),
        ]
    )
    curated = curation.curate(events, as_of="2026-02-01", history_until=date(2025, 12, 31))
    assert list(curated.rows["date"]) == [pd.Timestamp("2026-01-02")]
    assert curated.in_history == 1
    assert curated.to_dict()["dropped_in_history"] == 1


def test_curate_rejects_frames_without_actuals() -> None:
    with pytest.raises(InvalidInputError):
        curation.curate(pd.DataFrame({"date": [], "item_nbr": []}), as_of="2026-02-01")


def test_merge_with_history_prefers_history_and_keeps_provenance() -> None:
    history = dataset.generate_history(start=date(2025, 12, 30), end=date(2025, 12, 31))
    first = history.iloc[0]
    feedback_rows = curation.curate(
        pd.DataFrame(
            [
                event(str(first["date"].date()), first["item_nbr"], first["onpromotion"], 1, -1),
                event("2026-01-05", MILK.item_nbr, False, 1.0, 42.0),
            ]
        ),
        as_of="2026-02-01",
    ).rows
    merged = curation.merge_with_history(history, feedback_rows)
    assert len(merged) == len(history) + 1
    assert not merged.duplicated(subset=labels.KEY).any()
    overlap = merged[
        (merged["date"] == first["date"])
        & (merged["item_nbr"] == first["item_nbr"])
        & (merged["onpromotion"] == first["onpromotion"])
    ]
    assert overlap["source"].tolist() == [curation.HISTORY_SOURCE]
    assert overlap["unit_sales"].iloc[0] == first["unit_sales"]
    assert merged["source"].value_counts().to_dict() == {
        curation.HISTORY_SOURCE: len(history),
        curation.FEEDBACK_SOURCE: 1,
    }


def test_summary_dates_are_pt_br_days() -> None:
    curated = curation.Curated(
        rows=pd.DataFrame(),
        as_of=date(2026, 2, 9),
        events=5511,
        unlabelled=1,
        future=2,
        unknown_product=0,
        duplicates=3,
        in_history=4,
        since=date(2025, 12, 31),
    )
    text = curated.summary()
    assert text.startswith("5.511 eventos → 0 linhas de treino")
    assert "a partir de 09/02/2026" in text and "(até 31/12/2025)" in text
    assert "2026-02-09" not in text
