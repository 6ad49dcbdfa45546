"""A Fluentd forward-protocol receiver for tests: what would Fluentd's ``in_forward`` see?

It decodes the four event modes of the Forward Protocol Specification v1
(https://github.com/fluent/fluentd/wiki/Forward-Protocol-Specification-v1):

- Message: ``[tag, time, record]`` or ``[tag, time, record, option]``
- Forward: ``[tag, [[time, record], ...], option?]``
- PackedForward: ``[tag, <bin: msgpack stream of [time, record]>, option?]``
- CompressedPackedForward: PackedForward with ``option["compressed"] == "gzip"``

``time`` is an integer (seconds) or an ``EventTime`` (msgpack ext type 0: big-endian uint32
seconds + uint32 nanoseconds). When the option carries ``chunk``, the receiver answers
``{"ack": chunk}`` after it has recorded the message, as Fluentd does.

``stop()`` takes the receiver down the way a stopping Fluentd does: no new connections, the
messages already read are recorded and acknowledged, the rest is never acknowledged.
``start()`` brings it back on the same port.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack


class EventTimeValue(NamedTuple):
    seconds: int
    nanoseconds: int

    @property
    def unix_nano(self) -> int:
        return self.seconds * 1_000_000_000 + self.nanoseconds


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0 and len(data) == 8:
        seconds, nanos = struct.unpack(">II", data)
        return EventTimeValue(seconds, nanos)
    return msgpack.ExtType(code, data)


def _unpacker() -> msgpack.Unpacker:
    return msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)


@dataclass(frozen=True)
class ReceivedEvent:
    tag: str
    time: EventTimeValue | int
    record: dict[str, Any]
    mode: str  # message | forward | packed_forward | compressed_packed_forward

    @property
    def is_event_time(self) -> bool:
        return isinstance(self.time, EventTimeValue)


class ProtocolError(ValueError):
    pass


def decode_message(message: Any) -> tuple[list[ReceivedEvent], dict[str, Any]]:
    """Events and option of one forward-protocol message."""
    if not isinstance(message, list) or len(message) < 2 or not isinstance(message[0], str):
        raise ProtocolError(f"not a forward-protocol message: {message!r:.200}")
    tag, second = message[0], message[1]
    if isinstance(second, list):  # Forward
        option = message[2] if len(message) > 2 else {}
        entries = [(t, r) for t, r in second]
        mode = "forward"
    elif isinstance(second, bytes | str):  # PackedForward (bin, or str from old clients)
        option = message[2] if len(message) > 2 else {}
        raw = second.encode() if isinstance(second, str) else second
        mode = "packed_forward"
        if option.get("compressed") == "gzip":
            raw = _gunzip_all(raw)
            mode = "compressed_packed_forward"
        unpacker = _unpacker()
        unpacker.feed(raw)
        entries = [(t, r) for t, r in unpacker]
    elif isinstance(second, int | EventTimeValue):  # Message
        if len(message) < 3:
            raise ProtocolError("Message mode without a record")
        option = message[3] if len(message) > 3 else {}
        entries = [(second, message[2])]
        mode = "message"
    else:
        raise ProtocolError(f"unknown entries type {type(second).__name__}")
    if not isinstance(option, dict):
        raise ProtocolError("option is not a map")
    events = []
    for stamp, record in entries:
        if not isinstance(stamp, int | EventTimeValue) or not isinstance(record, dict):
            raise ProtocolError(f"bad entry {stamp!r} {record!r:.100}")
        events.append(ReceivedEvent(tag, stamp, record, mode))
    if "size" in option and option["size"] != len(events):
        raise ProtocolError(f"option size {option['size']} != {len(events)} entries")
    return events, option


def _gunzip_all(data: bytes) -> bytes:
    """Gzip payloads may be several concatenated members (one per appended chunk)."""
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
        return fh.read()


class FluentReceiver:
    """Threaded forward-protocol server on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or 0
        self._events: list[ReceivedEvent] = []
        self.errors: list[str] = []
        self.acks_sent = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._server: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -------------------------------------------------------------- lifecycle
    def start(self) -> FluentReceiver:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self.port))
        server.listen(64)
        server.settimeout(0.1)
        self.port = server.getsockname()[1]
        self._server = server
        self._stopping.clear()
        thread = threading.Thread(target=self._accept_loop, args=(server,), daemon=True)
        thread.start()
        self._threads = [thread]
        return self

    def stop(self) -> None:
        self._stopping.set()
        # The accept thread first: once it is gone no connection thread can be added, so the
        # second pass joins every one of them (a connection thread still running after stop()
        # returned could read, record and acknowledge a batch meant for the next receiver).
        accept, *_ = self._threads or [None]
        if accept is not None:
            accept.join(5)
        for thread in list(self._threads):
            thread.join(5)
        self._threads = []
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FluentReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- results
    @property
    def events(self) -> list[ReceivedEvent]:
        with self._lock:
            return list(self._events)

    def id_counts(self, key: str = "prediction_id") -> Counter[str]:
        with self._lock:
            return Counter(e.record.get(key) for e in self._events)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[ReceivedEvent]:
        """Wait until at least ``n`` events arrived (or timeout); returns them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._events) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._events)

    # -------------------------------------------------------------- server side
    def _accept_loop(self, server: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)
        # stop(): refuse new connections at once, as a stopped Fluentd does
        with contextlib.suppress(OSError):
            server.close()

    def _serve(self, conn: socket.socket) -> None:
        unpacker = _unpacker()
        conn.settimeout(0.05)
        try:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                unpacker.feed(data)
                for message in unpacker:
                    try:
                        events, option = decode_message(message)
                    except ProtocolError as exc:
                        self.errors.append(str(exc))
                        return  # Fluentd closes the connection on garbage
                    with self._cond:
                        self._events.extend(events)
                        self._cond.notify_all()
                    if "chunk" in option:
                        with self._lock:
                            self.acks_sent += 1
                        conn.sendall(msgpack.packb({"ack": option["chunk"]}))
            # Going down: acks already written are delivered before the FIN; anything the
            # client sends from now on is never read, hence never acknowledged.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_WR)
            with contextlib.suppress(OSError):
                conn.settimeout(0.2)
                while conn.recv(65536):
                    pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
