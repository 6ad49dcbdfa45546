"""Unit tests of workshop.events.logger: emit, batching, flush, close, the default logger."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.unit.events.fakes import FakeLineTransport, FakeTransport, make_event
from workshop import events as ev
from workshop.events.schema import encode_line


def test_emit_flush_delivers_every_event_once(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=64)
    emitted = [make_event() for _ in range(1000)]
    for event in emitted:
        logger.emit(event)
    assert logger.flush(timeout=10)
    counts = transport.ids()
    assert set(counts) == {e.prediction_id for e in emitted}
    assert max(counts.values()) == 1
    stats = logger.stats()
    assert stats["last_success"] is not None and stats["last_success_age_s"] is not None
    assert stats["journal_bytes"] >= 0 and stats["journal_max_bytes"] > 0
    for key in ("last_success", "last_success_age_s", "journal_bytes", "journal_max_bytes"):
        del stats[key]
    assert stats == {
        "transport": "fake",
        "state": "ok",
        "reasons": [],
        "sent": 1000,
        "spooled": 0,
        "replayed": 0,
        "failed": 0,
        "overflowed": 0,
        "queued": 0,
        "spool_size": 0,
        "last_error": None,
    }
    logger.close()


def test_steady_trickle_is_sent_in_batches_after_the_linger(tmp_path: Path) -> None:
    """Events emitted one by one within the linger window go out as one bulk, not one each."""
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", linger=0.5)
    try:
        emitted = [make_event() for _ in range(20)]
        for event in emitted:
            logger.emit(event)
            time.sleep(0.005)  # a steady trickle, like requests to the service
        deadline = time.monotonic() + 10
        while sum(transport.ids().values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert set(transport.ids()) == {e.prediction_id for e in emitted}
        assert transport.calls <= 2, f"{transport.calls} bulk requests for 20 events"
    finally:
        logger.close()


def _wait_delivered(transport: FakeTransport, n: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while sum(transport.ids().values()) < n and time.monotonic() < deadline:
        time.sleep(0.02)


def test_steady_traffic_waits_for_a_full_batch_a_pause_sends_at_once(tmp_path: Path) -> None:
    """Under steady traffic a batch goes when it is full (or after max_linger); when traffic
    pauses, what waits goes at the next look, without waiting for the batch to fill."""
    transport = FakeTransport()
    logger = ev.EventLogger(
        transport, tmp_path / "spool", linger=0.05, max_linger=60.0, batch_size=100
    )
    try:
        assert logger.full_batch == 100
        burst = [make_event() for _ in range(230)]
        for i, event in enumerate(burst):
            logger.emit(event)
            if i % 10 == 9:
                time.sleep(0.004)  # steady: never a whole look (50 ms) without an event
        _wait_delivered(transport, 230)
        assert sum(transport.ids().values()) == 230  # the last 30 went when traffic paused
        sizes = [len(batch) for batch in transport.batches]
        assert sizes[:2] == [100, 100], sizes  # full batches while the traffic went on
        assert sum(sizes) == 230
    finally:
        logger.close()


def test_flush_does_not_wait_for_the_linger(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", linger=30.0)
    try:
        logger.emit(make_event())
        started = time.monotonic()
        assert logger.flush(timeout=10)
        assert time.monotonic() - started < 5, "flush waited for the 30 s linger"
        assert sum(transport.ids().values()) == 1
    finally:
        logger.close(timeout=5)


def test_emit_returns_at_once_while_transport_hangs(tmp_path: Path) -> None:
    transport = FakeTransport()
    transport.gate.clear()  # every send blocks
    logger = ev.EventLogger(transport, tmp_path / "spool", queue_size=100, batch_size=10)
    started = time.monotonic()
    for _ in range(500):
        logger.emit(make_event())
    assert time.monotonic() - started < 2.0  # 500 emits never waited for the transport
    assert logger.stats()["queued"] == 500  # all on disk, none sent yet
    assert any("500 eventos esperando" in r for r in logger.stats()["reasons"])
    transport.gate.set()
    assert logger.flush(timeout=10)
    stats = logger.stats()
    assert stats["sent"] == 500 and stats["state"] == "ok"
    assert sum(transport.ids().values()) == 500
    logger.close()


def journal_ids(spool_dir: Path) -> list[str]:
    """prediction_ids in every journal segment under ``spool_dir`` (delivered or not)."""
    return [
        json.loads(line)["prediction_id"]
        for segment in sorted(spool_dir.glob("journal-*/seg-*.jsonl"))
        for line in segment.read_text().splitlines()
    ]


def test_failure_spools_then_replays_without_loss(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=20, retry_min=0.05)
    first = [make_event() for _ in range(100)]
    for event in first:
        logger.emit(event)
    assert logger.flush(timeout=5)
    transport.up = False
    down = [make_event() for _ in range(150)]
    for event in down:
        logger.emit(event)
    assert not logger.flush(timeout=2)  # transport down: events wait in the spool
    stats = logger.stats()
    assert stats["state"] == "degraded"
    assert stats["spool_size"] == 150 and stats["spooled"] == 150
    assert "down" in stats["last_error"]
    assert {e.prediction_id for e in down} <= set(journal_ids(tmp_path / "spool"))
    transport.up = True
    after = [make_event() for _ in range(50)]
    for event in after:
        logger.emit(event)
    assert logger.flush(timeout=10)
    counts = transport.ids()
    assert set(counts) == {e.prediction_id for e in first + down + after}
    assert max(counts.values()) == 1
    stats = logger.stats()
    assert stats["state"] == "ok" and stats["spool_size"] == 0
    assert stats["last_error"] is None  # cleared once the transport is back
    # events emitted while the logger still waits out its back-off also go through the spool
    assert stats["sent"] + stats["replayed"] == 300 and stats["replayed"] >= 150
    logger.close()


def test_emit_never_raises_and_bad_events_are_kept(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool")
    logger.emit(object())  # type: ignore[arg-type]
    logger.emit({"no": "id"})
    logger.emit(make_event())
    assert logger.flush(timeout=5)
    stats = logger.stats()
    assert stats["failed"] == 2 and stats["sent"] == 1
    rejected = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 2
    assert all("reason" in json.loads(line) for line in rejected)
    logger.close()


def test_close_spools_what_the_transport_did_not_take(tmp_path: Path) -> None:
    transport = FakeTransport()
    transport.gate.clear()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=10)
    emitted = [make_event() for _ in range(200)]
    for event in emitted:
        logger.emit(event)
    logger.close(timeout=0.5)  # the worker hangs in send(): everything stays on disk
    spool = ev.Spool(tmp_path / "spool")
    assert set(journal_ids(spool.dir)) == {e.prediction_id for e in emitted}
    assert spool.size() == 200
    late = make_event()
    logger.emit(late)  # after close: still kept
    assert late.prediction_id in journal_ids(spool.dir)
    assert spool.size() == 201
    transport.gate.set()
    again = FakeTransport()
    with ev.EventLogger(again, spool.dir) as next_start:
        assert next_start.flush(timeout=10)
    # the batch the hung send held may have gone out through the first transport once freed
    delivered = set(again.ids()) | set(transport.ids())
    assert delivered == {e.prediction_id for e in [*emitted, late]}
    assert spool.size() == 0


def test_next_start_replays_the_spool(tmp_path: Path) -> None:
    down = FakeTransport()
    down.up = False
    logger = ev.EventLogger(down, tmp_path / "spool")
    emitted = [make_event() for _ in range(30)]
    for event in emitted:
        logger.emit(event)
    logger.close()
    assert ev.Spool(tmp_path / "spool").size() == 30
    up = FakeTransport()
    logger = ev.EventLogger(up, tmp_path / "spool")
    assert logger.flush(timeout=5)
    assert set(up.ids()) == {e.prediction_id for e in emitted}
    assert logger.stats()["replayed"] == 30
    logger.close()


def test_a_transport_that_takes_lines_gets_the_journal_lines_untouched(tmp_path: Path) -> None:
    transport = FakeLineTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=20, retry_min=0.05)
    events = [make_event() for _ in range(30)]
    for event in events[:10]:
        logger.emit(event)
    assert logger.flush(timeout=5)
    transport.up = False  # a failed send keeps the lines and sends them again later
    for event in events[10:]:
        logger.emit(event)
    assert not logger.flush(timeout=1)
    transport.up = True
    assert logger.flush(timeout=10)
    logger.close()
    assert transport.lines == [encode_line(e.to_document()) for e in events]  # once, in order
    assert logger.stats()["sent"] + logger.stats()["replayed"] == 30
    assert logger.stats()["spooled"] == 20
