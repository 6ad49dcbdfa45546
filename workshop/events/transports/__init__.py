"""The three ways an event leaves the process, and :func:`make_transport` to pick one."""

from __future__ import annotations

from workshop.config import EventTransport, Settings, get_settings
from workshop.errors import InvalidInputError
from workshop.events.transports.base import SendResult, Transport
from workshop.events.transports.elasticsearch import ElasticsearchTransport
from workshop.events.transports.fluentd import AckFluentSender, FluentdTransport
from workshop.events.transports.jsonl import JsonlTransport


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


__all__ = [
    "AckFluentSender",
    "ElasticsearchTransport",
    "FluentdTransport",
    "JsonlTransport",
    "SendResult",
    "Transport",
    "make_transport",
]
