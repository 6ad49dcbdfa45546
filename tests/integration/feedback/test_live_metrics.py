"""feedback.live_metrics against the embedded engine: the aggregations match pandas."""

from __future__ import annotations

from datetime import date

import pytest
from elasticsearch import helpers

from tests.integration.feedback.conftest import AS_OF, SCENARIO, make_events
from workshop import dataset, modeling
from workshop.errors import InvalidInputError
from workshop.feedback import curation, labels, live_metrics


def test_live_error_aggregations_match_pandas(es, prefix) -> None:
    helpers.bulk(es, make_events(prefix, 400, start=date(2025, 12, 15), days=45), refresh=True)
    labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    events = curation.fetch_labelled(es=es)
    events["perishable"] = [dataset.product_by_item(i).perishable for i in events["item_nbr"]]

    by_family = live_metrics.live_error(interval=None, by="family", es=es).set_index("family")
    for family, part in events.groupby("family"):
        row = by_family.loc[family]
        assert row["n"] == len(part)
        expected = modeling.nwrmsle(part["actual"], part["prediction"], part["perishable"])
        assert row["nwrmsle"] == pytest.approx(expected, rel=1e-4)
        assert row["mae"] == pytest.approx((part["actual"] - part["prediction"]).abs().mean())

    weekly = live_metrics.live_error(interval="week", by=["family", "model_version"], es=es)
    assert list(weekly.columns[:3]) == ["period", "family", "model_version"]
    assert weekly["n"].sum() == len(events)
    assert all(p.weekday() == 0 for p in weekly["period"])  # calendar weeks start on Monday
    daily = live_metrics.live_error(
        interval="day", by=None, start="2026-01-10", end="2026-01-12", es=es
    )
    assert set(daily["period"]) <= {date(2026, 1, d) for d in (10, 11, 12)}
    overall = live_metrics.live_error(interval=None, by=None, es=es)
    assert int(overall["n"].iloc[0]) == len(events)
    assert overall["nwrmsle"].iloc[0] == pytest.approx(
        modeling.nwrmsle(events["actual"], events["prediction"], events["perishable"]), rel=1e-4
    )
    with pytest.raises(InvalidInputError):
        live_metrics.live_error(by="colour", es=es)
    # logged_since: only events logged from that moment on (make_events logs event i on
    # 2026-01-0{1 + i % 3} at 12:00 UTC, so from Jan 2 on are those with i % 3 != 0)
    since = live_metrics.live_error(
        interval=None, by=None, logged_since="2026-01-02T00:00:00", es=es
    )
    later = {pid for pid in events["prediction_id"] if int(pid.rsplit("-", 1)[1]) % 3 != 0}
    assert int(since["n"].iloc[0]) == len(later) > 0
