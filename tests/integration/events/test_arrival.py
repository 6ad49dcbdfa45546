"""workshop.events.arrival against the embedded engine: counting, waiting, the latest documents.

A private index prefix per test keeps other tests' events out of the counts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from elasticsearch import helpers

from workshop.config import get_settings
from workshop.dataset import CATALOGUE
from workshop.events import PredictionEvent, arrival, index_name


def _index(es: Any, prefix: str, minutes: list[int], channel: str = "http") -> list[str]:
    base = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    events = [
        PredictionEvent.create(
            prediction=float(i),
            model_version="v1",
            channel=channel,
            date="2026-03-02",
            product=CATALOGUE[i % len(CATALOGUE)],
            onpromotion=False,
            latency_ms=0.1,
            timestamp=base + dt.timedelta(minutes=m),
        )
        for i, m in enumerate(minutes)
    ]
    helpers.bulk(
        es,
        [
            {
                "_index": index_name(e.timestamp, prefix),
                "_id": e.prediction_id,
                "_source": e.to_document(),
            }
            for e in events
        ],
    )
    return [e.prediction_id for e in events]


def test_count_filters_by_channel_time_and_ids(es: Any) -> None:
    prefix = f"arrival-{uuid.uuid4().hex[:8]}"
    settings = get_settings(index_prefix=prefix)
    ids = _index(es, prefix, [0, 1, 2])
    _index(es, prefix, [30], channel="simulator")
    assert arrival.count_events(es, settings=settings) == 4
    assert arrival.count_events(es, settings=settings, channel="simulator") == 1
    since = dt.datetime(2026, 3, 1, 12, 2, tzinfo=dt.UTC)
    assert arrival.count_events(es, settings=settings, since=since) == 2
    assert arrival.count_events(es, settings=settings, ids=ids[:2]) == 2


def test_wait_returns_the_count_as_soon_as_it_is_reached(es: Any) -> None:
    prefix = f"arrival-{uuid.uuid4().hex[:8]}"
    settings = get_settings(index_prefix=prefix)
    ids = _index(es, prefix, [0, 1])
    assert arrival.wait_for_events(2, ids=ids, es=es, settings=settings, timeout=10) == 2
    # never reached: the last count comes back when the timeout ends
    assert arrival.wait_for_events(3, ids=ids, es=es, settings=settings, timeout=0.5) == 2


def test_latest_documents_newest_first_with_only_the_columns(es: Any) -> None:
    prefix = f"arrival-{uuid.uuid4().hex[:8]}"
    settings = get_settings(index_prefix=prefix)
    assert arrival.latest_documents(5, es, settings=settings) == []  # no index yet
    _index(es, prefix, [5, 0, 9, 3])
    es.indices.refresh(index=settings.index_pattern)
    rows = arrival.latest_documents(3, es, columns=["@timestamp", "prediction"], settings=settings)
    assert [r["@timestamp"][11:16] for r in rows] == ["12:09", "12:05", "12:03"]
    assert all(set(r) == {"@timestamp", "prediction"} for r in rows)
    full = arrival.latest_documents(1, es, settings=settings)
    assert list(full[0]) == arrival.DISCOVER_COLUMNS
