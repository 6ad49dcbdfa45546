"""monitoring.events pages through everything: more than 10,000 events, ties on @timestamp.

Elasticsearch (and the embedded engine) refuse ``from + size > 10000``; ``events`` must still
return every event of the window exactly once. Many events share a timestamp here, so the
``prediction_id`` tiebreaker in the sort is what keeps pages from skipping or repeating events.
The point-in-time branch (real Elasticsearch) is exercised with a recording fake client, since the
embedded engine has no PIT API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import ApiError, helpers

from workshop import monitoring

START = datetime(2034, 5, 1, tzinfo=UTC)
END = START + timedelta(hours=1)
N = 12_345


@pytest.fixture(scope="module")
def many(es):
    es.indices.delete(index="model-2034.*", ignore_unavailable=True)
    ids = [f"page-{i:05d}" for i in range(N)]
    actions = (
        {
            "_index": "model-2034.05.01",
            "_id": pid,
            "_source": {
                "@timestamp": (START + timedelta(seconds=i % 50))
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
    assert monitoring.count_events(START, END, es=es) == N
    frame = monitoring.events(START, END, es=es, columns=["@timestamp", "prediction_id"])
    assert len(frame) == N
    assert frame["prediction_id"].is_unique
    assert set(frame["prediction_id"]) == set(many)
    assert frame.attrs["pages"] == N // 5_000 + 1
    assert frame.attrs["pagination"] == "search_after"  # the embedded engine has no PIT
    ordered = frame.sort_values(["@timestamp", "prediction_id"], kind="stable")
    assert ordered["prediction_id"].tolist() == frame["prediction_id"].tolist()


def test_events_small_pages_with_ties_and_progress_bar(es, many, capsys) -> None:
    frame = monitoring.events(
        START, END, es=es, columns=["prediction_id"], page_size=997, progress=True
    )
    assert len(frame) == N and frame["prediction_id"].is_unique
    assert "Baixando eventos" in capsys.readouterr().err


def test_page_size_is_validated(es) -> None:
    with pytest.raises(monitoring.InvalidInputError, match="page_size"):
        monitoring.events(START, END, es=es, page_size=20_000)


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
        START,
        END,
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
    frame = monitoring.events(START, END, es=client, page_size=2)  # type: ignore[arg-type]
    assert len(frame) == 5
    assert frame.attrs["pagination"] == "search_after"
    assert all(call["index"] == "model-*" and "pit" not in call for call in client.calls)
    assert client.closed == []
