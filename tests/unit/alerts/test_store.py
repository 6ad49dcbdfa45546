"""workshop.alerts.store: deterministic ids, transitions ok → firing → resolved, the spool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workshop.alerts import store
from workshop.alerts.checks import Measurement, judge
from workshop.alerts.rules import parse_rules

NOW = datetime(2026, 3, 1, 12, 0, 42, tzinfo=UTC)
(RULE,) = parse_rules(
    {"rule": [{"name": "lat", "description": "Latência alta.", "signal": "latency_p95",
               "window": "15m", "threshold": 100, "min_n": 1, "severity": "média"}]}
).rules  # fmt: skip


def evaluation(value: float, version: str = "v1"):
    return judge(RULE, version, Measurement(value, 10), NOW - timedelta(minutes=15), NOW)


def test_index_and_ids_are_deterministic_per_minute() -> None:
    assert store.index_for(NOW) == "monitoring-2026.03.01"
    assert store.evaluation_id("lat", "v1", NOW) == "lat-v1-20260301T1200Z"
    assert store.evaluation_id("lat", "v1", NOW + timedelta(seconds=17)) == "lat-v1-20260301T1200Z"
    assert store.evaluation_id("lat", "v1", NOW + timedelta(seconds=18)) == "lat-v1-20260301T1201Z"


def test_ok_then_firing_then_resolved() -> None:
    actions, changes = store.documents([evaluation(50)], {}, NOW)
    assert [a["_source"]["kind"] for a in actions] == ["check"] and changes == []
    actions, changes = store.documents([evaluation(150)], {("lat", "v1"): "ok"}, NOW)
    assert [a["_source"]["kind"] for a in actions] == ["check", "alert"]
    alert = actions[1]
    assert alert["_id"] == "lat-v1-20260301T1200Z-firing"
    assert alert["_source"]["transition"] == "firing" and alert["_source"]["previous_state"] == "ok"
    assert [c.transition for c in changes] == ["firing"]
    _, changes = store.documents([evaluation(150)], {("lat", "v1"): "firing"}, NOW)
    assert changes == []  # still firing: no new alert document
    actions, changes = store.documents([evaluation(80)], {("lat", "v1"): "firing"}, NOW)
    assert [c.transition for c in changes] == ["resolved"]
    assert actions[1]["_source"]["state"] == "ok"


def test_a_version_that_left_production_is_resolved() -> None:
    actions, changes = store.documents([evaluation(50, "v2")], {("lat", "v1"): "firing"}, NOW)
    assert [(c.version, c.transition) for c in changes] == [("v1", "resolved")]
    assert "saiu de produção (agora: v2)" in changes[0].message
    assert actions[-1]["_id"] == "lat-v1-20260301T1200Z-resolved"


class FakeEngine:
    """Stands in for ``store._bulk``: refuses everything while ``down``, else keeps by ``_id``."""

    def __init__(self) -> None:
        self.down = True
        self.docs: dict[str, dict[str, Any]] = {}

    def bulk(self, es: Any, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.down:
            return list(actions)
        for action in actions:
            self.docs[action["_id"]] = action["_source"]
        return []


def test_the_spool_keeps_what_could_not_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine()
    monkeypatch.setattr(store, "_bulk", engine.bulk)
    spool = store.Spool(path=tmp_path / "pending.jsonl")
    actions, _ = store.documents([evaluation(150)], {}, NOW)
    outcome = store.write(None, actions, spool)
    assert (outcome.written, outcome.spooled) == (0, 2) and len(spool) == 2
    engine.down = False
    replayed = store.replay(None, spool)
    assert replayed.replayed == 2 and len(spool) == 0
    assert set(engine.docs) == {"lat-v1-20260301T1200Z", "lat-v1-20260301T1200Z-firing"}
    again = store.write(None, actions, spool)  # a resend overwrites the same ids
    assert again.written == 2 and len(engine.docs) == 2
