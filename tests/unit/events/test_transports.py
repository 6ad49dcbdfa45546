"""Unit tests of workshop.events.transports (no servers: unreachable ports, a file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.unit.events.fakes import make_event
from workshop import events as ev
from workshop.config import get_settings
from workshop.errors import InvalidInputError


def test_make_transport_follows_settings(tmp_path: Path) -> None:
    for kind, cls in [
        ("elasticsearch", ev.ElasticsearchTransport),
        ("fluentd", ev.FluentdTransport),
        ("jsonl", ev.JsonlTransport),
    ]:
        transport = ev.make_transport(get_settings(event_transport=kind, home=tmp_path))
        assert isinstance(transport, cls) and transport.name == kind
        transport.close()
    with pytest.raises(InvalidInputError, match="Transporte de eventos desconhecido"):
        ev.make_transport(get_settings(home=tmp_path), kind="kafka")


def test_jsonl_transport_appends_documents(tmp_path: Path) -> None:
    transport = ev.JsonlTransport(get_settings(home=tmp_path))
    docs = [make_event().to_document() for _ in range(3)]
    assert transport.send(docs).delivered == 3
    lines = (tmp_path / "events" / "events.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == docs


@pytest.mark.parametrize("kind", ["elasticsearch", "fluentd-ack", "fluentd-message"])
def test_unreachable_transport_returns_everything_for_retry(tmp_path: Path, kind: str) -> None:
    port = free_port()  # nothing listens there
    settings = get_settings(
        es_url=f"http://127.0.0.1:{port}",
        fluentd_port=port,
        fluentd_host="127.0.0.1",
        home=tmp_path,
    )
    if kind == "elasticsearch":
        transport: ev.Transport = ev.ElasticsearchTransport(settings)
    else:
        transport = ev.FluentdTransport(settings, ack=kind == "fluentd-ack", timeout=1.0)
    docs = [make_event().to_document() for _ in range(5)]
    result = transport.send(docs)
    assert result.delivered == 0 and result.retry == docs and result.error
    if kind.startswith("fluentd"):
        sender = transport._sender  # type: ignore[attr-defined]
        assert sender.pendings is None  # nothing held back inside fluent-logger
    transport.close()
