"""workshop.fluentd_dump: Fluentd's secondary_file dumps (msgpack [time, record]) read back."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import msgpack
import pytest

from workshop.errors import InvalidInputError
from workshop.fluentd_dump import count_jsonl, count_rejected, dump_files, read_dump


def event_time(seconds: int, nanos: int) -> msgpack.ExtType:
    """Fluentd's EventTime: msgpack ext type 0, uint32 seconds + uint32 nanoseconds (BE)."""
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def write_chunk(path: Path, entries: list[list[object]]) -> bytes:
    data = b"".join(msgpack.packb(entry, use_bin_type=True) for entry in entries)
    path.write_bytes(data)
    return data


def test_reads_event_time_and_integer_time_entries(tmp_path: Path) -> None:
    dump = tmp_path / "dump.bin.0"
    records = [{"prediction_id": f"p{i}", "@timestamp": "2026-12-01T10:00:00.000Z"} for i in (1, 2)]
    write_chunk(
        dump, [[event_time(1_764_583_200, 250_000_000), records[0]], [1_764_583_201, records[1]]]
    )
    events = list(read_dump(dump))
    assert [e.record for e in events] == records
    assert events[0].time == datetime(2025, 12, 1, 10, 0, 0, 250_000, tzinfo=UTC)
    assert events[1].time == datetime(2025, 12, 1, 10, 0, 1, tzinfo=UTC)


def test_fluent_loggers_own_event_time_is_read(tmp_path: Path) -> None:
    """The EventTime packer of fluent-logger (what the service sends) round-trips."""
    from fluent.sender import EventTime

    packed = msgpack.packb([EventTime(1_764_583_200.5), {"prediction_id": "x"}], default=None)
    dump = tmp_path / "dump.bin.1"
    dump.write_bytes(packed)
    (event,) = read_dump(dump)
    assert event.time == datetime(2025, 12, 1, 10, 0, 0, 500_000, tzinfo=UTC)


def test_a_truncated_dump_is_an_error_after_the_whole_entries(tmp_path: Path) -> None:
    dump = tmp_path / "dump.bin.2"
    data = write_chunk(dump, [[1, {"prediction_id": "a"}], [2, {"prediction_id": "b"}]])
    dump.write_bytes(data[:-3])
    seen: list[str] = []
    with pytest.raises(InvalidInputError, match="termina no meio de uma entrada"):
        seen.extend(e.record["prediction_id"] for e in read_dump(dump))
    assert seen == ["a"]


def test_a_file_that_is_not_a_chunk_is_refused_in_pt_br(tmp_path: Path) -> None:
    wrong = tmp_path / "dump.bin.3"
    wrong.write_bytes(msgpack.packb({"not": "an entry"}))
    with pytest.raises(InvalidInputError, match=r"não parece um arquivo dump\.bin do Fluentd"):
        list(read_dump(wrong))


def test_dump_files_skip_what_was_already_resent(tmp_path: Path) -> None:
    for name in ("dump.bin.1", "dump.bin.0", "dump.bin.0.resent", "other.log"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in dump_files(tmp_path)] == ["dump.bin.0", "dump.bin.1"]
    assert dump_files(tmp_path / "missing") == []


def test_counts_of_refused_documents(tmp_path: Path) -> None:
    assert count_rejected(None) is None
    assert count_rejected(tmp_path / "missing") is None
    (tmp_path / "model.prediction.20261201.log").write_text('{"a":1}\n\n{"a":2}\n')
    (tmp_path / "model.prediction.20261202.log").write_text('{"a":3}\n')
    assert count_rejected(tmp_path) == 3
    assert count_jsonl(tmp_path / "none.jsonl") == 0
