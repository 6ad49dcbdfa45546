"""Fluentd's files on the fluentd-buffer volume, read in Python: dumps and refused documents.

Two kinds of events leave the pipeline for files that the service never hears of:

* ``failed/dump.bin.*``: chunks Elasticsearch did not take before Fluentd switched to
  ``<secondary>`` (``secondary_file``, infra/fluentd/fluent.conf). Each file is one buffer chunk
  written as is (``chunk.write_to``): a stream of msgpack arrays ``[time, record]``, ``time`` an
  integer (seconds) or Fluentd's ``EventTime`` (msgpack ext type 0: uint32 seconds + uint32
  nanoseconds, big-endian; fluentd ``lib/fluent/time.rb``, forward protocol spec v1). The same
  format ``fluent-binlog-reader cat`` reads (fluentd ``lib/fluent/command/binlog_reader.rb``).
* ``rejected/<tag>.<day>.log``: documents Elasticsearch refused (``@ERROR`` label, JSON lines).

:func:`read_dump` is the pure reader a resend command can be built on (every record keeps its
``prediction_id``, so resending is idempotent); :func:`count_rejected` feeds ``workshop doctor``.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgpack

from workshop.errors import InvalidInputError

DUMP_GLOB = "dump.bin*"
REJECTED_GLOB = "*.log"
EVENT_TIME_EXT = 0


@dataclass(frozen=True)
class DumpedEvent:
    """One ``[time, record]`` entry of a dump file."""

    time: datetime
    record: dict[str, Any]


def _event_time(code: int, data: bytes) -> msgpack.ExtType | datetime:
    if code == EVENT_TIME_EXT and len(data) == 8:
        seconds, nanos = struct.unpack(">II", data)
        return datetime.fromtimestamp(seconds + nanos / 1e9, tz=UTC)
    return msgpack.ExtType(code, data)


def _as_time(value: Any, path: Path, number: int) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    raise InvalidInputError(
        f"{path}: a entrada {number} não tem um horário do Fluentd (achei {type(value).__name__})."
    )


def read_dump(path: Path) -> Iterator[DumpedEvent]:
    """The events of one ``dump.bin.*`` file, in order; pt-BR :class:`InvalidInputError` when the
    file is not a Fluentd chunk or ends in the middle of an entry (nothing is yielded past it)."""
    path = Path(path)
    unpacker = msgpack.Unpacker(raw=False, ext_hook=_event_time, strict_map_key=False)
    with path.open("rb") as fh:
        number = 0
        while block := fh.read(64 * 1024):
            unpacker.feed(block)
            try:
                for entry in unpacker:
                    number += 1
                    if not (isinstance(entry, list | tuple) and len(entry) == 2):
                        raise InvalidInputError(
                            f"{path}: a entrada {number} não é [tempo, registro] — este não parece "
                            "um arquivo dump.bin do Fluentd."
                        )
                    time, record = entry
                    if not isinstance(record, dict):
                        raise InvalidInputError(f"{path}: o registro {number} não é um objeto.")
                    yield DumpedEvent(_as_time(time, path, number), record)
            except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
                if isinstance(exc, InvalidInputError):
                    raise
                raise InvalidInputError(
                    f"{path}: conteúdo inválido depois da entrada {number} ({exc})."
                ) from None
    if unpacker.tell() != path.stat().st_size:
        raise InvalidInputError(
            f"{path}: o arquivo termina no meio de uma entrada (lidas {number} entradas inteiras)."
        )


def dump_files(directory: Path) -> list[Path]:
    """The dump files of a ``failed/`` directory, oldest name first (none if it does not exist)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(DUMP_GLOB) if p.is_file() and p.suffix != ".resent")


def count_rejected(directory: Path | None) -> int | None:
    """Lines (one refused document each) in the ``rejected/`` files; ``None`` if not visible."""
    if directory is None or not Path(directory).is_dir():
        return None
    total = 0
    for path in sorted(Path(directory).rglob(REJECTED_GLOB)):
        with path.open("rb") as fh:
            total += sum(1 for line in fh if line.strip())
    return total


def count_jsonl(path: Path) -> int:
    """Non-empty lines of a JSON-lines file (0 when it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return 0
    with path.open("rb") as fh:
        return sum(1 for line in fh if line.strip())
