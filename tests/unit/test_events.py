"""Unit tests of workshop.events: schema, logger, spool and replay (no servers)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from workshop import events as ev
from workshop.config import get_settings
from workshop.errors import InvalidInputError


@dataclass(frozen=True)
class FakeProduct:
    item_nbr: str = "103520"
    product: str = "Leite integral 1L"
    family: str = "LATICÍNIOS"


def make_event(**overrides: Any) -> ev.PredictionEvent:
    kwargs: dict[str, Any] = {
        "prediction": 4.5,
        "model_version": "v1",
        "channel": "http",
        "date": "2025-03-01",
        "product": FakeProduct(),
        "onpromotion": True,
        "latency_ms": 1.25,
    }
    kwargs.update(overrides)
    return ev.PredictionEvent.create(**kwargs)


class FakeTransport:
    """In-memory transport that can be switched down; records every delivered document."""

    name = "fake"

    def __init__(self) -> None:
        self.up = True
        self.delivered: list[dict[str, Any]] = []
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def send(self, docs: list[dict[str, Any]]) -> ev.SendResult:
        self.gate.wait()
        with self.lock:
            self.calls += 1
            if not self.up:
                return ev.SendResult(retry=list(docs), error="ConnectionError: down")
            self.delivered.extend(docs)
            return ev.SendResult(delivered=len(docs))

    def close(self) -> None:
        return None

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(d["prediction_id"] for d in self.delivered)


# --------------------------------------------------------------------------- schema


def test_create_fills_id_and_utc_timestamp() -> None:
    before = dt.datetime.now(dt.UTC)
    event = make_event()
    assert uuid.UUID(event.prediction_id).version == 4
    assert event.timestamp.tzinfo is not None
    assert before <= event.timestamp <= dt.datetime.now(dt.UTC)
    assert event.date == dt.date(2025, 3, 1)
    assert event.channel is ev.Channel.HTTP
    assert (event.item_nbr, event.product, event.family) == (
        "103520",
        "Leite integral 1L",
        "LATICÍNIOS",
    )


def test_document_has_exactly_the_design_fields() -> None:
    stamp = dt.datetime(2025, 3, 1, 23, 30, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    doc = make_event(timestamp=stamp).to_document()
    assert doc == {
        "@timestamp": "2025-03-02T02:30:00.123456Z",
        "prediction_id": doc["prediction_id"],
        "model_version": "v1",
        "channel": "http",
        "date": "2025-03-01",
        "item_nbr": "103520",
        "product": "Leite integral 1L",
        "family": "LATICÍNIOS",
        "onpromotion": True,
        "prediction": 4.5,
        "latency_ms": 1.25,
    }
    json.dumps(doc)  # plain JSON types only


def test_document_round_trip_and_alias() -> None:
    event = make_event()
    doc = event.to_document()
    assert ev.PredictionEvent.from_document(doc) == event
    labelled = dict(doc, actual=3.0, abs_error=1.5, labeled_at="2025-03-05T10:00:00Z")
    back = ev.PredictionEvent.from_document(labelled)
    assert back.actual == 3.0 and back.labeled_at == dt.datetime(2025, 3, 5, 10, tzinfo=dt.UTC)
    assert back.to_document()["labeled_at"] == "2025-03-05T10:00:00.000000Z"
    assert ev.PredictionEvent.model_fields["timestamp"].alias == "@timestamp"


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel": "email"},
        {"date": "2025-02-30"},
        {"prediction": float("nan")},
        {"latency_ms": -1.0},
        {"product": FakeProduct(item_nbr="abc")},
        {"model_version": ""},
    ],
)
def test_invalid_event_raises_pt_br(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError, match="Evento de predição inválido"):
        make_event(**overrides)


def test_index_name_uses_utc_day() -> None:
    late_in_sao_paulo = dt.datetime(2025, 12, 31, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3)))
    assert ev.index_name(late_in_sao_paulo) == "model-2026.01.01"
    assert ev.index_name(dt.datetime(2025, 1, 2, 3, 4)) == "model-2025.01.02"  # naive = UTC
    assert ev.index_name("2025-01-02T23:59:59.999999Z", prefix="x") == "x-2025.01.02"
    assert ev.index_name("2025-01-02T23:00:00-03:00") == "model-2025.01.03"


# --------------------------------------------------------------------------- logger


def test_emit_flush_delivers_every_event_once(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=64)
    emitted = [make_event() for _ in range(1000)]
    for event in emitted:
        logger.emit(event)
    assert logger.flush(timeout=10)
    counts = transport.ids()
    assert set(counts) == {e.prediction_id for e in emitted}
    assert max(counts.values()) == 1
    stats = logger.stats()
    assert stats == {
        "transport": "fake",
        "state": "ok",
        "sent": 1000,
        "spooled": 0,
        "replayed": 0,
        "failed": 0,
        "queued": 0,
        "spool_size": 0,
        "last_error": None,
    }
    logger.close()


def test_steady_trickle_is_sent_in_batches_after_the_linger(tmp_path: Path) -> None:
    """Events emitted one by one within the linger window go out as one bulk, not one each."""
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", linger=0.5)
    try:
        emitted = [make_event() for _ in range(20)]
        for event in emitted:
            logger.emit(event)
            time.sleep(0.005)  # a steady trickle, like requests to the service
        deadline = time.monotonic() + 10
        while sum(transport.ids().values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert set(transport.ids()) == {e.prediction_id for e in emitted}
        assert transport.calls <= 2, f"{transport.calls} bulk requests for 20 events"
    finally:
        logger.close()


def test_flush_does_not_wait_for_the_linger(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", linger=30.0)
    try:
        logger.emit(make_event())
        started = time.monotonic()
        assert logger.flush(timeout=10)
        assert time.monotonic() - started < 5, "flush waited for the 30 s linger"
        assert sum(transport.ids().values()) == 1
    finally:
        logger.close(timeout=5)


def test_emit_returns_at_once_while_transport_hangs(tmp_path: Path) -> None:
    transport = FakeTransport()
    transport.gate.clear()  # every send blocks
    logger = ev.EventLogger(transport, tmp_path / "spool", queue_size=100, batch_size=10)
    started = time.monotonic()
    for _ in range(500):
        logger.emit(make_event())
    assert time.monotonic() - started < 2.0  # 500 emits never waited for the transport
    transport.gate.set()
    assert logger.flush(timeout=10)
    stats = logger.stats()
    # the queue (100) overflowed: the rest went to the spool, then was replayed
    assert stats["spooled"] > 0
    assert stats["sent"] + stats["replayed"] == 500
    assert sum(transport.ids().values()) == 500
    logger.close()


def test_failure_spools_then_replays_without_loss(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=20, retry_min=0.05)
    first = [make_event() for _ in range(100)]
    for event in first:
        logger.emit(event)
    assert logger.flush(timeout=5)
    transport.up = False
    down = [make_event() for _ in range(150)]
    for event in down:
        logger.emit(event)
    assert not logger.flush(timeout=2)  # transport down: events wait in the spool
    stats = logger.stats()
    assert stats["state"] == "degraded"
    assert stats["spool_size"] == 150 and stats["spooled"] == 150
    assert "down" in stats["last_error"]
    spool_lines = (tmp_path / "spool" / "events.jsonl").read_text().splitlines()
    assert {json.loads(line)["prediction_id"] for line in spool_lines} == {
        e.prediction_id for e in down
    }
    transport.up = True
    after = [make_event() for _ in range(50)]
    for event in after:
        logger.emit(event)
    assert logger.flush(timeout=10)
    counts = transport.ids()
    assert set(counts) == {e.prediction_id for e in first + down + after}
    assert max(counts.values()) == 1
    stats = logger.stats()
    assert stats["state"] == "ok" and stats["spool_size"] == 0
    assert stats["last_error"] is None  # cleared once the transport is back
    # events emitted while the logger still waits out its back-off also go through the spool
    assert stats["sent"] + stats["replayed"] == 300 and stats["replayed"] >= 150
    logger.close()


def test_emit_never_raises_and_bad_events_are_kept(tmp_path: Path) -> None:
    transport = FakeTransport()
    logger = ev.EventLogger(transport, tmp_path / "spool")
    logger.emit(object())  # type: ignore[arg-type]
    logger.emit({"no": "id"})
    logger.emit(make_event())
    assert logger.flush(timeout=5)
    stats = logger.stats()
    assert stats["failed"] == 2 and stats["sent"] == 1
    rejected = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert len(rejected) == 2
    assert all("reason" in json.loads(line) for line in rejected)
    logger.close()


def test_close_spools_what_the_transport_did_not_take(tmp_path: Path) -> None:
    transport = FakeTransport()
    transport.gate.clear()
    logger = ev.EventLogger(transport, tmp_path / "spool", batch_size=10)
    emitted = [make_event() for _ in range(200)]
    for event in emitted:
        logger.emit(event)
    logger.close(timeout=0.5)  # the worker hangs in send(): everything must reach the disk
    spool = ev.Spool(tmp_path / "spool")
    on_disk = {json.loads(line)["prediction_id"] for line in spool.pending.read_text().splitlines()}
    assert on_disk == {e.prediction_id for e in emitted}
    late = make_event()
    logger.emit(late)  # after close: still kept
    assert late.prediction_id in spool.pending.read_text()
    transport.gate.set()


def test_next_start_replays_the_spool(tmp_path: Path) -> None:
    down = FakeTransport()
    down.up = False
    logger = ev.EventLogger(down, tmp_path / "spool")
    emitted = [make_event() for _ in range(30)]
    for event in emitted:
        logger.emit(event)
    logger.close()
    assert ev.Spool(tmp_path / "spool").size() == 30
    up = FakeTransport()
    logger = ev.EventLogger(up, tmp_path / "spool")
    assert logger.flush(timeout=5)
    assert set(up.ids()) == {e.prediction_id for e in emitted}
    assert logger.stats()["replayed"] == 30
    logger.close()


# --------------------------------------------------------------------------- spool


def test_concurrent_replayers_send_each_line_once(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(2000)]
    transport = FakeTransport()
    results: list[ev.ReplayResult] = []

    def writer() -> None:
        for start in range(0, len(docs), 50):
            spool.append(docs[start : start + 50])

    def replayer() -> None:
        for _ in range(20):
            results.append(ev.replay_spool(spool, transport, batch_size=37))

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=replayer) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.append(ev.replay_spool(spool, transport))
    counts = transport.ids()
    assert set(counts) == {d["prediction_id"] for d in docs}
    assert max(counts.values()) == 1
    assert sum(r.replayed for r in results) == 2000
    assert spool.size() == 0


def test_replay_failure_puts_everything_back(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(100)]
    spool.append(docs[:60])
    spool.claim()  # a claim of this (live) process: left alone by the replay below
    spool.append(docs[60:])
    transport = FakeTransport()
    transport.up = False
    result = ev.replay_spool(spool, transport)
    assert not result.ok and result.replayed == 0
    assert spool.size() == 100
    assert len(list(tmp_path.glob("replaying-*.jsonl"))) == 1


def test_claims_of_dead_processes_are_adopted(tmp_path: Path) -> None:
    spool = ev.Spool(tmp_path)
    docs = [make_event().to_document() for _ in range(10)]
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    orphan = tmp_path / f"replaying-{int(dead.stdout)}-abc.jsonl"
    orphan.write_text("".join(json.dumps(d) + "\n" for d in docs) + '{"truncated": ')
    transport = FakeTransport()
    result = ev.replay_spool(spool, transport)
    assert result.replayed == 10 and result.failed == 1
    assert not orphan.exists() and spool.size() == 0
    assert spool.rejected_count() == 1


# --------------------------------------------------------------------------- transports


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


def test_default_logger_is_one_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_EVENT_TRANSPORT", "jsonl")
    monkeypatch.setattr(ev, "_default", None)
    logger = ev.default_logger()
    assert ev.default_logger() is logger
    logger.emit(make_event())
    assert logger.flush(timeout=5)
    assert logger.stats()["transport"] == "jsonl" and logger.stats()["sent"] == 1
    ev._close_default()
    assert ev._default is None
