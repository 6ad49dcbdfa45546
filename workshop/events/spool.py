"""The spool: events that could not be sent wait on disk, and :func:`replay` sends them later.

When the transport fails, or the queue is full, events are appended to
``$WORKSHOP_HOME/spool/events.jsonl`` (JSON lines, flushed and fsynced). The logger's worker
replays the spool at start-up and whenever the transport is back; ``workshop events replay`` does
it by hand. Replayers claim the spool by renaming it under a file lock, so the worker of a running
service and a manual replay never send the same line twice at once. Re-sending is harmless anyway:
Elasticsearch and Fluentd (``id_key prediction_id``) use the prediction id as the document id.
Documents that the engine refuses for good (e.g. a mapping conflict) go to
``spool/rejected.jsonl`` with the reason and are counted as ``failed``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from workshop.config import Settings, get_settings
from workshop.events.schema import Document, _iso_utc
from workshop.events.transports import Transport, make_transport


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` shared by every process using the same spool."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        _lock_file(fh)
        try:
            yield
        finally:
            _unlock_file(fh)


try:
    import fcntl

    def _lock_file(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)

    def _unlock_file(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock_file(fh: IO[bytes]) -> None:
        fh.seek(0)
        while True:
            try:
                msvcrt.locking(fh.fileno(), msvcrt.LK_LOCK, 1)  # type: ignore[attr-defined]
                return
            except OSError:
                time.sleep(0.05)

    def _unlock_file(fh: IO[bytes]) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """JSON-lines files under ``$WORKSHOP_HOME/spool/``, safe across threads and processes.

    ``events.jsonl`` collects events waiting to be sent. A replayer *claims* it by renaming it to
    ``replaying-<pid>-<id>.jsonl`` under the lock, sends it, and puts back what it could not send.
    A claim left by a process that died is adopted by the next replay.
    """

    PENDING = "events.jsonl"
    REJECTED = "rejected.jsonl"
    LOCK = ".lock"

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.pending = self.dir / self.PENDING
        self.rejected_path = self.dir / self.REJECTED
        self._lock_path = self.dir / self.LOCK
        self._line_cache: dict[Path, tuple[int, int, int]] = {}

    # -- writing
    def append(self, docs: Iterable[Document]) -> int:
        """Append documents (flush + fsync); returns how many were written."""
        lines = [json.dumps(d, ensure_ascii=False, default=str) + "\n" for d in docs]
        if not lines:
            return 0
        with _locked(self._lock_path):
            _write_synced(self.pending, "".join(lines).encode())
        return len(lines)

    def reject(self, items: Iterable[tuple[Document | str, str]]) -> int:
        """Keep refused documents with the reason (never silently dropped)."""
        now = _iso_utc(dt.datetime.now(dt.UTC))
        lines = [
            json.dumps({"rejected_at": now, "reason": reason, "document": doc}, default=str) + "\n"
            for doc, reason in items
        ]
        if lines:
            with _locked(self._lock_path):
                _write_synced(self.rejected_path, "".join(lines).encode())
        return len(lines)

    # -- replaying
    def claim(self) -> list[Path]:
        """Take ownership of everything pending (and of claims of dead processes)."""
        claimed: list[Path] = []
        if not self.dir.exists():
            return claimed
        with _locked(self._lock_path):
            for path in sorted(self.dir.glob("replaying-*.jsonl")):
                try:
                    pid = int(path.name.split("-")[1])
                except (IndexError, ValueError):
                    pid = -1
                if pid != -1 and _pid_alive(pid):
                    continue  # someone is replaying it right now
                target = self._claim_name()
                path.rename(target)
                claimed.append(target)
            if self.pending.exists() and self.pending.stat().st_size > 0:
                target = self._claim_name()
                self.pending.rename(target)
                claimed.append(target)
        return claimed

    def _claim_name(self) -> Path:
        return self.dir / f"replaying-{os.getpid()}-{uuid.uuid4().hex[:12]}.jsonl"

    def read(self, path: Path) -> tuple[list[Document], list[tuple[str, str]]]:
        """Documents of a claimed file, and lines that are not JSON (a crash mid-write)."""
        docs: list[Document] = []
        bad: list[tuple[str, str]] = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    doc = json.loads(line)
                except ValueError:
                    bad.append((line.rstrip("\n"), "linha corrompida no spool"))
                    continue
                if isinstance(doc, dict):
                    docs.append(doc)
                else:
                    bad.append((line.rstrip("\n"), "linha do spool não é um objeto JSON"))
        return docs, bad

    def unclaim(self, path: Path) -> None:
        """Give a claimed file back untouched (its lines return to ``events.jsonl``)."""
        with _locked(self._lock_path):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return
            if data:
                _write_synced(self.pending, data if data.endswith(b"\n") else data + b"\n")
            path.unlink()

    def release(self, path: Path, unsent: list[Document]) -> None:
        """Put back what a replay could not send and drop the claim."""
        if unsent:
            self.append(unsent)
        path.unlink(missing_ok=True)

    # -- inspecting
    def files(self) -> list[Path]:
        if not self.dir.exists():
            return []
        return [p for p in [self.pending, *self.dir.glob("replaying-*.jsonl")] if p.exists()]

    def has_pending(self) -> bool:
        try:
            return self.pending.stat().st_size > 0
        except OSError:
            return False

    def size(self) -> int:
        """Events waiting in the spool (pending + being replayed)."""
        total = 0
        for path in self.files():
            total += self._count_lines(path)
        return total

    def rejected_count(self) -> int:
        return self._count_lines(self.rejected_path) if self.rejected_path.exists() else 0

    def _count_lines(self, path: Path) -> int:
        try:
            stat = path.stat()
        except OSError:
            return 0
        cached = self._line_cache.get(path)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        count = 0
        with contextlib.suppress(OSError), open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                count += block.count(b"\n")
        self._line_cache[path] = (stat.st_size, stat.st_mtime_ns, count)
        return count


@dataclass
class ReplayResult:
    """What one replay of the spool did."""

    replayed: int = 0
    remaining: int = 0
    failed: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def replay_spool(
    spool: Spool,
    transport: Transport,
    *,
    batch_size: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send everything in the spool through ``transport``; stop at the first transport failure.

    What could not be sent goes back to the spool; refused documents to ``rejected.jsonl``.
    """
    result = ReplayResult()
    claimed = spool.claim()
    for number, path in enumerate(claimed):
        if result.error is not None:  # the transport failed: give the other claims back
            for rest in claimed[number:]:
                spool.unclaim(rest)
            break
        docs, bad = spool.read(path)
        if bad:
            result.failed += spool.reject(bad)
        position = 0
        try:
            while position < len(docs) and result.error is None:
                chunk = docs[position : position + batch_size]
                sent = transport.send(chunk)
                position += len(chunk)
                result.replayed += sent.delivered
                if sent.rejected:
                    result.failed += spool.reject(sent.rejected)
                if sent.retry or sent.error:
                    # put back the undelivered part of this chunk with the rest of the file
                    docs = sent.retry + docs[position:]
                    position = 0
                    result.error = sent.error or "falha no envio"
                    break
                if on_progress:
                    on_progress(sent.delivered)
        finally:
            spool.release(path, docs[position:])
    result.remaining = spool.size()
    return result


def replay(settings: Settings | None = None, *, progress: bool = False) -> ReplayResult:
    """Replay ``$WORKSHOP_HOME/spool`` through the configured transport (``workshop events
    replay``). Safe while a service's logger replays the same spool."""
    settings = settings or get_settings()
    spool = Spool(settings.spool_dir)
    transport = make_transport(settings)
    bar = None
    pending = spool.size()
    if progress and pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=pending, desc="Reenviando o spool", unit=" eventos")
    try:
        return replay_spool(spool, transport, on_progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
        transport.close()


def spool_status(settings: Settings | None = None) -> dict[str, Any]:
    """Pending and refused events in ``$WORKSHOP_HOME/spool`` (for the CLI)."""
    settings = settings or get_settings()
    spool = Spool(settings.spool_dir)
    return {
        "spool_dir": str(spool.dir),
        "spool_size": spool.size(),
        "rejected": spool.rejected_count(),
    }
