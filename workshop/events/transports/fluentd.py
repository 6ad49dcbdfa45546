"""``fluentd``: the forward protocol through fluent-logger's ``FluentSender`` (tag
``model.prediction``, nanosecond ``EventTime``). By default each batch is one Forward-mode message
carrying the ``chunk`` option, and it counts as delivered only when Fluentd acknowledges it."""

from __future__ import annotations

import base64
import contextlib
import time
import uuid
from typing import Any

import msgpack
from fluent.sender import EventTime, FluentSender

from workshop.config import Settings, get_settings
from workshop.events.schema import Document, _timestamp_ns
from workshop.events.transports.base import SendResult


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
            reused = self.socket is not None
            try:
                try:
                    self._send_once(packet, chunk)
                except ConnectionError:
                    if not reused:
                        raise
                    # A kept-alive connection to a Fluentd that restarted since: the kernel takes
                    # the bytes, the peer answers with a reset. Once, on a fresh connection,
                    # before the batch counts as failed (a resend is harmless: id_key).
                    self._close()
                    self._send_once(packet, chunk)
            except (OSError, ValueError) as exc:
                self.last_error = exc
                self._close()
                raise OSError(str(exc) or type(exc).__name__) from exc

    def _send_once(self, packet: bytes, chunk: str) -> None:
        self._reconnect()
        sock = self.socket
        sock.settimeout(self.timeout)
        sock.sendall(packet)
        self._wait_ack(sock, chunk)

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


def speaks_forward(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when ``host:port`` answers the Forward protocol as Fluentd's ``in_forward`` does.

    Sends one Message-mode event ``["workshop.doctor", time, {...}, {"chunk": id}]`` and waits
    for ``{"ack": id}`` (Forward Protocol Specification v1, "chunk" option). Issue 13: any
    program on 24224 used to count as Fluentd. The tag matches no ``<match model.**>``, so
    nothing is written to Elasticsearch (Fluentd logs one "no patterns matched" line).
    """
    import base64
    import secrets
    import socket
    import time

    import msgpack

    chunk = base64.b64encode(secrets.token_bytes(12)).decode()
    message = msgpack.packb(
        ["workshop.doctor", int(time.time()), {"check": "workshop doctor"}, {"chunk": chunk}]
    )
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(message)
            unpacker = msgpack.Unpacker(raw=False)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                data = sock.recv(4096)
                if not data:
                    return False
                unpacker.feed(data)
                for answer in unpacker:
                    return isinstance(answer, dict) and answer.get("ack") == chunk
    except (OSError, ValueError, msgpack.UnpackException):
        return False
    return False
