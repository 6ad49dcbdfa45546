"""Prediction events: the schema, a non-blocking logger, its transports, and the spool.

Every prediction becomes a :class:`PredictionEvent`. The service (and the widgets) hand it to
:meth:`EventLogger.emit`, which only puts it on a bounded in-memory queue and returns: a
prediction never waits for Elasticsearch or Fluentd. A worker thread takes batches off the queue
and sends them through one transport:

``elasticsearch``
    the bulk API (``helpers.streaming_bulk``) straight into ``model-YYYY.MM.DD`` (the UTC day of
    the event's ``@timestamp``) with ``_id = prediction_id`` — the embedded stack and CI;
``fluentd``
    the forward protocol through fluent-logger's ``FluentSender`` (tag ``model.prediction``,
    nanosecond ``EventTime``); by default each batch is one Forward-mode message carrying the
    ``chunk`` option, and it counts as delivered only when Fluentd acknowledges that chunk;
``jsonl``
    one JSON line per event in ``$WORKSHOP_HOME/events/events.jsonl``.

Nothing is dropped silently. When the transport fails, or the queue is full, events are appended
to ``$WORKSHOP_HOME/spool/events.jsonl`` (JSON lines, flushed and fsynced). The worker replays the
spool at start-up and whenever the transport is back; ``workshop events replay`` does it by hand.
Replayers claim the spool by renaming it under a file lock, so the worker of a running service
and a manual replay never send the same line twice at once. Re-sending is harmless anyway:
Elasticsearch and Fluentd (``id_key prediction_id``) use the prediction id as the document id.
Documents that the engine refuses for good (e.g. a mapping conflict) go to
``spool/rejected.jsonl`` with the reason and are counted as ``failed``.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import datetime as dt
import json
import logging
import math
import os
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

import msgpack
from fluent.sender import EventTime, FluentSender
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workshop.config import EventTransport, Settings, get_settings
from workshop.errors import InvalidInputError

log = logging.getLogger(__name__)

Document = dict[str, Any]

# --------------------------------------------------------------------------- schema


class Channel(StrEnum):
    """Where a prediction was asked from."""

    WIDGET = "widget"  # the ipywidgets form in a notebook
    HTTP = "http"  # the web form / JSON API of the model service
    SIMULATOR = "simulator"  # `workshop simulate` (header X-Workshop-Channel: simulator)
    BATCH = "batch"  # batch scoring from Python


class ProductLike(Protocol):
    """What :meth:`PredictionEvent.create` needs from ``workshop.dataset.Product``."""

    @property
    def item_nbr(self) -> str: ...

    @property
    def product(self) -> str: ...

    @property
    def family(self) -> str: ...


def _utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC datetime; a naive one is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _iso_utc(value: dt.datetime) -> str:
    """ISO-8601 with microseconds and a ``Z`` suffix, e.g. ``2025-03-01T12:00:00.123456Z``."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PredictionEvent(BaseModel):
    """One prediction, as logged to Elasticsearch / Fluentd (fields of DESIGN.md, Events)."""

    model_config = ConfigDict(
        populate_by_name=True, frozen=True, extra="forbid", protected_namespaces=()
    )

    timestamp: dt.datetime = Field(alias="@timestamp")
    prediction_id: str
    model_version: str = Field(min_length=1)
    channel: Channel
    date: dt.date
    item_nbr: str = Field(pattern=r"^\d+$")
    product: str = Field(min_length=1)
    family: str = Field(min_length=1)
    onpromotion: bool
    prediction: float
    latency_ms: float = Field(ge=0)
    actual: float | None = None
    abs_error: float | None = None
    labeled_at: dt.datetime | None = None

    @field_validator("timestamp", "labeled_at")
    @classmethod
    def _as_utc(cls, value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else _utc(value)

    @field_validator("prediction", "latency_ms", "actual", "abs_error")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("prediction_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        uuid.UUID(value)  # raises ValueError for anything that is not a UUID
        return value

    @classmethod
    def create(
        cls,
        *,
        prediction: float,
        model_version: str,
        channel: Channel | str,
        date: dt.date | str,
        product: ProductLike,
        onpromotion: bool,
        latency_ms: float,
        prediction_id: str | None = None,
        timestamp: dt.datetime | None = None,
    ) -> PredictionEvent:
        """A new event: ``prediction_id`` a fresh uuid4, ``@timestamp`` now (UTC).

        Invalid values raise :class:`InvalidInputError` (pt-BR).
        """
        try:
            return cls(
                timestamp=timestamp or dt.datetime.now(dt.UTC),
                prediction_id=prediction_id or str(uuid.uuid4()),
                model_version=model_version,
                channel=channel,
                date=date,
                item_nbr=product.item_nbr,
                product=product.product,
                family=product.family,
                onpromotion=onpromotion,
                prediction=float(prediction),
                latency_ms=float(latency_ms),
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise InvalidInputError(f"Evento de predição inválido — {problems}") from None

    def to_document(self) -> Document:
        """The Elasticsearch / Fluentd document (``@timestamp`` ISO-8601 UTC, ``date`` a day).

        The feedback fields (``actual``, ``abs_error``, ``labeled_at``) appear only once set.
        """
        doc: Document = {
            "@timestamp": _iso_utc(self.timestamp),
            "prediction_id": self.prediction_id,
            "model_version": self.model_version,
            "channel": self.channel.value,
            "date": self.date.isoformat(),
            "item_nbr": self.item_nbr,
            "product": self.product,
            "family": self.family,
            "onpromotion": self.onpromotion,
            "prediction": self.prediction,
            "latency_ms": self.latency_ms,
        }
        if self.actual is not None:
            doc["actual"] = self.actual
        if self.abs_error is not None:
            doc["abs_error"] = self.abs_error
        if self.labeled_at is not None:
            doc["labeled_at"] = _iso_utc(self.labeled_at)
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> PredictionEvent:
        """Parse a document back (e.g. ``_source`` of a search hit or a spool line)."""
        return cls.model_validate(dict(doc))


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T[^+]*Z$")


def index_name(ts: dt.datetime | str, prefix: str = "model") -> str:
    """``<prefix>-YYYY.MM.DD`` for the UTC day of ``ts`` (a naive datetime counts as UTC)."""
    if isinstance(ts, str):
        match = _ISO_DAY.match(ts)
        if match:  # our own "...Z" format: no parsing needed (hot path of the bulk transport)
            return f"{prefix}-{match[1]}.{match[2]}.{match[3]}"
        ts = dt.datetime.fromisoformat(ts)
    return f"{prefix}-{_utc(ts):%Y.%m.%d}"


def _timestamp_ns(doc: Mapping[str, Any]) -> int:
    """Nanoseconds since the epoch of a document's ``@timestamp``."""
    stamp = _utc(dt.datetime.fromisoformat(doc["@timestamp"]))
    micros = (stamp - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    return micros * 1000


def _as_document(event: PredictionEvent | Mapping[str, Any]) -> Document:
    if isinstance(event, PredictionEvent):
        return event.to_document()
    if isinstance(event, Mapping):
        doc = dict(event)
        if not doc.get("prediction_id") or not doc.get("@timestamp"):
            raise ValueError("document without prediction_id or @timestamp")
        return doc
    raise TypeError(f"not an event: {type(event).__name__}")


# --------------------------------------------------------------------------- transports


@dataclass
class SendResult:
    """What one transport call did with a batch of documents."""

    delivered: int = 0
    retry: list[Document] = field(default_factory=list)  # not delivered: spool, send again later
    rejected: list[tuple[Document, str]] = field(default_factory=list)  # refused for good
    error: str | None = None  # the transport itself failed (down, timeout, …)


class Transport(Protocol):
    name: str

    def send(self, docs: list[Document]) -> SendResult: ...

    def close(self) -> None: ...


def _describe(exc: BaseException) -> str:
    """``Type: message`` plus the underlying cause the client wraps (e.g. connection refused)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = getattr(exc, "message", None) or exc.__cause__
    if cause and str(cause) not in text:
        text += f" ({cause})"
    return text


def _retryable_status(status: Any) -> bool:
    return not isinstance(status, int) or status == 429 or status >= 500


class ElasticsearchTransport:
    """Bulk API into ``<prefix>-YYYY.MM.DD`` with ``_id = prediction_id``.

    The client comes from :func:`workshop.stack.connect` (embedded engine or real Elasticsearch)
    and is rebuilt after every failure, so a restarted engine (or one that was not up when the
    logger started, and so was not recognised as the embedded engine) is picked up again.
    """

    name = "elasticsearch"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        url: str | None = None,
        index_prefix: str | None = None,
        request_timeout: float = 10.0,
    ) -> None:
        self._settings = settings or get_settings()
        self.url = (url or self._settings.es_url).rstrip("/")
        self.index_prefix = index_prefix or self._settings.index_prefix
        self._request_timeout = request_timeout
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is None:
            from workshop import stack

            client = stack.connect(
                self._settings, url=self.url, request_timeout=self._request_timeout
            )
            # One attempt per call: the logger has its own retry (spool + replay with backoff).
            client = client.options(max_retries=0)
            if self.index_prefix == self._settings.index_prefix:
                # After an engine restart (the embedded one forgets everything) the template
                # must be back before the first event, or model-… gets guessed field types.
                stack.ensure_template(client)
            self._client = client
        return self._client

    def _actions(
        self, docs: list[Document], rejected: list[tuple[Document, str]]
    ) -> tuple[list[dict[str, Any]], list[Document]]:
        actions: list[dict[str, Any]] = []
        order: list[Document] = []  # docs in the order of their actions (= order of results)
        for doc in docs:
            try:
                actions.append(
                    {
                        "_op_type": "index",
                        "_index": index_name(doc["@timestamp"], self.index_prefix),
                        "_id": str(doc["prediction_id"]),
                        "_source": doc,
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                rejected.append((doc, f"documento inválido: {exc!r}"))
                continue
            order.append(doc)
        return actions, order

    def send(self, docs: list[Document]) -> SendResult:
        from elasticsearch import helpers

        result = SendResult()
        actions, order = self._actions(docs, result.rejected)
        if not actions:
            return result
        answered = 0
        try:
            client = self._connect()
            for ok, item in helpers.streaming_bulk(
                client,
                actions,
                chunk_size=len(actions),
                max_chunk_bytes=50 * 1024 * 1024,
                raise_on_error=False,
                raise_on_exception=True,
                max_retries=0,
            ):
                doc = order[answered]
                answered += 1
                if ok:
                    result.delivered += 1
                    continue
                info = next(iter(item.values()), {}) if isinstance(item, dict) else {}
                status = info.get("status")
                if _retryable_status(status):
                    result.retry.append(doc)
                    result.error = f"HTTP {status}: {info.get('error')}"
                else:
                    result.rejected.append((doc, f"HTTP {status}: {info.get('error')}"))
        except Exception as exc:  # connection refused, timeout, 406, 5xx of the whole request…
            self.close()
            result.retry.extend(order[answered:])
            result.error = _describe(exc)
        return result

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


class AckFluentSender(FluentSender):
    """fluent-logger's ``FluentSender`` plus the forward protocol's at-least-once option.

    :meth:`send_forward` sends a batch as one Forward-mode message ``[tag, [[time, record], …],
    {"size": n, "chunk": id}]`` and waits for Fluentd's ``{"ack": id}``: a batch counts as
    delivered only when Fluentd confirms it, so events in flight when Fluentd dies are not lost
    in a socket buffer. Connection handling (timeouts, reconnect, unix sockets) is the
    library's; its ``pendings`` buffer is never used (the spool replaces it).
    """

    def __init__(self, tag: str, *, ack_timeout: float = 5.0, **kwargs: Any) -> None:
        super().__init__(tag, nanosecond_precision=True, **kwargs)
        self.ack_timeout = ack_timeout

    def send_forward(self, entries: list[tuple[EventTime, Document]]) -> None:
        """Send and wait for the ack; raises ``OSError`` (also in ``last_error``) on failure."""
        chunk = base64.b64encode(uuid.uuid4().bytes).decode()
        packet = msgpack.packb(
            [self.tag, [[ts, rec] for ts, rec in entries], {"size": len(entries), "chunk": chunk}],
            **self.msgpack_kwargs,
        )
        with self.lock:
            self.pendings = None
            if self._closed:
                raise OSError("sender fechado")
            try:
                self._reconnect()
                sock = self.socket
                sock.settimeout(self.timeout)
                sock.sendall(packet)
                self._wait_ack(sock, chunk)
            except (OSError, ValueError) as exc:
                self.last_error = exc
                self._close()
                raise OSError(str(exc) or type(exc).__name__) from exc

    def _wait_ack(self, sock: Any, chunk: str) -> None:
        unpacker = msgpack.Unpacker(raw=False)
        deadline = time.monotonic() + self.ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"Fluentd não confirmou o recebimento (ack) em {self.ack_timeout:g} s"
                )
            sock.settimeout(min(remaining, self.timeout))
            try:
                data = sock.recv(4096)
            except TimeoutError:
                if time.monotonic() < deadline:
                    continue
                raise TimeoutError(
                    f"Fluentd não confirmou o recebimento (ack) em {self.ack_timeout:g} s"
                ) from None
            if not data:
                raise ConnectionResetError("Fluentd fechou a conexão antes de confirmar (ack)")
            unpacker.feed(data)
            for message in unpacker:
                if isinstance(message, dict) and message.get("ack") == chunk:
                    return


class FluentdTransport:
    """Forward protocol to Fluentd with fluent-logger, tag ``model.prediction``, EventTime.

    ``ack=True`` (default): each batch is one acknowledged Forward-mode message
    (:class:`AckFluentSender`). ``ack=False``: one ``FluentSender.emit_with_time`` per event
    (Message mode); a failure is read from the return value and ``last_error``, the library's
    pending buffer is cleared (those events go to our spool instead) — but bytes already handed
    to the socket when Fluentd dies can be lost, which is why ack is the default.
    """

    name = "fluentd"

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        tag: str | None = None,
        ack: bool = True,
        timeout: float = 3.0,
        ack_timeout: float = 5.0,
    ) -> None:
        settings = settings or get_settings()
        self.host = host or settings.fluentd_host
        self.port = port or settings.fluentd_port
        self.tag = tag or settings.event_tag
        self.ack = ack
        self._sender = AckFluentSender(
            self.tag, host=self.host, port=self.port, timeout=timeout, ack_timeout=ack_timeout
        )

    @staticmethod
    def _entries(
        docs: list[Document], rejected: list[tuple[Document, str]]
    ) -> list[tuple[EventTime, Document]]:
        entries = []
        for doc in docs:
            try:
                entries.append((EventTime.from_unix_nano(_timestamp_ns(doc)), doc))
            except (KeyError, TypeError, ValueError) as exc:
                rejected.append((doc, f"documento inválido: {exc!r}"))
        return entries

    def send(self, docs: list[Document]) -> SendResult:
        result = SendResult()
        entries = self._entries(docs, result.rejected)
        if not entries:
            return result
        if self.ack:
            try:
                self._sender.send_forward(entries)
                result.delivered = len(entries)
            except OSError as exc:
                result.retry = [doc for _, doc in entries]
                result.error = f"{type(exc).__name__}: {exc}"
            return result
        sender = self._sender
        for position, (stamp, doc) in enumerate(entries):
            if sender.emit_with_time(None, stamp, doc):
                result.delivered += 1
                continue
            error = sender.last_error
            with sender.lock:
                sender.pendings = None  # our spool keeps them, not the library's buffer
            sender.clear_last_error()
            result.retry = [d for _, d in entries[position:]]
            result.error = f"{type(error).__name__}: {error}" if error else "falha no envio"
            break
        return result

    def close(self) -> None:
        with self._sender.lock:
            self._sender.pendings = None
        with contextlib.suppress(Exception):
            self._sender.close()


class JsonlTransport:
    """Appends one JSON line per event to a file (offline exercises)."""

    name = "jsonl"

    def __init__(self, settings: Settings | None = None, *, path: Path | None = None) -> None:
        settings = settings or get_settings()
        self.path = path or settings.home_dir / "events" / "events.jsonl"

    def send(self, docs: list[Document]) -> SendResult:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, TypeError, ValueError) as exc:
            return SendResult(retry=list(docs), error=f"{type(exc).__name__}: {exc}")
        return SendResult(delivered=len(docs))

    def close(self) -> None:
        return None


def make_transport(settings: Settings | None = None, kind: str | None = None) -> Transport:
    """The transport named by ``WORKSHOP_EVENT_TRANSPORT`` (or ``kind``)."""
    settings = settings or get_settings()
    try:
        chosen = EventTransport(kind or settings.event_transport)
    except ValueError:
        raise InvalidInputError(
            f"Transporte de eventos desconhecido: {kind!r} (use elasticsearch, fluentd ou jsonl)"
        ) from None
    if chosen is EventTransport.FLUENTD:
        return FluentdTransport(settings)
    if chosen is EventTransport.JSONL:
        return JsonlTransport(settings)
    return ElasticsearchTransport(settings)


# --------------------------------------------------------------------------- spool


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


# --------------------------------------------------------------------------- the logger

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


# --------------------------------------------------------------------------- checking arrival


def count_events(
    es: Any = None,
    *,
    settings: Settings | None = None,
    channel: str | None = None,
    since: dt.datetime | None = None,
    ids: Iterable[str] | None = None,
    refresh: bool = True,
) -> int:
    """How many events are in ``model-*`` (optionally of one channel, since a time, or with
    these prediction ids). Refreshes the indices first so just-written events count."""
    from workshop import stack

    settings = settings or get_settings()
    es = es or stack.connect(settings)
    filters: list[dict[str, Any]] = []
    if channel:
        filters.append({"term": {"channel": channel}})
    if since is not None:
        filters.append({"range": {"@timestamp": {"gte": _iso_utc(since)}}})
    if ids is not None:
        filters.append({"ids": {"values": list(ids)}})
    query = {"bool": {"filter": filters}} if filters else {"match_all": {}}
    try:
        if refresh:
            es.indices.refresh(
                index=settings.index_pattern, ignore_unavailable=True, allow_no_indices=True
            )
        resp = es.count(
            index=settings.index_pattern,
            query=query,
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except Exception as exc:
        from workshop.stack import es_error

        raise es_error(exc, f"contar os eventos em {settings.index_pattern}", settings) from None
    return int(resp["count"])


def wait_for_events(
    expected: int,
    *,
    timeout: float = 30.0,
    interval: float = 0.5,
    es: Any = None,
    settings: Settings | None = None,
    **filters: Any,
) -> int:
    """Poll :func:`count_events` until it reaches ``expected`` or ``timeout``; the last count.

    For events written by another process (e.g. the service's logger) that this process cannot
    ``flush()``.
    """
    deadline = time.monotonic() + timeout
    while True:
        count = count_events(es, settings=settings, **filters)
        if count >= expected or time.monotonic() >= deadline:
            return count
        time.sleep(interval)


def spool_status(settings: Settings | None = None) -> dict[str, Any]:
    """Pending and refused events in ``$WORKSHOP_HOME/spool`` (for the CLI)."""
    settings = settings or get_settings()
    spool = Spool(settings.spool_dir)
    return {
        "spool_dir": str(spool.dir),
        "spool_size": spool.size(),
        "rejected": spool.rejected_count(),
    }


__all__ = [
    "AckFluentSender",
    "Channel",
    "ElasticsearchTransport",
    "EventLogger",
    "FluentdTransport",
    "JsonlTransport",
    "PredictionEvent",
    "ReplayResult",
    "SendResult",
    "Spool",
    "Transport",
    "count_events",
    "default_logger",
    "index_name",
    "make_transport",
    "replay",
    "replay_spool",
    "spool_status",
    "wait_for_events",
]
