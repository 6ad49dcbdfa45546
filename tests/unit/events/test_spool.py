"""Unit tests of workshop.events.spool: claims, replay, and what a failure puts back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from tests.unit.events.fakes import FakeTransport, make_event
from workshop import events as ev


def test_concurrent_replayers_send_each_line_once(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(2000)]
    transport = FakeTransport()
    results: list[ev.ReplayResult] = []

    def writer() -> None:
        for start in range(0, len(docs), 50):
            spool.append(docs[start : start + 50])

    def replayer() -> None:
        for _ in range(20):
            results.append(ev.replay_spool(spool, transport, batch_size=37))

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=replayer) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(ev.replay_spool(spool, transport))
    counts = transport.ids()
    assert set(counts) == {d["prediction_id"] for d in docs}
    assert max(counts.values()) == 1
    assert sum(r.replayed for r in results) == 2000
    assert spool.size() == 0


def test_replay_failure_puts_everything_back(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(100)]
    spool.append(docs[:60])
    spool.claim()  # a claim of this (live) process: left alone by the replay below
    spool.append(docs[60:])
    transport = FakeTransport()
    transport.up = False
    result = ev.replay_spool(spool, transport)
    assert not result.ok and result.replayed == 0
    assert spool.size() == 100
    assert len(list(tmp_path.glob("replaying-*.jsonl"))) == 1


def test_claims_of_dead_processes_are_adopted(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(10)]
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    orphan = tmp_path / f"replaying-{int(dead.stdout)}-abc.jsonl"
    orphan.write_text("".join(json.dumps(d) + "\n" for d in docs) + '{"truncated": ')
    transport = FakeTransport()
    result = ev.replay_spool(spool, transport)
    assert result.replayed == 10 and result.failed == 1
    assert not orphan.exists() and spool.size() == 0
    assert spool.rejected_count() == 1
