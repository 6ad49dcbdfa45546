"""Shared by the feedback integration tests: a private index prefix per test, synthetic events.

Each test uses its own index prefix, so it never touches the events of other tests running in
the same session.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import numpy as np
import pytest

from workshop import dataset, stack
from workshop.feedback.scenario import Scenario

AS_OF = date(2026, 2, 1)
SCENARIO = Scenario()  # dairy −30 % from 2026-01-01


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
