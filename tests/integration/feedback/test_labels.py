"""feedback.labels against the embedded engine: only passed dates, idempotent, a no-op without
events.
"""

from __future__ import annotations

from datetime import date

import pytest
from elasticsearch import helpers

from tests.integration.feedback.conftest import AS_OF, SCENARIO, get_all, make_events
from workshop import dataset
from workshop.feedback import curation, labels, live_metrics


def test_label_only_passed_dates_and_idempotent(es, prefix) -> None:
    docs = make_events(prefix, 300, start=date(2026, 1, 1), days=60)
    # one event labelled before (by someone else): it must not be rewritten
    docs[0]["_source"].update(
        {"date": "2026-01-05", "actual": 999.0, "abs_error": 1.0, "labeled_at": "2026-01-06"}
    )
    helpers.bulk(es, docs, refresh=True)
    passed = sum(1 for d in docs[1:] if date.fromisoformat(d["_source"]["date"]) < AS_OF)

    result = labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
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

    again = labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    assert (again.labelled, again.already_labelled) == (0, passed + 1)
    assert again.skipped_future == result.skipped_future
    assert get_all(es, prefix) == stored  # nothing rewritten, labeled_at unchanged

    later = labels.label_events(as_of=date(2026, 3, 15), scenario=SCENARIO, es=es)
    assert later.labelled == result.skipped_future and later.skipped_future == 0


def test_label_without_events_is_a_noop(es, prefix) -> None:
    result = labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    assert (result.labelled, result.skipped_future, result.already_labelled) == (0, 0, 0)
    assert live_metrics.live_error(es=es).empty
    assert curation.fetch_labelled(es=es).empty


def test_logged_since_labels_only_the_recent_traffic(es, prefix) -> None:
    from datetime import UTC, datetime

    docs = make_events(prefix, 90, start=date(2026, 1, 1), days=20)  # logged 2026-01-01..03
    helpers.bulk(es, docs, refresh=True)
    recent = [d for d in docs if d["_source"]["@timestamp"] >= "2026-01-03"]
    since = datetime(2026, 1, 3, tzinfo=UTC)
    result = labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es, logged_since=since)
    assert result.labelled == len(recent) and result.already_labelled == 0
    stored = get_all(es, prefix)
    assert {pid for pid, src in stored.items() if "actual" in src} == {d["_id"] for d in recent}
    rest = labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)  # no bound: the others
    assert (rest.labelled, rest.already_labelled) == (len(docs) - len(recent), len(recent))
