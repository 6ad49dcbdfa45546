"""monitoring.latest_events: newest first, limited to n, empty frame without data."""

from __future__ import annotations

from elasticsearch import helpers

from workshop import monitoring


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
