"""Unit tests of the write-ahead journal: kill -9 at any moment, the bound, health, segments."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.unit.events.fakes import FakeTransport, make_event
from workshop import events as ev
from workshop.events.journal import JournalDir, Position
from workshop.events.lines import MAX_LINE_BYTES, READ_BLOCK, parse_line
from workshop.events.schema import encode_line

EMITTER = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from tests.unit.events.fakes import FakeTransport, make_event
    from workshop import events as ev
    transport = FakeTransport()
    if sys.argv[2] == "healthy":  # delivered = fsynced to a file that outlives the process
        transport = ev.JsonlTransport(path=Path(sys.argv[1]) / "delivered.jsonl")
    elif sys.argv[2] == "hung":
        transport.gate.clear()  # every send hangs: nothing leaves the process
    elif sys.argv[2] == "refusing":
        transport.up = False
    logger = ev.EventLogger(transport, sys.argv[1], batch_size=50)
    while True:
        event = make_event()
        logger.emit(event)
        print(event.prediction_id, flush=True)  # "answered" only once emit returned
    """
)


@pytest.mark.parametrize("engine", ["healthy", "hung", "refusing"])
def test_kill_9_at_any_moment_loses_no_emitted_event(tmp_path: Path, engine: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", EMITTER, str(tmp_path), engine],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    answered: list[str] = []
    for line in child.stdout:
        answered.append(line.strip())
        if len(answered) == 3000:
            break
    child.send_signal(signal.SIGKILL)
    answered.extend(line.strip() for line in child.stdout)  # what it printed before dying
    child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    spool = ev.Spool(tmp_path)
    waiting = spool.size()
    transport = FakeTransport()
    result = ev.replay_spool(spool, transport)
    assert result.remaining == 0
    delivered = tmp_path / "delivered.jsonl"
    before = (
        {json.loads(line)["prediction_id"] for line in delivered.open()}
        if delivered.exists()
        else set()
    )
    lost = set(answered) - set(transport.ids()) - before
    assert not lost, f"{len(lost)} of {len(answered)} answered events lost"
    if engine != "healthy":
        assert waiting >= len(answered)  # nothing had left: all of it was on disk


def test_the_bound_is_counted_logged_once_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    transport = FakeTransport()
    transport.up = False
    logger = ev.EventLogger(transport, tmp_path, max_bytes=64 * 1024, retry_min=5, retry_max=5)
    caplog.set_level(logging.ERROR, logger="workshop.events.logger")
    for _ in range(1000):  # ~300 KB of events into a 64 KB journal
        logger.emit(make_event())
    stats = logger.stats()
    assert stats["overflowed"] > 0
    assert stats["queued"] + stats["overflowed"] == 1000
    assert stats["journal_bytes"] <= 64 * 1024
    assert stats["state"] == "degraded"
    assert any("diário de eventos cheio" in r for r in stats["reasons"])
    full = [r for r in caplog.records if "Diário de eventos cheio" in r.getMessage()]
    assert len(full) == 1, "a full journal must be logged once, not per event"
    logger.close(timeout=0.5)
    assert ev.Spool(tmp_path).size() == stats["queued"]


def test_health_says_degraded_when_sends_stop_succeeding(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path, stale_after=0.5, linger=0.05)
    try:
        logger.emit(make_event())
        assert logger.flush(timeout=5)
        assert logger.stats()["state"] == "ok"
        transport.gate.clear()  # the engine hangs: no error, no answer
        logger.emit(make_event())
        deadline = time.monotonic() + 10
        while logger.stats()["state"] == "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = logger.stats()
        assert stats["state"] == "degraded", stats
        assert any("nenhum envio deu certo" in r for r in stats["reasons"])
        assert stats["queued"] == 1 and stats["last_success_age_s"] is not None
        transport.gate.set()
        assert logger.flush(timeout=5)
        assert logger.stats()["state"] == "ok"
    finally:
        transport.gate.set()
        logger.close()


def test_segments_rotate_and_delivered_ones_are_deleted(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path, max_bytes=256 * 1024, batch_size=100)
    emitted = [make_event() for _ in range(3000)]  # ~900 KB through a 256 KB bound
    for start in range(0, 3000, 200):
        for event in emitted[start : start + 200]:
            logger.emit(event)
        assert logger.flush(timeout=10)
    stats = logger.stats()
    assert stats["sent"] == 3000 and stats["overflowed"] == 0
    assert stats["journal_bytes"] <= 256 * 1024
    assert len(list(logger.journal.path.glob("seg-*.jsonl"))) <= 2
    assert max(transport.ids().values()) == 1
    logger.close()
    assert not list(tmp_path.glob("journal-*")), "a delivered journal is removed at close"


def test_read_lines_returns_the_lines_as_written_and_sets_bad_ones_apart(tmp_path: Path) -> None:
    journal = ev.EventLogger(FakeTransport(), tmp_path / "spool", linger=60).journal
    ours = [make_event() for _ in range(3)]
    other_order = {"prediction_id": make_event().prediction_id, "@timestamp": "2025-01-01T00:00Z"}
    written = [encode_line(ours[0].to_document()), (json.dumps(other_order) + "\n").encode()]
    written += [b"{not json\n", b'{"no_id": 1}\n', encode_line(ours[1].to_document())]
    for data in written:
        assert journal.append(data)
    lines, bad, end = journal.read_lines(Position(1, 0), 10, journal.end())
    assert lines == [written[0], written[1], written[4]]  # byte for byte, newline included
    assert [reason for _, reason in bad] == [
        "linha corrompida no diário de eventos",
        "linha do diário não é um evento",
    ]
    docs, bad_again, end_again = journal.read_batch(Position(1, 0), 10, journal.end())
    assert [json.loads(x) for x in lines] == docs  # the same events as the parsing reader
    assert bad_again == bad and end_again == end
    few, _, middle = journal.read_lines(Position(1, 0), 2, journal.end())
    assert few == lines[:2] and middle.offset == len(written[0]) + len(written[1])


def _readline_reader(path: Path, start: Position, limit: int) -> tuple[list[Any], Position]:
    """The reader the block reader replaced (one ``readline(MAX_LINE_BYTES)`` per line), on one
    segment read to its end: the oracle of the test below."""
    items: list[Any] = []
    bad: list[tuple[str, str]] = []
    offset = start.offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        while len(items) + len(bad) < limit:
            line = fh.readline(MAX_LINE_BYTES)
            if not line:
                break
            offset += len(line)
            parse_line(line, items, bad)
    return items + bad, Position(start.seq, offset)


@pytest.mark.parametrize("seed", range(12))
def test_the_block_reader_cuts_lines_as_readline_did(tmp_path: Path, seed: int) -> None:
    """Blank lines, a carriage return inside a line, lines longer than a block and than
    MAX_LINE_BYTES, a torn last line: batch after batch, the same items and positions."""
    rng = random.Random(seed)
    pieces: list[bytes] = []
    for _ in range(rng.randint(50, 400)):
        kind = rng.random()
        if kind < 0.8:
            pieces.append(encode_line(make_event().to_document()))
        elif kind < 0.85:
            pieces.append(b"\n")
        elif kind < 0.9:
            pieces.append(b'{"prediction_id": "x\r", "n": 1}\n')
        elif kind < 0.95:
            pieces.append(b'{"long": "' + b"a" * rng.choice([READ_BLOCK + 7, 300_000]) + b'"}\n')
        else:
            pieces.append(b"{not json\n")
    if seed % 3 == 0:
        pieces.append(b"x" * (MAX_LINE_BYTES + 10) + b"\n")
    if seed % 2:
        pieces.append(encode_line(make_event().to_document())[:40])  # torn: no newline
    segment = tmp_path / "journal-x" / "seg-0000000001.jsonl"
    segment.parent.mkdir()
    segment.write_bytes(b"".join(pieces))
    journal = JournalDir(segment.parent)
    position = Position(1, 0)
    for _ in range(1000):
        limit = rng.choice([1, 3, 50, 500])
        expected, expected_end = _readline_reader(segment, position, limit)
        docs, bad, end = journal.read_batch(position, limit)
        assert docs + bad == expected and end == expected_end
        if end == position:
            break
        position = end
    assert position.offset == segment.stat().st_size


def test_a_short_write_is_finished_not_torn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """append() writes a line with one os.write; when the kernel takes less (a signal, a disk
    almost full), it writes the rest, and the line reads back whole."""
    from workshop.events import journal as journal_module

    journal = ev.EventLogger(FakeTransport(), tmp_path / "spool", linger=60).journal
    real_write = os.write
    calls: list[int] = []

    def stingy(fd: int, data: Any) -> int:
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))  # at most 7 bytes per call

    monkeypatch.setattr(journal_module.os, "write", stingy)
    line = encode_line(make_event().to_document())
    assert journal.append(line)
    monkeypatch.setattr(journal_module.os, "write", real_write)
    assert calls[0] == len(line) and len(calls) == -(-len(line) // 7)
    lines, bad, end = journal.read_lines(Position(1, 0), 10, journal.end())
    assert lines == [line] and bad == [] and end.offset == len(line)
