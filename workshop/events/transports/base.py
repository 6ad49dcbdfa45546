"""What every transport returns and promises (:class:`SendResult`, :class:`Transport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from workshop.events.schema import Document


@dataclass
class SendResult:
    """What one transport call did with a batch: documents (``send``) or lines (``send_lines``).

    ``retry`` and ``rejected`` hold what the call was given (documents, or lines as bytes and,
    for ``rejected``, as text)."""

    delivered: int = 0
    retry: list[Any] = field(default_factory=list)  # not delivered: spool, send again later
    rejected: list[tuple[Any, str]] = field(default_factory=list)  # refused for good
    error: str | None = None  # the transport itself failed (down, timeout, …)


class Transport(Protocol):
    name: str

    def send(self, docs: list[Document]) -> SendResult: ...

    def close(self) -> None: ...


class LineTransport(Transport, Protocol):
    """A transport that also takes the journal's lines as they are (no parse on the way)."""

    def send_lines(self, lines: list[bytes]) -> SendResult: ...


def _describe(exc: BaseException) -> str:
    """``Type: message`` plus the underlying cause the client wraps (e.g. connection refused)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = getattr(exc, "message", None) or exc.__cause__
    if cause and str(cause) not in text:
        text += f" ({cause})"
    return text


def _retryable_status(status: Any) -> bool:
    return not isinstance(status, int) or status == 429 or status >= 500
