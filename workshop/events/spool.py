"""The spool: events waiting on disk, and :func:`replay` to send them.

``$WORKSHOP_HOME/spool/`` holds one write-ahead journal per running logger
(:mod:`workshop.events.journal`) and the journals that outlived their process. A journal whose
owner lock is free is an orphan: the next logger to start (and every few seconds while it runs)
adopts it and ships it from its cursor, and so does ``workshop events replay``. Two services
sharing one spool each own their own journal and never send each other's lines. Re-sending is
harmless anyway: Elasticsearch and Fluentd (``id_key prediction_id``) use the prediction id as
the document id. Documents the engine refuses for good (e.g. a mapping conflict) go to
``spool/rejected.jsonl`` with the reason and are counted as ``failed``.

Shipping reads one batch at a time and a failed send only leaves the cursor where it was: memory
stays constant however large the backlog, and a retry rewrites nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.journal import (
    JOURNAL_PREFIX,
    JournalDir,
    _fsync_dir,
    journals,
    lock_wait,
    try_lock,
)
from workshop.events.schema import Document, _iso_utc
from workshop.events.transports import Transport, make_transport

# Spool files of kit versions before the journal (one shared file, claims named by pid):
# imported as orphan journals the first time a replayer looks.
_LEGACY = ("events.jsonl", "replaying-*.jsonl")


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The journals under ``$WORKSHOP_HOME/spool/``, safe across threads and processes."""

    REJECTED = "rejected.jsonl"
    LOCK = ".lock"

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.rejected_path = self.dir / self.REJECTED
        self._journals: dict[Path, JournalDir] = {}  # keeps line-count caches between calls
        self._guard = threading.RLock()  # the logger's worker and /health share one Spool

    # -- writing
    def append(self, docs: Iterable[Document]) -> int:
        """Hand documents to the spool as a new, unowned journal (fsynced): the next replayer
        sends them. Returns how many were written."""
        data = b"".join(
            (json.dumps(d, ensure_ascii=False, default=str) + "\n").encode() for d in docs
        )
        if not data:
            return 0
        staging = self._staging()
        _write_synced(JournalDir(staging).segment_path(1), data)
        self._publish(staging)
        return data.count(b"\n")

    def _staging(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        staging = self.dir / f".new-{stamp}"
        staging.mkdir()
        return staging

    def _publish(self, staging: Path) -> None:
        os.rename(staging, self.dir / f"{JOURNAL_PREFIX}{staging.name[len('.new-') :]}")
        _fsync_dir(self.dir)

    def reject(self, items: Iterable[tuple[Document | str, str]]) -> int:
        """Keep refused documents with the reason (never silently dropped)."""
        now = _iso_utc(dt.datetime.now(dt.UTC))
        lines = [
            json.dumps({"rejected_at": now, "reason": reason, "document": doc}, default=str) + "\n"
            for doc, reason in items
        ]
        if lines:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_synced(self.rejected_path, "".join(lines).encode())
        return len(lines)

    # -- adopting
    def journals(self) -> list[JournalDir]:
        with self._guard:
            found = []
            for journal in journals(self.dir):
                found.append(self._journals.setdefault(journal.path, journal))
            alive = {j.path for j in found}
            self._journals = {p: j for p, j in self._journals.items() if p in alive}
            return found

    def adopt(self, exclude: Iterable[Path] = ()) -> list[JournalDir]:
        """Take every journal whose owner is gone (lock free); the caller ships and releases."""
        self._import_legacy()
        skip = set(exclude)
        adopted = []
        with self._guard:
            for journal in self.journals():
                if journal.path not in skip and journal.lock_fd is None and journal.try_adopt():
                    adopted.append(journal)
        return adopted

    def _import_legacy(self) -> None:
        legacy = [p for pattern in _LEGACY for p in self.dir.glob(pattern)]
        if not legacy:
            return
        fd = try_lock(self.dir / self.LOCK)  # the old versions' lock: wait for them too
        if fd is None:
            fd = os.open(self.dir / self.LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            lock_wait(fd)
        try:
            for path in legacy:
                if path.exists() and path.stat().st_size:
                    staging = self._staging()
                    os.rename(path, JournalDir(staging).segment_path(1))
                    self._publish(staging)
                else:
                    path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    # -- inspecting
    def status(self, exclude: Iterable[Path] = ()) -> dict[str, int]:
        """Events and bytes waiting, and how many of them are held by a running owner."""
        skip = set(exclude)
        waiting = held = size = count = 0
        with self._guard:
            listed = self.journals()
        for journal in listed:
            if journal.path in skip:
                continue
            events, nbytes = journal.backlog()
            count += 1
            waiting += events
            size += nbytes
            if events and journal.is_owned_elsewhere():
                held += events
        for pattern in _LEGACY:
            for path in self.dir.glob(pattern):
                with contextlib.suppress(OSError):
                    size += path.stat().st_size
                    waiting += path.read_bytes().count(b"\n")
        return {"waiting": waiting, "held": held, "bytes": size, "journals": count}

    def size(self) -> int:
        """Events waiting in the spool (every journal, from its cursor on)."""
        return self.status()["waiting"]

    def rejected_count(self) -> int:
        if not self.rejected_path.exists():
            return 0
        count = 0
        with contextlib.suppress(OSError), open(self.rejected_path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                count += block.count(b"\n")
        return count


@dataclass
class ReplayResult:
    """What one replay of the spool did; ``held`` events belong to a running service."""

    replayed: int = 0
    remaining: int = 0
    failed: int = 0
    held: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def ship_journal(
    journal: JournalDir,
    transport: Transport,
    spool: Spool,
    *,
    batch_size: int = 500,
    max_batches: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send an adopted journal from its cursor on, a batch at a time; remove it once all is
    delivered. Stops at the first transport failure, leaving the cursor where it was."""
    result = ReplayResult()
    position = journal.read_cursor()
    batches = 0
    while max_batches is None or batches < max_batches:
        docs, bad, after = journal.read_batch(position, batch_size)
        if bad:
            result.failed += spool.reject(bad)
        if not docs and not bad:
            journal.remove()
            return result
        batches += 1
        if docs:
            try:
                sent = transport.send(docs)
            except Exception as exc:  # a transport bug must not lose the journal
                result.error = f"{type(exc).__name__}: {exc}"
                return result
            result.replayed += sent.delivered
            if sent.rejected:
                result.failed += spool.reject(sent.rejected)
            if sent.retry or sent.error:
                # the cursor stays before this batch: its delivered part is resent (harmless)
                result.error = sent.error or "falha no envio"
                return result
            if on_progress:
                on_progress(sent.delivered)
        journal.write_cursor(after)
        journal.prune(after.seq)
        position = after
    return result


def replay_spool(
    spool: Spool,
    transport: Transport,
    *,
    batch_size: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Send every orphan journal of the spool; stop at the first transport failure."""
    result = ReplayResult()
    adopted = spool.adopt()
    try:
        for journal in adopted:
            if result.error is not None:
                break
            part = ship_journal(
                journal, transport, spool, batch_size=batch_size, on_progress=on_progress
            )
            result.replayed += part.replayed
            result.failed += part.failed
            result.error = part.error
    finally:
        for journal in adopted:
            journal.release()
    status = spool.status()
    result.remaining, result.held = status["waiting"], status["held"]
    return result


def replay(
    settings: Settings | None = None, *, progress: bool = False, wait: float = 5.0
) -> ReplayResult:
    """Replay ``$WORKSHOP_HOME/spool`` through the configured transport (``workshop events
    replay``). Safe while services log to the same spool: their own journals are theirs; this
    waits up to ``wait`` seconds for them to drain before it counts what remains."""
    settings = settings or get_settings()
    spool = Spool(settings.spool_dir)
    transport = make_transport(settings)
    bar = None
    pending = spool.size()
    if progress and pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=pending, desc="Reenviando o spool", unit=" eventos")
    try:
        result = replay_spool(spool, transport, on_progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
        transport.close()
    deadline = time.monotonic() + wait
    while result.error is None and result.held and time.monotonic() < deadline:
        time.sleep(0.25)
        status = spool.status()
        result.remaining, result.held = status["waiting"], status["held"]
    return result


def spool_status(settings: Settings | None = None) -> dict[str, Any]:
    """Pending and refused events in ``$WORKSHOP_HOME/spool`` (for the CLI)."""
    settings = settings or get_settings()
    spool = Spool(settings.spool_dir)
    status = spool.status()
    return {
        "spool_dir": str(spool.dir),
        "spool_size": status["waiting"],
        "held_by_running": status["held"],
        "spool_bytes": status["bytes"],
        "rejected": spool.rejected_count(),
    }
