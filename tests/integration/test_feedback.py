"""feedback against the embedded engine: labelling, live error by aggregations, curation from
Elasticsearch, comparison and promotion through the registry.

Each test uses its own index prefix (and, where models are registered, its own WORKSHOP_HOME), so
it never touches the events or models of other tests running in the same session.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from elasticsearch import helpers

from workshop import dataset, feedback, modeling, stack
from workshop.config import get_settings
from workshop.errors import InvalidInputError

AS_OF = date(2026, 2, 1)
SCENARIO = feedback.Scenario()  # dairy −30 % from 2026-01-01
LAST_TRAIN_DAY = (SCENARIO.as_of - timedelta(days=1)).isoformat()  # of a retrained version


@pytest.fixture
def prefix(es, monkeypatch) -> str:
    """A private index prefix with the event template's mappings."""
    name = f"fbtest{uuid.uuid4().hex[:8]}"
    body = stack.load_template()
    body["index_patterns"] = [f"{name}-*"]
    es.indices.put_index_template(name=name, **body)
    monkeypatch.setenv("WORKSHOP_INDEX_PREFIX", name)
    yield name
    es.indices.delete(index=f"{name}-*", ignore_unavailable=True)
    es.indices.delete_index_template(name=name)


def make_events(prefix: str, n: int, *, start: date, days: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n):
        product = dataset.CATALOGUE[int(rng.integers(len(dataset.CATALOGUE)))]
        target = start + timedelta(days=int(rng.integers(days)))
        pid = f"{prefix}-{i:05d}"
        docs.append(
            {
                "_index": f"{prefix}-2026.01.{1 + i % 3:02d}",
                "_id": pid,
                "_source": {
                    "@timestamp": f"2026-01-{1 + i % 3:02d}T12:00:00Z",
                    "prediction_id": pid,
                    "model_version": "v1" if i % 2 else "v2",
                    "channel": "simulator",
                    "date": target.isoformat(),
                    "item_nbr": product.item_nbr,
                    "product": product.product,
                    "family": product.family,
                    "onpromotion": bool(rng.random() < 0.2),
                    "prediction": float(rng.uniform(5, 150)),
                    "latency_ms": 0.3,
                },
            }
        )
    return docs


def get_all(es, prefix: str) -> dict[str, dict]:
    es.indices.refresh(index=f"{prefix}-*")
    resp = es.search(index=f"{prefix}-*", size=10_000, query={"match_all": {}})
    return {h["_id"]: h["_source"] for h in resp["hits"]["hits"]}


def test_label_only_passed_dates_and_idempotent(es, prefix) -> None:
    docs = make_events(prefix, 300, start=date(2026, 1, 1), days=60)
    # one event labelled before (by someone else): it must not be rewritten
    docs[0]["_source"].update(
        {"date": "2026-01-05", "actual": 999.0, "abs_error": 1.0, "labeled_at": "2026-01-06"}
    )
    helpers.bulk(es, docs, refresh=True)
    passed = sum(1 for d in docs[1:] if date.fromisoformat(d["_source"]["date"]) < AS_OF)

    result = feedback.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    assert (result.labelled, result.already_labelled) == (passed, 1)
    assert result.skipped_future == len(docs) - 1 - passed
    assert result.unknown_product == 0

    stored = get_all(es, prefix)
    assert stored[docs[0]["_id"]]["actual"] == 999.0
    for pid, src in stored.items():
        target = date.fromisoformat(src["date"])
        if pid == docs[0]["_id"]:
            continue
        if target >= AS_OF:
            assert "actual" not in src and "labeled_at" not in src
            continue
        truth = dataset.actuals(
            target, src["item_nbr"], src["onpromotion"], seed=SCENARIO.seed, regime=SCENARIO.regime
        )
        assert src["actual"] == pytest.approx(truth)
        assert src["abs_error"] == pytest.approx(abs(src["prediction"] - truth), abs=1e-3)
        assert (
            src["prediction"] == next(d for d in docs if d["_id"] == pid)["_source"]["prediction"]
        )

    again = feedback.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    assert (again.labelled, again.already_labelled) == (0, passed + 1)
    assert again.skipped_future == result.skipped_future
    assert get_all(es, prefix) == stored  # nothing rewritten, labeled_at unchanged

    later = feedback.label_events(as_of=date(2026, 3, 15), scenario=SCENARIO, es=es)
    assert later.labelled == result.skipped_future and later.skipped_future == 0


def test_label_without_events_is_a_noop(es, prefix) -> None:
    result = feedback.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    assert (result.labelled, result.skipped_future, result.already_labelled) == (0, 0, 0)
    assert feedback.live_error(es=es).empty
    assert feedback.fetch_labelled(es=es).empty


