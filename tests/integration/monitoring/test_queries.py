"""workshop.monitoring.queries on the embedded engine: latest events, every event of a window
(all pages), counts.

``events`` must return every event of the window exactly once, even beyond the engine's
``from + size <= 10000`` limit and with many events sharing a timestamp: the ``prediction_id``
tiebreaker in the sort is what keeps pages from skipping or repeating events. The point-in-time
branch (real Elasticsearch) is exercised with a recording fake client, since the embedded engine
has no PIT API.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from elasticsearch import ApiError, helpers

from tests.integration.monitoring.known_events import END, START
from workshop import monitoring

PAGED_START = datetime(2034, 5, 1, tzinfo=UTC)
PAGED_END = PAGED_START + timedelta(hours=1)
N = 12_345


# --------------------------------------------------------------------------- latest events
# First in the module: "newest first" must not see the 2033/2034 events the fixtures below
# insert (module-scoped, deleted only at the end of this module).


def test_latest_events_newest_first(es) -> None:
    es.indices.delete(index="model-2031.*", ignore_unavailable=True)
    docs = [
        {
            "_index": "model-2031.01.01",
            "_id": f"ev{i}",
            "_source": {
                "@timestamp": f"2031-01-01T00:{i:02d}:00Z",
                "prediction_id": f"ev{i}",
                "product": "Leite integral 1L",
                "date": "2031-01-05",
                "prediction": float(i),
                "model_version": "v1",
                "channel": "http",
                "latency_ms": 1.0,
            },
        }
        for i in range(60)
    ]
    helpers.bulk(es, docs, refresh=True)
    frame = monitoring.latest_events(n=50, es=es)
    assert len(frame) == 50
    assert list(frame.columns) == monitoring.DISCOVER_COLUMNS
    assert frame["prediction_id"].iloc[0] == "ev59"
    assert frame["@timestamp"].is_monotonic_decreasing
    es.indices.delete(index="model-2031.*")


def test_latest_events_without_indices_is_empty(es, monkeypatch) -> None:
    monkeypatch.setenv("WORKSHOP_INDEX_PREFIX", "nothing-here")
    frame = monitoring.latest_events(n=5, es=es, columns=["@timestamp", "product"])
    assert frame.empty
    assert list(frame.columns) == ["@timestamp", "product"]


# --------------------------------------------------------------------------- events


def test_events_returns_every_event_of_the_window_across_pages(es, known) -> None:
    frame = monitoring.events(START, END, es=es, page_size=700)
    assert frame.attrs["pages"] == math.ceil(len(known) / 700)
    assert frame.attrs["pagination"] in {"pit", "search_after"}
    assert len(frame) == len(known)
    assert frame["prediction_id"].is_unique
    assert frame["@timestamp"].is_monotonic_increasing
    merged = known.merge(frame, on="prediction_id", suffixes=("", "_es"))
    assert len(merged) == len(known)
    assert (merged["item_nbr"] == merged["item_nbr_es"]).all()
    assert (merged["onpromotion"] == merged["onpromotion_es"]).all()
    assert np.allclose(merged["prediction"], merged["prediction_es"], rtol=1e-6)
    assert (pd.to_datetime(merged["@timestamp"], utc=True) == merged["@timestamp_es"]).all()


def test_events_window_bounds_are_half_open(es, known) -> None:
    middle = known["@timestamp"].iloc[1500]
    left = monitoring.events(START, middle, es=es, columns=["prediction_id"])
    right = monitoring.events(middle, END, es=es, columns=["prediction_id"])
    assert len(left) == (known["@timestamp"] < middle).sum()
    assert len(left) + len(right) == len(known)
    assert set(left["prediction_id"]).isdisjoint(right["prediction_id"])


def test_events_filters_and_count(es, known) -> None:
    frame = monitoring.events(START, END, es=es, filters={"channel": "http"})
    expected = (known["channel"] == "http").sum()
    assert len(frame) == expected
    assert monitoring.count_events(START, END, es=es, filters={"channel": "http"}) == expected
    both = monitoring.count_events(START, END, es=es, filters={"channel": ["http", "widget"]})
    assert both == known["channel"].isin(["http", "widget"]).sum()


# --------------------------------------------------------------------------- paging


@pytest.fixture(scope="module")
def many(es):
    es.indices.delete(index="model-2034.*", ignore_unavailable=True)
    ids = [f"page-{i:05d}" for i in range(N)]
    actions = (
        {
            "_index": "model-2034.05.01",
            "_id": pid,
            "_source": {
                "@timestamp": (PAGED_START + timedelta(seconds=i % 50))
                .isoformat()
                .replace("+00:00", "Z"),
                "prediction_id": pid,
                "channel": "simulator",
                "model_version": "v1",
                "prediction": float(i),
                "latency_ms": 1.0,
            },
        }
        for i, pid in enumerate(ids)
    )
    helpers.bulk(es, actions, refresh=True, chunk_size=2_000)
    yield ids
    es.indices.delete(index="model-2034.*", ignore_unavailable=True)


def test_events_returns_every_event_beyond_10000(es, many) -> None:
    assert monitoring.count_events(PAGED_START, PAGED_END, es=es) == N
    frame = monitoring.events(
        PAGED_START, PAGED_END, es=es, columns=["@timestamp", "prediction_id"]
    )
    assert len(frame) == N
    assert frame["prediction_id"].is_unique
    assert set(frame["prediction_id"]) == set(many)
    assert frame.attrs["pages"] == N // 5_000 + 1
    assert frame.attrs["pagination"] == "search_after"  # the embedded engine has no PIT
    ordered = frame.sort_values(["@timestamp", "prediction_id"], kind="stable")
    assert ordered["prediction_id"].tolist() == frame["prediction_id"].tolist()


def test_events_small_pages_with_ties_and_progress_bar(es, many, capsys) -> None:
    frame = monitoring.events(
        PAGED_START, PAGED_END, es=es, columns=["prediction_id"], page_size=997, progress=True
    )
    assert len(frame) == N and frame["prediction_id"].is_unique
    assert "Baixando eventos" in capsys.readouterr().err


def test_page_size_is_validated(es) -> None:
    with pytest.raises(monitoring.InvalidInputError, match="page_size"):
        monitoring.events(PAGED_START, PAGED_END, es=es, page_size=20_000)


class FakePitClient:
    """Enough of the client for events(): PIT open/close and search with search_after."""

    def __init__(self, docs: list[dict[str, Any]], pit: bool) -> None:
        self.docs = sorted(docs, key=lambda d: (d["@timestamp"], d["prediction_id"]))
        self.pit = pit
        self.calls: list[dict[str, Any]] = []
        self.closed: list[str] = []

    def open_point_in_time(self, **kwargs: Any) -> dict[str, str]:
        if not self.pit:
            raise ApiError("no handler found for uri [/model-*/_pit]", meta=None, body={})
        return {"id": "pit-0"}

    def close_point_in_time(self, id: str) -> None:
        self.closed.append(id)

    def search(self, **body: Any) -> dict[str, Any]:
        self.calls.append(body)
        after = tuple(body.get("search_after") or ())
        rest = [d for d in self.docs if not after or (d["@timestamp"], d["prediction_id"]) > after]
        page = rest[: body["size"]]
        hits = [{"_source": d, "sort": [d["@timestamp"], d["prediction_id"]]} for d in page]
        return {
            "pit_id": f"pit-{len(self.calls)}",
            "hits": {"total": {"value": len(self.docs)}, "hits": hits},
        }


def test_point_in_time_is_used_and_closed_when_available() -> None:
    docs = [
        {"@timestamp": f"2034-05-01T00:00:{i % 7:02d}Z", "prediction_id": f"x{i:03d}"}
        for i in range(25)
    ]
    client = FakePitClient(docs, pit=True)
    frame = monitoring.events(
        PAGED_START,
        PAGED_END,
        es=client,
        columns=["@timestamp", "prediction_id"],
        page_size=10,  # type: ignore[arg-type]
    )
    assert sorted(frame["prediction_id"]) == sorted(d["prediction_id"] for d in docs)
    assert frame.attrs["pagination"] == "pit"
    assert all("index" not in call and "pit" in call for call in client.calls)
    # each page carries the newest PIT id the previous answer returned
    assert [c["pit"]["id"] for c in client.calls] == ["pit-0", "pit-1", "pit-2"]
    assert client.closed == ["pit-3"]


def test_without_point_in_time_it_falls_back_to_search_after() -> None:
    docs = [{"@timestamp": "2034-05-01T00:00:00Z", "prediction_id": f"y{i}"} for i in range(5)]
    client = FakePitClient(docs, pit=False)
    frame = monitoring.events(PAGED_START, PAGED_END, es=client, page_size=2)  # type: ignore[arg-type]
    assert len(frame) == 5
    assert frame.attrs["pagination"] == "search_after"
    assert all(call["index"] == "model-*" and "pit" not in call for call in client.calls)
    assert client.closed == []
