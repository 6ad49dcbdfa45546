"""The non-blocking :class:`EventLogger` and the process-wide :func:`default_logger`.

The service (and the widgets) hand each event to :meth:`EventLogger.emit`, which only puts it on
a bounded in-memory queue and returns: a prediction never waits for Elasticsearch or Fluentd. A
worker thread takes batches off the queue and sends them through one transport; what it cannot
send goes to the spool (:mod:`workshop.events.spool`). Nothing is dropped silently.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workshop.config import Settings, get_settings
from workshop.events.schema import Document, PredictionEvent, _as_document
from workshop.events.spool import ReplayResult, Spool, replay_spool
from workshop.events.transports import SendResult, Transport, make_transport

log = logging.getLogger(__name__)


_WAKE = object()  # queue item that only wakes the worker (flush / close)


# How long the worker lets a batch form after the first event (see EventLogger._linger). 250 ms:
# benchmarks/service.py gave logging_overhead_ratio 1.04-1.09 (50 ms: 1.09-1.13); events still
# leave the process well within Fluentd's own 1 s flush interval.
DEFAULT_LINGER_S = 0.25


class EventLogger:
    """Non-blocking event logger: bounded queue → worker thread → transport, spool on failure.

    ``emit`` never blocks and never raises. ``stats()`` feeds ``/health`` and the notebooks.
    """

    def __init__(
        self,
        transport: Transport,
        spool_dir: Path,
        *,
        queue_size: int = 10_000,
        batch_size: int = 500,
        retry_min: float = 0.5,
        retry_max: float = 5.0,
        replay_on_start: bool = True,
        linger: float = DEFAULT_LINGER_S,
    ) -> None:
        self.transport = transport
        self.linger = linger
        self._hurry = threading.Event()  # flush()/close() cut the linger short
        self.spool = Spool(spool_dir)
        self.batch_size = batch_size
        self.retry_min = retry_min
        self.retry_max = retry_max
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._overflow: deque[Any] = deque()
        self._overflow_ready = threading.Event()
        self._cond = threading.Condition(threading.Lock())  # guards the counters below
        self._pending = 0  # accepted by emit, not yet sent / spooled / refused
        self.sent = 0
        self.spooled = 0
        self.replayed = 0
        self.failed = 0
        self._degraded = False
        self.last_error: str | None = None
        self._backoff = retry_min
        self._next_attempt = 0.0
        self._replay_requested = threading.Event()
        self._replay_generation = 0
        self._replaying = False
        self._inflight: list[Document] | None = None
        self._closing = False
        self._closed = False
        self._replay_on_start = replay_on_start
        self._worker = threading.Thread(target=self._run, name="event-logger", daemon=True)
        self._spooler = threading.Thread(
            target=self._run_spooler, name="event-spooler", daemon=True
        )
        self._worker.start()
        self._spooler.start()

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        transport: str | None = None,
        spool_dir: Path | None = None,
        **kwargs: Any,
    ) -> EventLogger:
        """A logger for ``WORKSHOP_EVENT_TRANSPORT`` (or ``transport``) spooling to
        ``$WORKSHOP_HOME/spool`` (or ``spool_dir``); other keywords go to the constructor."""
        settings = settings or get_settings()
        return cls(make_transport(settings, transport), spool_dir or settings.spool_dir, **kwargs)

    # ---------------------------------------------------------------- caller side
    def emit(self, event: PredictionEvent | Mapping[str, Any]) -> None:
        """Queue one event and return at once; a full queue sends it to the spool instead."""
        try:
            with self._cond:
                closed = self._closed
                if not closed:
                    self._pending += 1
                    try:
                        self._queue.put_nowait(event)
                    except queue.Full:
                        self._overflow.append(event)
                        self._overflow_ready.set()
            if closed:  # after close(): straight to disk, still never lost
                self._spool_now([event])
        except Exception:  # never let logging break a prediction
            log.exception("Falha inesperada ao registrar um evento de predição")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event emitted so far is sent or spooled, then replay the spool.

        True when everything reached the transport (queue empty, spool empty); False on timeout
        or when events remain in the spool because the transport is down.
        """
        deadline = time.monotonic() + timeout
        self._hurry.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_WAKE)
        with self._cond:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        while True:
            with self._cond:  # a replay in progress finishes (and counts) first
                while self._replaying:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                generation = self._replay_generation
            if self.spool.size() == 0:
                break
            if self._closed or self._closing or not self._worker.is_alive():
                return False
            self._replay_requested.set()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_WAKE)
            with self._cond:
                while self._replay_generation == generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            if self._degraded:
                return False
        return self._pending == 0

    def close(self, timeout: float = 10.0) -> None:
        """Drain the queue (sending what the transport takes), spool the rest, stop threads."""
        if self._closed or self._closing:
            return
        self._closing = True
        self._hurry.set()
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_WAKE)
        self._worker.join(max(0.0, deadline - time.monotonic()))
        inflight = list(self._inflight or []) if self._worker.is_alive() else []
        with self._cond:
            self._closed = True  # from here on emit() writes to the spool itself
        # What the worker could not take (it hangs in the transport, or emit() raced with
        # close) goes to disk; the in-flight batch too: a duplicate is harmless, a loss is not.
        leftovers: list[Any] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _WAKE:
                leftovers.append(item)
        self._overflow_ready.set()
        self._spooler.join(max(0.5, deadline - time.monotonic()))
        while self._overflow:
            try:
                leftovers.append(self._overflow.popleft())
            except IndexError:
                break
        if inflight or leftovers:
            self._spool_now(inflight, count_pending=0)
            self._spool_now(leftovers, count_pending=len(leftovers))
        with contextlib.suppress(Exception):
            self.transport.close()

    def stats(self) -> dict[str, Any]:
        """Counters for ``/health`` and the notebooks."""
        return {
            "transport": self.transport.name,
            "state": "degraded" if self._degraded else "ok",
            "sent": self.sent,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "failed": self.failed,
            "queued": self._pending,
            "spool_size": self.spool.size(),
            "last_error": self.last_error,
        }

    def __enter__(self) -> EventLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- accounting
    def _done(self, n: int) -> None:
        if n:
            with self._cond:
                self._pending -= n
                self._cond.notify_all()

    def _count(self, **deltas: int) -> None:
        with self._cond:
            for name, value in deltas.items():
                setattr(self, name, getattr(self, name) + value)

    def _set_degraded(self, error: str) -> None:
        if not self._degraded:
            log.warning(
                "Transporte de eventos %s indisponível (%s): guardando eventos no spool %s",
                self.transport.name,
                error,
                self.spool.pending,
            )
        self._degraded = True
        self.last_error = error
        self._next_attempt = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry_max)

    def _set_ok(self) -> None:
        if self._degraded:
            log.warning("Transporte de eventos %s de volta.", self.transport.name)
            self.last_error = None  # /health shows an error only while it is current
        self._degraded = False
        self._backoff = self.retry_min

    def _spool_now(self, items: list[Any], count_pending: int = 0) -> None:
        """Append events to the spool from the calling thread (close, overflow, closed logger)."""
        docs: list[Document] = []
        bad: list[tuple[Document | str, str]] = []
        for item in items:
            if item is _WAKE:
                continue
            try:
                docs.append(_as_document(item))
            except Exception as exc:
                bad.append((repr(item), f"evento inválido: {exc!r}"))
        try:
            written = self.spool.append(docs)
            self._count(spooled=written)
        except OSError as exc:  # the disk itself fails: say so loudly, nothing else can be done
            log.error("Não consegui gravar %d eventos no spool: %s", len(docs), exc)
            self._count(failed=len(docs))
        if bad:
            with contextlib.suppress(OSError):
                self.spool.reject(bad)
            self._count(failed=len(bad))
        self._done(count_pending)

    # ---------------------------------------------------------------- worker side
    def _drain_queue(self, first: Any) -> list[Any]:
        batch = [] if first is None or first is _WAKE else [first]
        while len(batch) < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _WAKE:
                batch.append(item)
        return batch

    def _run(self) -> None:
        if self._replay_on_start:
            self._replay()
        while True:
            try:
                first = self._queue.get(timeout=0.25)
            except queue.Empty:
                first = None
            if first is not None and first is not _WAKE:
                self._linger()
            batch = self._drain_queue(first)
            if batch:
                self._process(batch)
            if self._replay_requested.is_set() or self._replay_due():
                self._replay()
            if self._closing and self._queue.empty():
                return

    def _linger(self) -> None:
        """Let a batch form: after the first event, wait ``linger`` seconds (unless flush() or
        close() ask to hurry) before draining the queue.

        Without it, under steady traffic the worker wakes for every event and sends a bulk of
        one, and that work competes with the requests for the GIL and the CPU (+25 % p50 in
        ``benchmarks/service.py``). The worker sleeps instead of waiting on the queue, so
        ``emit()`` wakes nobody meanwhile.
        """
        if self.linger > 0 and not self._closing and not self._hurry.is_set():
            self._hurry.wait(self.linger)
        self._hurry.clear()

    def _replay_due(self) -> bool:
        if self._closing:
            return False
        if self._degraded:
            return time.monotonic() >= self._next_attempt
        return self.spool.has_pending()

    def _process(self, batch: list[Any]) -> None:
        docs: list[Document] = []
        bad: list[tuple[Document | str, str]] = []
        for item in batch:
            try:
                docs.append(_as_document(item))
            except Exception as exc:
                bad.append((repr(item), f"evento inválido: {exc!r}"))
        if bad:
            with contextlib.suppress(OSError):
                self.spool.reject(bad)
            self._count(failed=len(bad))
        self._inflight = docs
        try:
            if self._degraded and time.monotonic() < self._next_attempt and not self._closing:
                result = SendResult(retry=docs, error=self.last_error)  # still down: don't wait
            else:
                try:
                    result = self.transport.send(docs)
                except Exception as exc:  # a transport bug must not kill the worker
                    result = SendResult(retry=docs, error=f"{type(exc).__name__}: {exc}")
                if result.error:
                    self._set_degraded(result.error)
                else:
                    self._set_ok()
            self._count(sent=result.delivered)
            if result.rejected:
                self._reject(result.rejected)
            if result.retry:
                self._spool_docs(result.retry)
        finally:
            self._inflight = None
            self._done(len(batch))

    def _reject(self, rejected: list[tuple[Document, str]]) -> None:
        with contextlib.suppress(OSError):
            self.spool.reject(rejected)
        self._count(failed=len(rejected))
        log.error(
            "%d eventos recusados pelo transporte (veja %s): %s",
            len(rejected),
            self.spool.rejected_path,
            rejected[0][1],
        )

    def _spool_docs(self, docs: list[Document]) -> None:
        try:
            self._count(spooled=self.spool.append(docs))
        except OSError as exc:
            log.error("Não consegui gravar %d eventos no spool: %s", len(docs), exc)
            self._count(failed=len(docs))

    def _replay(self) -> None:
        self._replay_requested.clear()
        with self._cond:
            self._replaying = True
        try:
            result = replay_spool(self.spool, self.transport, batch_size=self.batch_size)
        except Exception as exc:
            result = ReplayResult(error=f"{type(exc).__name__}: {exc}")
        self._count(replayed=result.replayed, failed=result.failed)
        if result.error:
            self._set_degraded(result.error)
        elif result.replayed or not self._degraded:
            self._set_ok()
        elif self._degraded:
            # Nothing to replay (someone else emptied the spool): next batch probes the transport.
            self._next_attempt = time.monotonic()
        with self._cond:
            self._replaying = False
            self._replay_generation += 1
            self._cond.notify_all()

    def _run_spooler(self) -> None:
        while True:
            self._overflow_ready.wait(0.5)
            self._overflow_ready.clear()
            items: list[Any] = []
            while self._overflow:
                try:
                    items.append(self._overflow.popleft())
                except IndexError:
                    break
            if items:
                self._spool_now(items, count_pending=len(items))
            if self._closing and not self._overflow:
                return


# --------------------------------------------------------------------------- default logger

_default: EventLogger | None = None
_default_lock = threading.Lock()


def default_logger() -> EventLogger:
    """The process-wide logger (``WORKSHOP_*`` settings), started on first use, closed at exit."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = EventLogger.from_settings()
                atexit.register(_close_default)
    return _default


def _close_default() -> None:
    global _default
    logger, _default = _default, None
    if logger is not None:
        logger.close(timeout=5.0)


def _forget_default_after_fork() -> None:
    # The worker thread does not survive fork(): the child starts its own logger on first use.
    global _default
    _default = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_default_after_fork)
