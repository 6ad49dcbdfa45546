"""Unit tests of workshop.events.spool: orphan journals, adoption by lock, replay, legacy files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from pathlib import Path

from tests.conftest import ROOT
from tests.unit.events.fakes import FakeTransport, make_event
from workshop import events as ev
from workshop.events.journal import JournalDir


def test_concurrent_replayers_send_each_line_once(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(2000)]
    transport = FakeTransport()
    results: list[ev.ReplayResult] = []

    def writer() -> None:
        for start in range(0, len(docs), 50):
            spool.append(docs[start : start + 50])

    def replayer() -> None:
        mine = ev.Spool(tmp_path)  # one Spool per replayer, as separate processes would have
        for _ in range(20):
            results.append(ev.replay_spool(mine, transport, batch_size=37))

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


def test_a_failed_replay_rewrites_nothing_and_resumes_at_its_cursor(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(100)]
    spool.append(docs)
    [journal] = spool.journals()
    segment = journal.segment_path(1)
    before = segment.stat()
    transport = FakeTransport()
    transport.up = False
    for _ in range(3):
        result = ev.replay_spool(spool, transport, batch_size=30)
        assert not result.ok and result.replayed == 0 and result.remaining == 100
    after = segment.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    transport.up = True
    ok = ev.replay_spool(spool, transport, batch_size=30)
    assert ok.ok and ok.replayed == 100 and ok.remaining == 0
    assert not journal.path.exists()


def test_torn_last_line_is_kept_as_rejected(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(10)]
    spool.append(docs)
    [journal] = spool.journals()
    with open(journal.segment_path(1), "a") as fh:
        fh.write('{"truncated": ')  # a crash in the middle of a write
    transport = FakeTransport()
    result = ev.replay_spool(spool, transport)
    assert result.replayed == 10 and result.failed == 1
    assert spool.size() == 0 and spool.rejected_count() == 1


HOLDER = textwrap.dedent(
    """
    import sys, time
    from tests.unit.events.fakes import FakeTransport, make_event
    from workshop import events as ev
    transport = FakeTransport()
    transport.up = False  # nothing leaves: everything waits in this process's journal
    logger = ev.EventLogger(transport, sys.argv[1], retry_min=5, retry_max=5)
    for _ in range(25):
        logger.emit(make_event())
    print("ready", flush=True)
    time.sleep(120)
    """
)


def test_a_claim_is_a_lock_that_dies_with_its_process(tmp_path: Path) -> None:
    """A running owner's journal is never taken (whatever its pid says); killed, it is."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        [journal] = ev.Spool(tmp_path).journals()
        # the pid in owner.json is informational only: pretend it was reused by us
        (journal.path / JournalDir.OWNER).write_text(json.dumps({"pid": os.getpid()}))
        transport = FakeTransport()
        held = ev.replay_spool(ev.Spool(tmp_path), transport)
        assert held.replayed == 0 and held.held == 25 and held.remaining == 25
        child.kill()  # kill -9: no clean-up runs, the kernel drops the lock
        child.wait(timeout=10)
        adopted = ev.replay_spool(ev.Spool(tmp_path), transport)
        assert adopted.replayed == 25 and adopted.remaining == 0 and adopted.held == 0
    finally:
        child.kill()
        child.wait(timeout=10)


def test_legacy_spool_files_are_imported_and_sent(tmp_path: Path) -> None:
    docs = [make_event().to_document() for _ in range(12)]
    lines = "".join(json.dumps(d) + "\n" for d in docs)
    (tmp_path / "events.jsonl").write_text(lines[: len(lines) // 2 + 1].rsplit("\n", 1)[0] + "\n")
    (tmp_path / "replaying-99999999-abc.jsonl").write_text(
        "".join(json.dumps(d) + "\n" for d in docs[6:])
    )
    transport = FakeTransport()
    result = ev.replay_spool(ev.Spool(tmp_path), transport)
    assert set(transport.ids()) == {d["prediction_id"] for d in docs}
    assert result.remaining == 0
    assert not list(tmp_path.glob("*.jsonl"))


def _replay_peak(directory: Path, n: int) -> int:
    spool = ev.Spool(directory)
    template = make_event().to_document()
    for start in range(0, n, 10_000):
        spool.append(
            {**template, "prediction_id": f"00000000-0000-4000-8000-{i:012d}"}
            for i in range(start, min(n, start + 10_000))
        )

    class Counting(FakeTransport):
        def send(self, docs: list[dict[str, object]]) -> ev.SendResult:
            return ev.SendResult(delivered=len(docs))

    tracemalloc.start()
    try:
        result = ev.replay_spool(spool, Counting(), batch_size=500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.replayed == n and spool.size() == 0
    return peak


def test_replay_memory_is_constant_in_the_backlog(tmp_path: Path) -> None:
    """Shipping 40,000 spooled events takes no more memory than shipping 2,000: one batch."""
    small = _replay_peak(tmp_path / "small", 2_000)
    large = _replay_peak(tmp_path / "large", 40_000)  # ~12 MB on disk
    assert large < 1.5 * small, f"peak {large} B for 40,000 events vs {small} B for 2,000"
