"""The :class:`EventLogger` and the process-wide :func:`default_logger`.

The service (and the widgets) hand each event to :meth:`EventLogger.emit`, which appends it to
the logger's write-ahead journal (:mod:`workshop.events.journal`: one ``os.write`` of one JSON
line, no network) and returns: the event is on disk before the response goes out, so killing
the process loses nothing, and a prediction never waits for Elasticsearch or Fluentd. A worker
thread reads batches from the journal, sends them through one transport and records how far it
got; a failed send is retried from the journal with a growing back-off, rewriting nothing. At
start (and every few seconds) the worker also adopts and ships journals left by processes that
ended (:mod:`workshop.events.spool`). Nothing is dropped silently: past the journal's bound on
disk an event is counted as ``overflowed`` and the logger reports ``degraded``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from workshop.config import Settings, get_settings
from workshop.events.journal import DEFAULT_FSYNC_INTERVAL_S, Journal, JournalDir, Position
from workshop.events.schema import Document, PredictionEvent, _as_document, encode_line
from workshop.events.spool import Spool, ship_journal
from workshop.events.transports import SendResult, Transport, make_transport
from workshop.events.transports.base import LineTransport

log = logging.getLogger(__name__)

# How the worker lets a batch form (EventLogger._batch_ready). It looks every DEFAULT_LINGER_S; it
# sends when traffic paused since its last look (a notebook's burst is out ~0.1-0.2 s after its
# last event), when FULL_BATCH events wait, or when the batch has been forming
# DEFAULT_MAX_LINGER_S (steady traffic: Fluentd's own 1 s flush interval,
# infra/fluentd/fluent.conf). Why 1,000: the embedded engine indexes a _bulk of 1,000 items or
# more for about half the CPU per document (osmem-server 0.1.6, GOMAXPROCS=1, 11-field events:
# ~245 µs against ~450 µs at 250-999 items, measured with one bulk after another); one bulk per
# request instead cost +25 % p50.
DEFAULT_LINGER_S = 0.1
DEFAULT_MAX_LINGER_S = 1.0
FULL_BATCH = 1_000
DEFAULT_MAX_BYTES = 256 << 20
ORPHAN_SCAN_S = 5.0  # how often a running logger looks for journals of ended processes
OVERFLOW_MEMORY_S = 60.0  # /health stays degraded this long after the last overflowed event


class EventLogger:
    """Write-ahead journal → worker thread → transport; constant memory, bounded disk.

    ``emit`` never blocks on the network and never raises. ``stats()`` feeds ``/health``:
    ``state`` is ``degraded`` (with ``reasons`` in pt-BR) when the transport fails, more than
    ``queue_size`` events wait, events have waited ``stale_after`` seconds without a successful
    send, or the journal reached ``max_bytes``.
    """

    def __init__(
        self,
        transport: Transport,
        spool_dir: Path,
        *,
        queue_size: int = 5_000,
        batch_size: int = 2 * FULL_BATCH,
        retry_min: float = 0.5,
        retry_max: float = 5.0,
        replay_on_start: bool = True,
        linger: float = DEFAULT_LINGER_S,
        max_linger: float = DEFAULT_MAX_LINGER_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL_S,
        stale_after: float = 5.0,
    ) -> None:
        self.transport = transport
        self.linger = linger
        self.max_linger = max_linger
        self.full_batch = min(FULL_BATCH, batch_size)
        self._seen_written = 0  # journal lines written when the worker last saw a change
        self._seen_at = 0.0
        self._forming_since: float | None = None  # monotonic: the batch began to form
        self.batch_size = batch_size
        self.retry_min = retry_min
        self.retry_max = retry_max
        self.queue_size = queue_size
        self.stale_after = stale_after
        self.spool = Spool(spool_dir)
        self.journal = Journal(spool_dir, max_bytes=max_bytes, fsync_interval=fsync_interval)
        self._cond = threading.Condition(threading.Lock())
        self._hurry = threading.Event()  # flush()/close(): skip the linger and the back-off once
        self._stop = threading.Event()
        # counters (written by the worker, read anywhere)
        self.sent = 0  # delivered at the first attempt
        self.spooled = 0  # waited on disk because a send failed
        self.replayed = 0  # delivered after waiting (a failed send, or a previous process)
        self.failed = 0  # refused for good (spool/rejected.jsonl)
        self.overflowed = 0  # not written: the journal was at its bound
        self.attempts_failed = 0
        self._own_done = 0  # journal lines dealt with (delivered, refused or unreadable)
        self._spooled_upto = 0  # journal lines before this one waited through a failed send
        self._position = Position(1, 0)  # delivered up to here in our own journal
        # A transport with send_lines gets the journal's lines as written (no parse, no
        # re-serialisation in this process, whose GIL the requests share).
        self._raw = callable(getattr(transport, "send_lines", None))
        self._batch: list[Any] | None = None  # lines (self._raw) or documents
        self._batch_lines = 0
        self._batch_end = self._position
        self._batch_failed = False
        self._orphans: list[JournalDir] = []
        self._orphan_bytes = 0
        self._scan_requested = threading.Event()
        self._scans = 0
        self._degraded = False
        self.last_error: str | None = None
        self._backoff = retry_min
        self._next_attempt = 0.0
        self._last_success: float | None = None  # time.time()
        self._behind_since: float | None = None  # monotonic: events waiting since
        self._overflow_at: float | None = None
        self._overflow_run = 0
        self._closed = False
        self._closing = False
        self._replay_on_start = replay_on_start
        self._worker = threading.Thread(target=self._run, name="event-logger", daemon=True)
        self._worker.start()

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        transport: str | None = None,
        spool_dir: Path | None = None,
        **kwargs: Any,
    ) -> EventLogger:
        """A logger for ``WORKSHOP_EVENT_TRANSPORT`` (or ``transport``) journaling under
        ``$WORKSHOP_HOME/spool`` (or ``spool_dir``), bounded by ``WORKSHOP_EVENT_JOURNAL_MAX_MB``;
        other keywords go to the constructor."""
        settings = settings or get_settings()
        kwargs.setdefault("max_bytes", settings.event_journal_max_mb << 20)
        kwargs.setdefault("fsync_interval", settings.event_fsync_interval_ms / 1000)
        kwargs.setdefault("queue_size", settings.event_health_queue)
        kwargs.setdefault("stale_after", settings.event_health_stale_s)
        return cls(make_transport(settings, transport), spool_dir or settings.spool_dir, **kwargs)

    # ---------------------------------------------------------------- caller side
    def emit(self, event: PredictionEvent | Mapping[str, Any]) -> None:
        """Write the event to the journal (one write, no network) and return."""
        try:
            doc = _as_document(event)
            data = encode_line(doc)
        except Exception as exc:
            self._reject_now(repr(event), f"evento inválido: {exc!r}")
            return
        self._write(data)

    def emit_line(self, line: bytes) -> None:
        """:meth:`emit` for an event already encoded as one journal line
        (:func:`~workshop.events.schema.event_line`): the service's hot path."""
        self._write(line)

    def _write(self, data: bytes) -> None:
        try:
            try:
                written = not self._closed and self.journal.append(data)
            except OSError:
                if not self._closed:
                    raise
                written = False
            if self._closed:  # after close(): a journal of its own, still never lost
                self.spool.append([json.loads(data)])
            elif not written:
                self._overflow()
            elif self._overflow_run:
                self._overflow_ended()
        except OSError as exc:  # the disk itself fails: say so loudly and count it
            with self._cond:
                self.failed += 1
            log.error("Não consegui gravar um evento no diário %s: %s", self.journal.path, exc)
        except Exception:  # never let logging break a prediction
            log.exception("Falha inesperada ao registrar um evento de predição")

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event written so far, and every orphan journal found, is delivered.

        False on timeout, or as soon as a send attempted after this call fails.
        """
        deadline = time.monotonic() + timeout
        failures = self.attempts_failed
        with self._cond:
            scans = self._scans
        self._scan_requested.set()
        self._hurry.set()
        with self._cond:
            while not (self._scans > scans and self._caught_up()):
                if self.attempts_failed > failures or not self._worker.is_alive():
                    return False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Send what can be sent within ``timeout``, then stop; what is left stays on disk (the
        journal, fsynced and unlocked) for the next start or ``workshop events replay``."""
        if self._closed or self._closing:
            return
        self._closing = True
        deadline = time.monotonic() + timeout
        failures = self.attempts_failed
        self._hurry.set()
        with self._cond:
            # until everything is sent, the bound, or a send fails (the rest waits on disk)
            while not self._caught_up() and self._worker.is_alive():
                if self.attempts_failed > failures:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.1))
        self._stop.set()
        self._hurry.set()
        self._worker.join(max(0.1, min(1.0, deadline - time.monotonic())))
        delivered_all = not self._worker.is_alive() and self._own_backlog() == 0
        self._closed = True
        self.journal.close(delivered_all=delivered_all)
        for orphan in self._orphans:
            orphan.release()
        self._orphans = []
        if not delivered_all:
            log.warning(
                "%d eventos ficaram no diário %s: serão enviados no próximo início "
                "(ou com `workshop events replay`).",
                self._own_backlog(),
                self.journal.path,
            )
        with contextlib.suppress(Exception):
            self.transport.close()

    def stats(self) -> dict[str, Any]:
        """Counters and state for ``/health``, ``workshop doctor`` and the notebooks."""
        queued = self._own_backlog()
        others = self.spool.status(exclude=[self.journal.path])
        reasons = self._reasons(queued)
        age = None if self._last_success is None else round(time.time() - self._last_success, 1)
        return {
            "transport": self.transport.name,
            "state": "degraded" if reasons else "ok",
            "reasons": reasons,
            "sent": self.sent,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "failed": self.failed,
            "overflowed": self.overflowed,
            "queued": queued,
            "spool_size": queued + others["waiting"],
            "journal_bytes": self.journal.disk_bytes + others["bytes"],
            "journal_max_bytes": self.journal.max_bytes,
            "last_success": None
            if self._last_success is None
            else dt.datetime.fromtimestamp(self._last_success, dt.UTC).isoformat(),
            "last_success_age_s": age,
            "last_error": self.last_error,
        }

    def __enter__(self) -> EventLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- state
    def _own_backlog(self) -> int:
        return max(0, self.journal.written - self._own_done)

    def _caught_up(self) -> bool:
        return self._own_backlog() == 0 and self._batch is None and not self._orphans

    def _reasons(self, queued: int) -> list[str]:
        reasons: list[str] = []
        if not self._worker.is_alive() and not self._closed:
            reasons.append("a thread de envio parou")
        if self.last_error:
            reasons.append(f"o transporte {self.transport.name} falhou: {self.last_error}")
        if queued >= self.queue_size:
            reasons.append(f"{queued} eventos esperando envio (limite {self.queue_size})")
        behind = self._behind_since
        if behind is not None and time.monotonic() - behind > self.stale_after:
            reasons.append(
                f"há eventos esperando e nenhum envio deu certo nos últimos "
                f"{time.monotonic() - behind:.0f} s"
            )
        if self._overflow_at is not None and time.monotonic() - self._overflow_at < (
            OVERFLOW_MEMORY_S
        ):
            reasons.append(
                f"diário de eventos cheio ({self.journal.max_bytes >> 20} MB): "
                f"{self.overflowed} eventos não registrados"
            )
        return reasons

    def _overflow(self) -> None:
        with self._cond:
            self.overflowed += 1
            self._overflow_run += 1
            self._overflow_at = time.monotonic()
            first = self._overflow_run == 1
        if first:  # once per episode, not per event
            log.error(
                "Diário de eventos cheio (%d MB em %s): novos eventos NÃO são registrados até o "
                "transporte %s voltar; cada um é contado em 'overflowed'.",
                self.journal.max_bytes >> 20,
                self.spool.dir,
                self.transport.name,
            )

    def _overflow_ended(self) -> None:
        with self._cond:
            run, self._overflow_run = self._overflow_run, 0
        if run:
            log.warning("Diário de eventos com espaço de novo: %d eventos não registrados.", run)

    def _reject_now(self, item: Document | str, reason: str) -> None:
        with contextlib.suppress(OSError):
            self.spool.reject([(item, reason)])
        with self._cond:
            self.failed += 1

    def _set_degraded(self, error: str) -> None:
        if not self._degraded:
            log.warning(
                "Transporte de eventos %s indisponível (%s): os eventos esperam no diário %s",
                self.transport.name,
                error,
                self.spool.dir,
            )
        self._degraded = True
        self.last_error = error
        self.attempts_failed += 1
        self._next_attempt = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.retry_max)

    def _set_ok(self) -> None:
        if self._degraded:
            log.warning("Transporte de eventos %s de volta.", self.transport.name)
        self.last_error = None  # /health shows an error only while it is current
        self._degraded = False
        self._backoff = self.retry_min
        self._last_success = time.time()

    # ---------------------------------------------------------------- worker side
    def _run(self) -> None:
        next_scan = 0.0 if self._replay_on_start else time.monotonic() + ORPHAN_SCAN_S
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if self._scan_requested.is_set() or now >= next_scan:
                    self._scan_requested.clear()
                    self._scan_orphans()
                    next_scan = now + ORPHAN_SCAN_S
                waiting = self._own_backlog() > 0 or self._batch is not None or self._orphans
                if not waiting:
                    self._behind_since = None
                elif self._behind_since is None:
                    self._behind_since = now
                backing_off = waiting and self._degraded and now < self._next_attempt
                if backing_off and not self._hurry.wait(min(self._next_attempt - now, 0.25)):
                    continue  # back-off; flush()/close() cut it short
                hurry = self._hurry.is_set()
                if hurry:
                    self._hurry.clear()
                    if not self._stop.is_set():
                        self._next_attempt = 0.0
                worked = self._step_own(hurry or self._stop.is_set()) if waiting else False
                if not worked and self._orphans and not self._stop.is_set():
                    worked = self._step_orphan()
                with self._cond:
                    self._cond.notify_all()
                if not worked:
                    # Idle or letting a batch form. The worker sleeps instead of being woken
                    # per event, so emit() wakes nobody (+25 % p50 otherwise).
                    self._hurry.wait(self.linger)
            except Exception:  # pragma: no cover - a bug must not stop the shipping for good
                log.exception("Erro inesperado na thread de envio de eventos")
                self._stop.wait(1.0)

    def _batch_ready(self, hurry: bool) -> bool:
        """Whether a new batch goes now, or waits for more events (see DEFAULT_LINGER_S)."""
        now = time.monotonic()
        written = self.journal.written
        # a pause: nothing new over a whole look (not just since a batch sent a moment ago)
        paused = written == self._seen_written and now - self._seen_at >= self.linger * 0.9
        if written != self._seen_written or paused:
            self._seen_written, self._seen_at = written, now
        if self._forming_since is None:  # the first look at events after the last batch
            self._forming_since = now
        if (
            hurry
            or paused
            or self._own_backlog() >= self.full_batch
            or now - self._forming_since >= self.max_linger
        ):
            self._forming_since = None
            return True
        return False

    def _step_own(self, hurry: bool = False) -> bool:
        if self._batch is None:
            if not self._batch_ready(hurry):
                return False
            read = self.journal.read_lines if self._raw else self.journal.read_batch
            docs, bad, end = read(self._position, self.batch_size, self.journal.end())
            if bad:
                with contextlib.suppress(OSError):
                    self.spool.reject(bad)
                self.failed += len(bad)
            self._batch, self._batch_lines, self._batch_end = docs, len(docs) + len(bad), end
            self._batch_failed = False
            if not docs and not self._batch_lines:
                self._batch = None
                return False
        if self._batch and self._degraded and time.monotonic() < self._next_attempt:
            return False
        result = self._send(self._batch)
        # Events that waited through a failed send count as spooled, and as replayed once
        # delivered; the others as sent. Lines are numbered in journal order: this batch
        # starts at _own_done.
        waited = min(max(0, self._spooled_upto - self._own_done), len(self._batch))
        self.replayed += min(result.delivered, waited)
        self.sent += max(0, result.delivered - waited)
        if result.retry:
            written = self.journal.written
            self.spooled += written - max(self._spooled_upto, self._own_done)
            self._spooled_upto = written
            self._batch, self._batch_failed = result.retry, True
            return False
        self.journal.write_cursor(self._batch_end)
        if self._batch_end.seq > self._position.seq:
            self.journal.freed(self.journal.prune(self._batch_end.seq))
        self._position = self._batch_end
        with self._cond:
            self._own_done += self._batch_lines
            self._batch = None
        # a full batch: more is probably waiting, go on; otherwise let the next one form
        return self._batch_lines >= self.batch_size

    def _send(self, docs: list[Any]) -> SendResult:
        """One batch of our own journal: its lines as they are when the transport takes lines
        (``send_lines``), documents otherwise."""
        if not docs:
            return SendResult()
        try:
            if self._raw:
                result = cast(LineTransport, self.transport).send_lines(docs)
            else:
                result = self.transport.send(docs)
        except Exception as exc:  # a transport bug must not kill the worker
            result = SendResult(retry=list(docs), error=f"{type(exc).__name__}: {exc}")
        if result.error or result.retry:
            self._set_degraded(result.error or "falha no envio")
        else:
            self._set_ok()
        if result.rejected:
            with contextlib.suppress(OSError):
                self.spool.reject(result.rejected)
            self.failed += len(result.rejected)
            log.error(
                "%d eventos recusados pelo transporte (veja %s): %s",
                len(result.rejected),
                self.spool.rejected_path,
                result.rejected[0][1],
            )
        return result

    def _step_orphan(self) -> bool:
        if self._degraded and time.monotonic() < self._next_attempt:
            return False
        orphan = self._orphans[0]
        part = ship_journal(
            orphan, self.transport, self.spool, batch_size=self.batch_size, max_batches=1
        )
        self.replayed += part.replayed
        self.failed += part.failed
        if part.error:
            self._set_degraded(part.error)
            return False
        if part.replayed:
            self._set_ok()
        if orphan.lock_fd is None:  # delivered to the end and removed
            with self._cond:
                self._orphans.pop(0)
        return True

    def _scan_orphans(self) -> None:
        try:
            self._orphans.extend(self.spool.adopt(exclude=[self.journal.path]))
            others = self.spool.status(exclude=[self.journal.path])
            self.journal.reserved_bytes = others["bytes"]
        except OSError as exc:
            log.warning("Não consegui ler o spool %s: %s", self.spool.dir, exc)
        with self._cond:
            self._scans += 1
            self._cond.notify_all()
