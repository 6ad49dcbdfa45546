"""Prediction events, in the order they travel: schema → logger → transport, spool on failure.

``schema``
    :class:`PredictionEvent`, its document and its daily index ``model-YYYY.MM.DD``.
``logger``
    :class:`EventLogger`: ``emit`` only queues (a prediction never waits); a worker thread sends
    batches through one transport; :func:`default_logger` is the process-wide one.
``transports``
    ``elasticsearch`` (bulk API, ``_id = prediction_id``), ``fluentd`` (forward protocol with
    acknowledged chunks), ``jsonl`` (a local file); :func:`make_transport` picks one from settings.
``spool``
    what could not be sent waits on disk and is replayed (:func:`replay`).
``arrival``
    counting the events that reached the engine, and waiting for them.

Nothing is dropped silently: an event is sent, spooled, or kept in ``spool/rejected.jsonl`` with
the reason the engine refused it.
"""

from workshop.events.arrival import count_events, wait_for_events
from workshop.events.default import close_default, default_logger
from workshop.events.logger import EventLogger
from workshop.events.schema import Channel, Document, PredictionEvent, ProductLike, index_name
from workshop.events.spool import ReplayResult, Spool, replay, replay_spool, spool_status
from workshop.events.transports import (
    AckFluentSender,
    ElasticsearchTransport,
    FluentdTransport,
    JsonlTransport,
    SendResult,
    Transport,
    make_transport,
)

__all__ = [
    "AckFluentSender",
    "Channel",
    "Document",
    "ElasticsearchTransport",
    "EventLogger",
    "FluentdTransport",
    "JsonlTransport",
    "PredictionEvent",
    "ProductLike",
    "ReplayResult",
    "SendResult",
    "Spool",
    "Transport",
    "close_default",
    "count_events",
    "default_logger",
    "index_name",
    "make_transport",
    "replay",
    "replay_spool",
    "spool_status",
    "wait_for_events",
]
