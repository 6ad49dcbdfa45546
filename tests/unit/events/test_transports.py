"""Unit tests of workshop.events.transports (no servers: unreachable ports, a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


class _Answer:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class _BulkClient:
    """Answers ``bulk`` like the engine would, and records the ``filter_path`` of each call."""

    def __init__(self, refused: int | None) -> None:
        self.refused = refused  # the position of the item the engine refuses, if any
        self.filters: list[str] = []

    def bulk(self, *, operations: bytes, filter_path: str) -> _Answer:
        self.filters.append(filter_path)
        lines = operations.splitlines()
        assert all(b'"_id":' in action for action in lines[::2])  # an action line before each
        if self.refused is None:
            return _Answer({"errors": False})
        if filter_path == "errors":
            return _Answer({"errors": True})
        items = [{"index": {"status": 201}} for _ in lines[::2]]
        items[self.refused] = {"index": {"status": 400, "error": {"type": "mapper_parsing"}}}
        return _Answer({"errors": True, "items": items})


@pytest.mark.parametrize("refused", [None, 1])
def test_send_lines_reads_item_statuses_only_when_the_engine_reports_errors(
    tmp_path: Path, refused: int | None
) -> None:
    """A clean batch costs one request answered ``{"errors":false}``; a batch with a refused
    item goes again, asking each item's status (a resend under the same ids is harmless)."""
    from workshop.events.schema import encode_line

    transport = ev.ElasticsearchTransport(get_settings(home=tmp_path / "home"))
    client = _BulkClient(refused)
    transport._client = client
    lines = [encode_line(make_event().to_document()) for _ in range(3)]
    result = transport.send_lines(lines)
    if refused is None:
        assert client.filters == ["errors"] and result.delivered == 3 and not result.rejected
    else:
        assert client.filters[0] == "errors" and "items.*.status" in client.filters[1]
        assert result.delivered == 2 and not result.retry
        assert [text for text, _ in result.rejected] == [lines[1].decode().rstrip("\n")]
