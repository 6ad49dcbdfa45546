"""``workshop monitor run`` / ``check`` against a real embedded engine of their own.

Known events with known latencies → the latency rule fires exactly as written, the documents are
typed by the monitoring-* template, a rerun overwrites, an engine restart in the middle of a
round loses nothing (the spool), and ``check`` exits 0 / 1 / 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import helpers

from tests.conftest import embedded_engine, free_port
from workshop import modeling, stack
from workshop.alerts import runner, store
from workshop.alerts.rules import load_rules
from workshop.config import get_settings

RULES = """
[[rule]]
name = "latencia"
description = "Latência p95 acima de 100 ms."
signal = "latency_p95"
window = "15m"
threshold = 100.0
min_n = 20
severity = "média"
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A dedicated embedded engine and WORKSHOP_HOME (this module restarts its engine)."""
    home = tmp_path_factory.mktemp("alerts-home")
    env = {
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_HOME": str(home),
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "WORKSHOP_ES_ENGINE": "embedded",
    }

    def train(settings: Any) -> None:
        modeling.train_and_register(promote=True, progress=False, settings=settings)

    with embedded_engine(env, setup=train):
        yield env


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(RULES)
    return path


def put_events(es: Any, n: int, latency: float, now: datetime, version: str) -> None:
    actions = []
    for i in range(n):
        pid = str(uuid.uuid4())
        ts = now - timedelta(minutes=5, seconds=i)
        actions.append(
            {
                "_index": f"model-{ts:%Y.%m.%d}",
                "_id": pid,
                "_source": {
                    "@timestamp": ts.isoformat().replace("+00:00", "Z"),
                    "prediction_id": pid,
                    "model_version": version,
                    "channel": "simulator",
                    "date": "2026-01-10",
                    "item_nbr": "103520",
                    "product": "Leite integral 1L",
                    "family": "LATICÍNIOS",
                    "onpromotion": False,
                    "prediction": 40.0,
                    "latency_ms": latency,
                },
            }
        )
    helpers.bulk(stack.connect(), actions, refresh=True)


def clear(es: Any) -> None:
    es.indices.delete(index="model-*,monitoring-*", ignore_unavailable=True, allow_no_indices=True)


def monitoring_docs(es: Any, kind: str) -> list[dict[str, Any]]:
    es.indices.refresh(index="monitoring-*", ignore_unavailable=True)
    resp = es.search(index="monitoring-*", query={"term": {"kind": kind}}, size=100)
    return [h["_source"] | {"_id": h["_id"]} for h in resp["hits"]["hits"]]


def test_fires_is_typed_and_a_rerun_overwrites(engine: dict[str, str], rules_file: Path) -> None:
    es = stack.connect()
    clear(es)
    version = modeling.Registry().production_version()
    now = datetime.now(UTC)
    put_events(es, 19, 500.0, now, version)  # one short of min_n
    first = runner.run_once(load_rules(rules_file), now=now)
    assert not first.firing and not first.evaluations[0].sufficient
    put_events(es, 21, 500.0, now, version)
    put_events(es, 50, 500.0, now, "outra")  # another version's events are not counted
    later = now + timedelta(seconds=1)
    fired = runner.run_once(load_rules(rules_file), now=later)
    (evaluation,) = fired.evaluations
    assert evaluation.firing and evaluation.n == 40 and evaluation.version == version
    assert [t.transition for t in fired.transitions] == ["firing"]
    again = runner.run_once(load_rules(rules_file), now=later)  # same minute: same ids
    assert again.transitions == []
    checks = monitoring_docs(es, "check")
    alerts = monitoring_docs(es, "alert")
    same_slot = store.slot_of(now) == store.slot_of(later)
    assert len(checks) == (1 if same_slot else 2) and len(alerts) == 1
    assert alerts[0]["transition"] == "firing" and alerts[0]["rule"] == "latencia"
    mapping = es.indices.get_mapping(index="monitoring-*")
    props = next(iter(mapping.values()))["mappings"]["properties"]
    assert {
        k: props[k]["type"] for k in ("rule", "version", "state", "value", "n", "threshold")
    } == {
        "rule": "keyword",
        "version": "keyword",
        "state": "keyword",
        "value": "float",
        "n": "long",
        "threshold": "float",
    }
    assert props["window_start"]["type"] == "date"


def test_an_engine_restart_mid_round_loses_nothing(
    engine: dict[str, str], rules_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    es = stack.connect()
    clear(es)
    version = modeling.Registry().production_version()
    now = datetime.now(UTC)
    put_events(es, 30, 500.0, now, version)
    real_write = store.write

    def write_after_a_crash(client: Any, actions: list, spool: store.Spool) -> Any:
        stack.embedded_down(settings)  # the engine goes away between evaluation and write
        return real_write(client, actions, spool)

    monkeypatch.setattr(store, "write", write_after_a_crash)
    lost = runner.run_once(load_rules(rules_file), now=now)
    assert lost.written == 0 and lost.spooled == 2  # the check and its "firing" alert
    monkeypatch.setattr(store, "write", real_write)
    stack.embedded_up(settings)  # empty: an in-memory engine restarts with nothing
    es = stack.connect()
    put_events(es, 30, 20.0, now, version)
    later = now + timedelta(minutes=1)
    back = runner.run_once(load_rules(rules_file), now=later)
    assert back.replayed == 2 and back.spooled == 0
    assert [t.transition for t in back.transitions] == ["resolved"]  # the spooled state counted
    ids = {d["_id"] for d in monitoring_docs(es, "check") + monitoring_docs(es, "alert")}
    assert store.evaluation_id("latencia", version, now) in ids
    assert store.evaluation_id("latencia", version, later) in ids
    assert len(store.Spool(settings)) == 0


def run_check(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", "monitor", "check", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def test_check_exit_codes(engine: dict[str, str], rules_file: Path, tmp_path: Path) -> None:
    es = stack.connect()
    clear(es)
    version = modeling.Registry().production_version()
    put_events(es, 30, 20.0, datetime.now(UTC), version)
    ok = run_check(engine, "--rules", str(rules_file))
    assert ok.returncode == 0, ok.stderr
    assert "Tudo ok." in ok.stdout and "latencia" in ok.stdout
    put_events(es, 30, 900.0, datetime.now(UTC), version)
    firing = run_check(engine, "--rules", str(rules_file), "--json")
    assert firing.returncode == 1, firing.stderr
    report = json.loads(firing.stdout.strip().splitlines()[-1])
    assert report["firing"] == 1 and report["evaluations"][0]["state"] == "firing"
    assert report["written"] == 0  # check only reads
    bad = tmp_path / "bad.toml"
    bad.write_text(RULES.replace("threshold = 100.0", 'threshold = "cem"'))
    refused = run_check(engine, "--rules", str(bad))
    assert refused.returncode == 2
    assert "regra 'latencia', campo threshold" in refused.stderr
    away = {**engine, "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}"}
    down = run_check(away, "--rules", str(rules_file))
    assert down.returncode == 2 and "Erro:" in down.stderr
