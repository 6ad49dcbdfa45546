"""The write-ahead journal: every answered event is on disk before its response goes out.

A journal is a directory ``$WORKSHOP_HOME/spool/journal-<id>/`` holding numbered segments
(``seg-0000000001.jsonl``, one JSON line per event) and a ``cursor`` (segment and byte offset up
to which everything was delivered). :class:`Journal` is the writing side, owned by one
:class:`~workshop.events.EventLogger`: ``append`` is one ``os.write`` of one line (in the page
cache at once, so a killed process loses nothing), and a background thread ``fsync``s the
segment every ``fsync_interval`` seconds while there is something new (a *group* fsync: what a
machine crash can lose is the last interval). The worker reads batches from the journal
(:meth:`JournalDir.read_batch`), sends them, and records its progress in the cursor; shipped
segments are deleted. A journal that outlives its process is an *orphan*, adopted and shipped by
the next logger or by ``workshop events replay``.

Ownership is an exclusive ``flock`` on ``owner.lock``, held for the life of the owner: the kernel
releases it when the process dies, however it dies, so a claim can never outlive its owner (a
pid can be reused; a lock cannot). ``owner.json`` (pid, start time) is for people only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from workshop.events.lines import MAX_LINE_BYTES, READ_BLOCK, keep_line, parse_line, take_lines
from workshop.events.schema import Document

SEGMENT_PREFIX = "seg-"
SEGMENT_SUFFIX = ".jsonl"
JOURNAL_PREFIX = "journal-"
DEFAULT_SEGMENT_BYTES = 4 << 20  # freed a segment at a time: small enough to free space soon
DEFAULT_FSYNC_INTERVAL_S = 0.1


class Position(NamedTuple):
    """A place in a journal: segment number and byte offset in it."""

    seq: int
    offset: int


# --------------------------------------------------------------------------- file locks

try:
    import fcntl

    def try_lock(path: Path, create: bool = True) -> int | None:
        """Open ``path`` and take an exclusive lock without waiting; the fd, or None if held
        (or missing, with ``create=False``)."""
        try:
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def lock_wait(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def try_lock(path: Path, create: bool = True) -> int | None:
        try:
            fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o644)
        except FileNotFoundError:
            return None
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            os.close(fd)
            return None
        return fd

    def lock_wait(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]


def _same_file(fd: int, path: Path) -> bool:
    """The lock we hold is still the file at ``path`` (not one a finished owner unlinked)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- reading side