def test_live_error_aggregations_match_pandas(es, prefix) -> None:
    helpers.bulk(es, make_events(prefix, 400, start=date(2025, 12, 15), days=45), refresh=True)
    feedback.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    events = feedback.fetch_labelled(es=es)
    events["perishable"] = [dataset.product_by_item(i).perishable for i in events["item_nbr"]]

    by_family = feedback.live_error(interval=None, by="family", es=es).set_index("family")
    for family, part in events.groupby("family"):
        row = by_family.loc[family]
        assert row["n"] == len(part)
        expected = modeling.nwrmsle(part["actual"], part["prediction"], part["perishable"])
        assert row["nwrmsle"] == pytest.approx(expected, rel=1e-4)
        assert row["mae"] == pytest.approx((part["actual"] - part["prediction"]).abs().mean())

    weekly = feedback.live_error(interval="week", by=["family", "model_version"], es=es)
    assert list(weekly.columns[:3]) == ["period", "family", "model_version"]
    assert weekly["n"].sum() == len(events)
    assert all(p.weekday() == 0 for p in weekly["period"])  # calendar weeks start on Monday
    daily = feedback.live_error(
        interval="day", by=None, start="2026-01-10", end="2026-01-12", es=es
    )
    assert set(daily["period"]) <= {date(2026, 1, d) for d in (10, 11, 12)}
    overall = feedback.live_error(interval=None, by=None, es=es)
    assert int(overall["n"].iloc[0]) == len(events)
    assert overall["nwrmsle"].iloc[0] == pytest.approx(
        modeling.nwrmsle(events["actual"], events["prediction"], events["perishable"]), rel=1e-4
    )
    with pytest.raises(InvalidInputError):
        feedback.live_error(by="colour", es=es)
    # logged_since: only events logged from that moment on (make_events logs event i on
    # 2026-01-0{1 + i % 3} at 12:00 UTC, so from Jan 2 on are those with i % 3 != 0)
    since = feedback.live_error(interval=None, by=None, logged_since="2026-01-02T00:00:00", es=es)
    later = {pid for pid in events["prediction_id"] if int(pid.rsplit("-", 1)[1]) % 3 != 0}
    assert int(since["n"].iloc[0]) == len(later) > 0


def test_curation_from_elasticsearch(es, prefix) -> None:
    docs = make_events(prefix, 200, start=date(2026, 1, 1), days=50)
    # the same question asked many times
    for i in range(1, 30):
        docs[i]["_source"].update({k: docs[0]["_source"][k] for k in feedback.KEY})
        docs[i]["_source"]["date"] = "2026-01-07"
    docs[0]["_source"]["date"] = "2026-01-07"
    helpers.bulk(es, docs, refresh=True)
    feedback.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    curated = feedback.curate(feedback.fetch_events(labelled_only=False, es=es), as_of=AS_OF)
    rows = curated.rows
    assert not rows.duplicated(subset=feedback.KEY).any()
    assert curated.duplicates >= 29
    assert (rows["date"] < pd.Timestamp(AS_OF)).all()
    assert curated.future == sum(1 for d in docs if d["_source"]["date"] >= AS_OF.isoformat())
    assert curated.unlabelled == 0
    truth = dataset.actuals_frame(rows, seed=SCENARIO.seed, regime=SCENARIO.regime)
    assert np.allclose(rows["unit_sales"], truth)
    predictions = {d["_source"]["prediction"] for d in docs}
    assert not set(rows["unit_sales"]) & predictions


# --------------------------------------------------------------------------- compare / promote


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
    comparison = feedback.compare(
        stale, adapted, family="LATICÍNIOS", start=SCENARIO.as_of, scenario=SCENARIO,
        settings=settings,
    )  # fmt: skip
    assert comparison.window_start > date.fromisoformat(LAST_TRAIN_DAY)
    assert comparison.family_nwrmsle_new <= 0.8 * comparison.family_nwrmsle_old
    assert comparison.better
    assert feedback.promote_if_better(comparison, settings=settings)
    assert registry.production_version() == adapted
    card = registry.card(adapted)["feedback"]["comparison"]
    assert (card["old_version"], card["new_version"], card["promoted"]) == (stale, adapted, True)
    assert card["window_start"] == SCENARIO.as_of.isoformat()


def test_does_not_promote_a_worse_version(registry) -> None:
    settings = registry.settings
    adapted = register(registry, ExpectedSalesModel(SCENARIO.regime), LAST_TRAIN_DAY)
    stale = register(registry, ExpectedSalesModel(None), LAST_TRAIN_DAY)
    registry.promote(adapted)
    comparison = feedback.compare(
        adapted, stale, family="LATICÍNIOS", start=SCENARIO.as_of, scenario=SCENARIO,
        settings=settings,
    )  # fmt: skip
    assert not comparison.better
    assert not feedback.promote_if_better(comparison, settings=settings)
    assert registry.production_version() == adapted
    assert registry.card(stale)["feedback"]["comparison"]["promoted"] is False


def test_comparison_window_inside_a_training_set_is_refused(registry) -> None:
    old = register(registry, ExpectedSalesModel(None), "2025-12-31")
    new = register(registry, ExpectedSalesModel(SCENARIO.regime), LAST_TRAIN_DAY)
    with pytest.raises(feedback.FeedbackError, match=new):
        feedback.compare(
            old,
            new,
            family="LATICÍNIOS",
            start=SCENARIO.as_of - timedelta(days=7),
            scenario=SCENARIO,
            settings=registry.settings,
        )
