"""feedback: curation rules, error terms, the promotion rule, the evaluation window, scenario."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from workshop import dataset, feedback, modeling
from workshop.config import get_settings
from workshop.errors import InvalidInputError
from workshop.feedback import labels
from workshop.modeling.metrics import PERISHABLE_WEIGHT

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
    curated = feedback.curate(events, as_of="2026-02-01")
    assert len(curated.rows) == 3
    assert curated.duplicates == 6
    assert not curated.rows.duplicated(subset=feedback.KEY).any()
    assert set(curated.rows["source"]) == {feedback.FEEDBACK_SOURCE}


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
    curated = feedback.curate(events, as_of=as_of)
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
    curated = feedback.curate(events, as_of="2026-02-01")
    merged = curated.rows.merge(
        events.assign(date=pd.to_datetime(events["date"])), on=feedback.KEY, how="left"
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
    curated = feedback.curate(events, as_of="2026-02-01")
    row = curated.rows.iloc[0]
    assert (row["product"], row["family"], bool(row["perishable"])) == (
        MILK.product,
        MILK.family,
        MILK.perishable,
    )
    assert curated.unknown_product == 1
    assert list(curated.rows.columns) == [*feedback.TRAINING_COLUMNS, "source"]
    # the rows are valid extra training rows for the model module
    assert len(modeling.prepare_extra_rows(curated.rows)) == 1


def test_curate_history_until_drops_days_the_history_already_has() -> None:
    events = pd.DataFrame(
        [
            event("2025-12-30", MILK.item_nbr, False, 1.0, 5.0),
            event("2026-01-02", MILK.item_nbr, False, 1.0, 6.0),
        ]
    )
    curated = feedback.curate(events, as_of="2026-02-01", history_until=date(2025, 12, 31))
    assert list(curated.rows["date"]) == [pd.Timestamp("2026-01-02")]
    assert curated.in_history == 1
    assert curated.to_dict()["dropped_in_history"] == 1


def test_curate_rejects_frames_without_actuals() -> None:
    with pytest.raises(InvalidInputError):
        feedback.curate(pd.DataFrame({"date": [], "item_nbr": []}), as_of="2026-02-01")


def test_merge_with_history_prefers_history_and_keeps_provenance() -> None:
    history = dataset.generate_history(start=date(2025, 12, 30), end=date(2025, 12, 31))
    first = history.iloc[0]
    feedback_rows = feedback.curate(
        pd.DataFrame(
            [
                event(str(first["date"].date()), first["item_nbr"], first["onpromotion"], 1, -1),
                event("2026-01-05", MILK.item_nbr, False, 1.0, 42.0),
            ]
        ),
        as_of="2026-02-01",
    ).rows
    merged = feedback.merge_with_history(history, feedback_rows)
    assert len(merged) == len(history) + 1
    assert not merged.duplicated(subset=feedback.KEY).any()
    overlap = merged[
        (merged["date"] == first["date"])
        & (merged["item_nbr"] == first["item_nbr"])
        & (merged["onpromotion"] == first["onpromotion"])
    ]
    assert overlap["source"].tolist() == [feedback.HISTORY_SOURCE]
    assert overlap["unit_sales"].iloc[0] == first["unit_sales"]
    assert merged["source"].value_counts().to_dict() == {
        feedback.HISTORY_SOURCE: len(history),
        feedback.FEEDBACK_SOURCE: 1,
    }


def test_stored_error_terms_reproduce_nwrmsle() -> None:
    rng = np.random.default_rng(1)
    pred = rng.uniform(0, 200, 500)
    actual = rng.integers(0, 200, 500).astype(float)
    perishable = rng.integers(0, 2, 500).astype(bool)
    sq = feedback.sq_log_error(pred, actual)
    w = feedback.error_weight(perishable)
    from_terms = np.sqrt(np.sum(sq * w) / np.sum(w))
    assert from_terms == pytest.approx(modeling.nwrmsle(actual, pred, perishable), rel=1e-12)


@pytest.mark.parametrize(
    ("overall_old", "overall_new", "family_old", "family_new", "expected"),
    [
        (0.30, 0.28, 0.50, 0.30, True),  # better everywhere
        (0.30, 0.30, 0.50, 0.49, True),  # overall equal (no worse), family better
        (0.30, 0.31, 0.50, 0.30, False),  # family better but overall worse
        (0.30, 0.25, 0.50, 0.50, False),  # family not better
        (0.30, 0.25, 0.50, 0.55, False),  # family worse
        (0.30, float("nan"), 0.50, 0.30, False),  # nothing to compare
    ],
)
def test_promotion_rule(overall_old, overall_new, family_old, family_new, expected) -> None:
    assert (
        feedback.is_better(
            overall_old=overall_old,
            overall_new=overall_new,
            family_old=family_old,
            family_new=family_new,
        )
        is expected
    )


def test_comparison_window_must_follow_both_trainings() -> None:
    trained = {"v1": date(2025, 12, 31), "v2": date(2026, 2, 11)}
    feedback.check_window(date(2026, 2, 12), trained)
    for start in (date(2026, 2, 11), date(2026, 1, 15), date(2025, 12, 1)):
        with pytest.raises(feedback.FeedbackError, match="treinou com dados até"):
            feedback.check_window(start, trained)


def test_comparison_from_table() -> None:
    table = pd.DataFrame(
        {
            "n": [28, 28, 56],
            "nwrmsle_old": [0.5, 0.3, 0.41],
            "nwrmsle_new": [0.3, 0.3, 0.30],
            "mae_old": [10.0, 5.0, 7.5],
            "mae_new": [6.0, 5.0, 5.5],
        },
        index=pd.Index(["LATICÍNIOS", "LIMPEZA", feedback.OVERALL], name="family"),
    )
    comparison = feedback.Comparison(
        "v1",
        "v2",
        "LATICÍNIOS",
        date(2026, 2, 12),
        date(2026, 3, 11),
        {"v1": "2025-12-31", "v2": "2026-02-11"},
        table,
    )
    data = comparison.to_dict()
    assert comparison.better
    for key in (
        "old_version",
        "new_version",
        "family_nwrmsle_old",
        "family_nwrmsle_new",
        "overall_nwrmsle_old",
        "overall_nwrmsle_new",
        "promoted",
    ):
        assert key in data
    assert data["family_ratio"] == pytest.approx(0.6)
    assert "melhor" in data["reason"]


def test_label_actions_are_partial_updates_with_the_worlds_actuals() -> None:
    scenario = feedback.Scenario()
    hits = [
        {
            "_index": "model-2026.01.20",
            "_id": f"id{i}",
            "_source": {"date": d, "item_nbr": MILK.item_nbr, "onpromotion": p, "prediction": 50},
        }
        for i, (d, p) in enumerate([("2026-01-20", False), ("2025-12-20", True)])
    ]
    hits.append({"_index": "x", "_id": "bad", "_source": {"date": "2026-01-20", "item_nbr": "1"}})
    actions, unknown = labels._label_actions(hits, regime=scenario.regime, seed=scenario.seed)
    assert unknown == 1
    assert {a["_op_type"] for a in actions} == {"update"}
    assert all("script" not in a and set(a["doc"]) == set(feedback.LABEL_FIELDS) for a in actions)
    for action, (d, p) in zip(actions, [("2026-01-20", False), ("2025-12-20", True)], strict=True):
        truth = dataset.actuals(d, MILK.item_nbr, p, seed=scenario.seed, regime=scenario.regime)
        assert action["doc"]["actual"] == pytest.approx(truth)
        assert action["doc"]["abs_error"] == pytest.approx(abs(50 - truth))
        assert action["doc"]["error_weight"] == PERISHABLE_WEIGHT


def test_scenario_dates_and_validation(tmp_path, monkeypatch) -> None:
    scenario = feedback.Scenario()
    assert scenario.as_of == date(2026, 2, 9)
    assert scenario.traffic_start.weekday() == 0 and scenario.traffic_days % 7 == 0
    assert scenario.eval_start == scenario.as_of
    assert (scenario.eval_end - scenario.eval_start).days == scenario.eval_days - 1
    assert scenario.traffic_start < scenario.change_start < scenario.as_of
    assert scenario.regime == dataset.RegimeChange("LATICÍNIOS", date(2026, 1, 1), 0.7)
    with pytest.raises(InvalidInputError, match="Família desconhecida"):
        feedback.Scenario(family="BRINQUEDOS")
    with pytest.raises(InvalidInputError):
        feedback.Scenario(traffic_days=0)
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    settings = get_settings()
    assert feedback.load_scenario(settings) is None
    assert feedback.default_as_of(None, settings) == feedback.today_utc()
    custom = feedback.Scenario(family="BEBIDAS", factor=0.6)
    feedback.save_scenario(custom, settings)
    assert feedback.load_scenario(settings) == custom
    assert feedback.default_as_of(None, settings) == custom.as_of


def test_parse_day() -> None:
    assert feedback.parse_day("2026-01-05T10:00:00Z") == date(2026, 1, 5)
    assert feedback.parse_day(None, default=date(2026, 1, 1)) == date(2026, 1, 1)
    with pytest.raises(InvalidInputError):
        feedback.parse_day("05/01/2026")