class JournalDir:
    """A journal directory on disk: its segments, its cursor, and batches read from it."""

    LOCK = "owner.lock"
    OWNER = "owner.json"
    CURSOR = "cursor"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_fd: int | None = None
        self._counts: dict[tuple[int, int], tuple[int, int]] = {}  # (seq, offset) → size, lines

    def segment_path(self, seq: int) -> Path:
        return self.path / f"{SEGMENT_PREFIX}{seq:010d}{SEGMENT_SUFFIX}"

    def segments(self) -> list[int]:
        """Segment numbers on disk, oldest first."""
        found: list[int] = []
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.path):
                name = entry.name
                if name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX):
                    with contextlib.suppress(ValueError):
                        found.append(int(name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]))
        return sorted(found)

    # -- ownership
    def try_adopt(self) -> bool:
        """Take the owner lock if nobody holds it (the owner died or closed); True if taken."""
        fd = try_lock(self.path / self.LOCK)
        if fd is None:
            return False
        if not _same_file(fd, self.path / self.LOCK):  # emptied and removed meanwhile
            os.close(fd)
            return False
        self.lock_fd = fd
        return True

    def is_owned_elsewhere(self) -> bool:
        """Someone (another process, or another logger here) holds the owner lock right now."""
        if self.lock_fd is not None:
            return False
        fd = try_lock(self.path / self.LOCK, create=False)
        if fd is None:
            return (self.path / self.LOCK).exists()
        os.close(fd)
        return False

    def release(self) -> None:
        fd, self.lock_fd = self.lock_fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def owner(self) -> dict[str, object]:
        try:
            data = json.loads((self.path / self.OWNER).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    # -- progress
    def read_cursor(self) -> Position:
        try:
            seq, offset = (self.path / self.CURSOR).read_text().split()
            return Position(int(seq), int(offset))
        except (OSError, ValueError):
            # no cursor (nothing delivered yet) or a torn one: start over; resends are harmless
            segments = self.segments()
            return Position(segments[0] if segments else 1, 0)

    def write_cursor(self, position: Position) -> None:
        """Record progress (no fsync: a lost update only means a harmless resend)."""
        tmp = self.path / f".{self.CURSOR}.tmp"
        tmp.write_text(f"{position.seq} {position.offset}\n")
        os.replace(tmp, self.path / self.CURSOR)

    def prune(self, before_seq: int) -> int:
        """Delete segments wholly before ``before_seq``; returns the bytes freed."""
        freed = 0
        for seq in self.segments():
            if seq >= before_seq:
                break
            path = self.segment_path(seq)
            with contextlib.suppress(OSError):
                freed += path.stat().st_size
                path.unlink()
        return freed

    def remove(self) -> None:
        """Delete the whole (delivered) journal; the lock goes last, while still held."""
        for seq in self.segments():
            self.segment_path(seq).unlink(missing_ok=True)
        for name in (self.CURSOR, f".{self.CURSOR}.tmp", self.OWNER, self.LOCK):
            (self.path / name).unlink(missing_ok=True)
        self.release()
        with contextlib.suppress(OSError):
            self.path.rmdir()

    # -- reading
    def read_batch(
        self, start: Position, limit: int, end: Position | None = None
    ) -> tuple[list[Document], list[tuple[str, str]], Position]:
        """Up to ``limit`` documents from ``start``; lines that are not events come back apart.

        ``end`` (the writer's complete end) stops the read inside the segment being written;
        without it every segment is read to its end, and a last line without its newline (a
        crash mid-write) is returned as a bad line. Memory: one batch, whatever the backlog.
        """
        docs: list[Document] = []
        bad: list[tuple[str, str]] = []
        return docs, bad, self._read(start, limit, end, parse_line, docs, bad)

    def read_lines(
        self, start: Position, limit: int, end: Position | None = None
    ) -> tuple[list[bytes], list[tuple[str, str]], Position]:
        """:meth:`read_batch` without decoding: the event lines as written (newline included),
        for a transport that sends them as they are (``send_lines``). A line is kept when
        :func:`~workshop.events.schema.line_key` recognises it or, failing that, when it parses
        as an event; the others come back apart, as in :meth:`read_batch`."""
        lines: list[bytes] = []
        bad: list[tuple[str, str]] = []
        return lines, bad, self._read(start, limit, end, keep_line, lines, bad)

    def _read(
        self,
        start: Position,
        limit: int,
        end: Position | None,
        take: Callable[[bytes, list[Any], list[tuple[str, str]]], None],
        docs: list[Any],
        bad: list[tuple[str, str]],
    ) -> Position:
        seq, offset = start
        while len(docs) + len(bad) < limit:
            stop = end.offset if end is not None and seq == end.seq else None
            if stop is not None and offset >= stop:
                break
            try:
                fh = open(self.segment_path(seq), "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                later = [s for s in self.segments() if s > seq]
                if not later or (end is not None and seq >= end.seq):
                    break
                seq, offset = later[0], 0
                continue
            with fh:
                size = READ_BLOCK
                while len(docs) + len(bad) < limit:
                    want = size if stop is None else min(size, stop - offset)
                    if want <= 0:
                        break
                    fh.seek(offset)
                    block = fh.read(want)
                    if want == size == len(block) < MAX_LINE_BYTES and b"\n" not in block:
                        size = MAX_LINE_BYTES  # a line longer than a block: read it whole
                        continue
                    size = READ_BLOCK
                    at_end = len(block) < want
                    offset, more = take_lines(block, at_end, offset, limit, take, docs, bad)
                    if not more:
                        break
                else:
                    return Position(seq, offset)
            if stop is not None:
                break
            later = [s for s in self.segments() if s > seq]
            if not later:
                break
            seq, offset = later[0], 0
        return Position(seq, offset)

    def backlog(self) -> tuple[int, int]:
        """Events and bytes not yet delivered (from the cursor on), counted in blocks."""
        cursor = self.read_cursor()
        events = size = 0
        for seq in self.segments():
            if seq < cursor.seq:
                continue
            offset = cursor.offset if seq == cursor.seq else 0
            path = self.segment_path(seq)
            try:
                total = path.stat().st_size
            except OSError:
                continue
            cached = self._counts.get((seq, offset))
            if cached and cached[0] == total:
                lines = cached[1]
            else:
                lines = _count_lines(path, offset)
                self._counts = {k: v for k, v in self._counts.items() if k[0] != seq}
                self._counts[(seq, offset)] = (total, lines)
            events += lines
            size += max(0, total - offset)
        return events, size


def _count_lines(path: Path, offset: int) -> int:
    count = 0
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        fh.seek(offset)
        for block in iter(lambda: fh.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def journals(spool_dir: Path) -> Iterator[JournalDir]:
    """Every journal directory under ``spool_dir`` (owned or not)."""
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(spool_dir), key=lambda e: e.name):
            if entry.name.startswith(JOURNAL_PREFIX) and entry.is_dir():
                yield JournalDir(Path(entry.path))


# --------------------------------------------------------------------------- writing side


class Journal(JournalDir):
    """The journal a logger writes to: created locked, one ``os.write`` per event.

    ``max_bytes`` bounds the undelivered bytes on disk; ``append`` refuses (returns False) past
    it, and the logger counts the event as ``overflowed``.
    """

    def __init__(
        self,
        spool_dir: Path,
        *,
        max_bytes: int,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL_S,
    ) -> None:
        spool_dir = Path(spool_dir)
        spool_dir.mkdir(parents=True, exist_ok=True)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        # Created under a temporary name and locked before it becomes visible as journal-*,
        # so nobody can adopt it as an orphan in between.
        staging = spool_dir / f".new-{name}"
        staging.mkdir()
        fd = try_lock(staging / self.LOCK)
        if fd is None:  # pragma: no cover - a fresh directory is never locked
            raise OSError(f"não consegui travar {staging}")
        (staging / self.OWNER).write_text(
            json.dumps({"pid": os.getpid(), "started": dt.datetime.now(dt.UTC).isoformat()})
        )
        super().__init__(spool_dir / f"{JOURNAL_PREFIX}{name}")
        os.rename(staging, self.path)
        _fsync_dir(spool_dir)
        self.lock_fd = fd
        self.max_bytes = max_bytes
        self.segment_bytes = max(4096, min(segment_bytes, max_bytes // 4 or 4096))
        self.fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._seq = 1
        self._seg_size = 0
        self._fd = self._open_segment(self._seq)
        self._disk_bytes = 0  # bytes of segments not yet pruned
        self.reserved_bytes = 0  # room taken by other journals (orphans) under the same bound
        self.written = 0
        self._dirty = False
        self._retired: list[int] = []  # fds of full segments: fsynced and closed by the syncer
        self._new_files = True
        self._closed = False
        self._wake = threading.Event()
        self._syncer = threading.Thread(target=self._run_syncer, name="event-journal-sync")
        self._syncer.daemon = True
        self._syncer.start()

    def _open_segment(self, seq: int) -> int:
        return os.open(self.segment_path(seq), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, data: bytes) -> bool:
        """Write one event line; False when the bound is reached (nothing written)."""
        with self._lock:
            if self._closed:
                raise OSError("diário fechado")
            if self._disk_bytes + self.reserved_bytes + len(data) > self.max_bytes:
                return False
            if self._seg_size and self._seg_size + len(data) > self.segment_bytes:
                self._retired.append(self._fd)
                self._seq += 1
                self._fd = self._open_segment(self._seq)
                self._seg_size = 0
                self._new_files = True
            written = os.write(self._fd, data)  # one call: a regular file takes it whole
            if written < len(data):  # a short write (a signal, a full disk): write the rest
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
            self._seg_size += len(data)
            self._disk_bytes += len(data)
            self.written += 1
            self._dirty = True
        return True

    def end(self) -> Position:
        """Where complete lines end right now (what a reader may read)."""
        with self._lock:
            return Position(self._seq, self._seg_size)

    def freed(self, nbytes: int) -> None:
        with self._lock:
            self._disk_bytes = max(0, self._disk_bytes - nbytes)

    @property
    def disk_bytes(self) -> int:
        return self._disk_bytes

    def sync(self) -> None:
        """fsync what was written (and the directory, when a segment was created)."""
        with self._lock:
            dirty, self._dirty = self._dirty, False
            retired, self._retired = self._retired, []
            new_files, self._new_files = self._new_files, False
            fd = self._fd
        for old in retired:
            with contextlib.suppress(OSError):
                os.fsync(old)
            with contextlib.suppress(OSError):
                os.close(old)
        if dirty and not self._closed:
            with contextlib.suppress(OSError):
                os.fsync(fd)
        if new_files:
            _fsync_dir(self.path)

    def _run_syncer(self) -> None:
        while not self._wake.wait(self.fsync_interval):
            self.sync()

    def close(self, *, delivered_all: bool) -> None:
        """Stop writing; fsync; remove the journal when everything was delivered, else leave it
        (unlocked) for the next start or ``workshop events replay``."""
        self._wake.set()
        self._syncer.join(5.0)
        self.sync()
        with self._lock:
            self._closed = True
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            with contextlib.suppress(OSError):
                os.close(self._fd)
        if delivered_all:
            self.remove()
        else:
            self.release()
