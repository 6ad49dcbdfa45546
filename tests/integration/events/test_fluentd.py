"""The fluentd transport against a forward-protocol receiver: decoding and reliability."""

from __future__ import annotations

import base64
import gzip
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
from fluent.sender import EventTime

from tests.integration.fluent_receiver import EventTimeValue, FluentReceiver
from workshop import events as ev
from workshop.config import get_settings


@dataclass(frozen=True)
class FakeProduct:
    item_nbr: str
    product: str
    family: str


PRODUCTS = [
    FakeProduct("103520", "Leite integral 1L", "LATICÍNIOS"),
    FakeProduct("105574", "Pão francês", "PADARIA"),
    FakeProduct("108079", "Água mineral 1,5L", "BEBIDAS"),
]


def make_event(i: int = 0) -> ev.PredictionEvent:
    return ev.PredictionEvent.create(
        prediction=1.5 + i,
        model_version="v1",
        channel="simulator",
        date="2025-06-01",
        product=PRODUCTS[i % len(PRODUCTS)],
        onpromotion=i % 2 == 0,
        latency_ms=0.5 + i / 1000,
    )


@pytest.fixture
def receiver() -> Any:
    with FluentReceiver() as server:
        yield server


def fluentd_logger(port: int, spool: Path, *, ack: bool = True, **kwargs: Any) -> ev.EventLogger:
    settings = get_settings(fluentd_host="127.0.0.1", fluentd_port=port, home=spool.parent)
    transport = ev.FluentdTransport(settings, ack=ack, timeout=2.0, ack_timeout=2.0)
    return ev.EventLogger(transport, spool, **kwargs)


def _send_raw(port: int, payload: bytes, expect_ack: str | None = None) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        if expect_ack:
            unpacker = msgpack.Unpacker(raw=False)
            while True:
                data = sock.recv(4096)
                assert data, "connection closed without ack"
                unpacker.feed(data)
                answers = list(unpacker)
                if answers:
                    assert answers == [{"ack": expect_ack}]
                    return


def test_receiver_decodes_every_mode(receiver: FluentReceiver) -> None:
    stamp = EventTime.from_unix_nano(1_700_000_000_123_456_789)
    rec = {"prediction_id": "x", "n": 1}
    total = 0

    def send(payload: bytes, n_events: int, expect_ack: str | None = None) -> None:
        nonlocal total
        _send_raw(receiver.port, payload, expect_ack)
        total += n_events
        assert len(receiver.wait_for(total)) == total

    send(msgpack.packb(["t.message", 1_700_000_000, rec]), 1)
    send(msgpack.packb(["t.message_et", stamp, rec, {}]), 1)
    send(msgpack.packb(["t.forward", [[stamp, {"n": 2}], [1_700_000_001, {"n": 3}]]]), 2)
    packed = msgpack.packb([stamp, {"n": 4}]) + msgpack.packb([stamp, {"n": 5}])
    send(msgpack.packb(["t.packed", packed, {"size": 2}]), 2)
    compressed = gzip.compress(msgpack.packb([stamp, {"n": 6}])) + gzip.compress(
        msgpack.packb([stamp, {"n": 7}])
    )
    chunk = base64.b64encode(b"0123456789abcdef").decode()
    send(
        msgpack.packb(["t.gz", compressed, {"compressed": "gzip", "chunk": chunk, "size": 2}]),
        2,
        expect_ack=chunk,
    )
    events = receiver.wait_for(8)
    assert [(e.tag, e.mode) for e in events] == [
        ("t.message", "message"),
        ("t.message_et", "message"),
        ("t.forward", "forward"),
        ("t.forward", "forward"),
        ("t.packed", "packed_forward"),
        ("t.packed", "packed_forward"),
        ("t.gz", "compressed_packed_forward"),
        ("t.gz", "compressed_packed_forward"),
    ]
    assert events[0].time == 1_700_000_000 and not events[0].is_event_time
    assert events[1].time == EventTimeValue(1_700_000_000, 123_456_789)
    assert [e.record.get("n") for e in events] == [1, 1, 2, 3, 4, 5, 6, 7]
    assert receiver.acks_sent == 1 and not receiver.errors


@pytest.mark.parametrize("ack", [True, False], ids=["forward-with-ack", "message-mode"])
def test_logger_sends_tag_eventtime_and_every_field(
    receiver: FluentReceiver, tmp_path: Path, ack: bool
) -> None:
    logger = fluentd_logger(receiver.port, tmp_path / "spool", ack=ack)
    emitted = [make_event(i) for i in range(25)]
    for event in emitted:
        logger.emit(event)
    assert logger.flush(timeout=10)
    logger.close()
    received = receiver.wait_for(25)
    assert len(received) == 25
    by_id = {e.record["prediction_id"]: e for e in received}
    for event in emitted:
        got = by_id[event.prediction_id]
        assert got.tag == "model.prediction"
        assert got.mode == ("forward" if ack else "message")
        assert got.is_event_time
        micros = round(event.timestamp.timestamp() * 1_000_000)
        assert got.time.unix_nano == micros * 1000  # nanosecond EventTime of @timestamp
        assert got.record == event.to_document()  # every field, same values and types
        assert ev.PredictionEvent.from_document(got.record) == event
    if ack:
        assert receiver.acks_sent >= 1  # every batch was acknowledged
    else:
        assert receiver.acks_sent == 0
    assert logger.stats()["sent"] == 25 and logger.stats()["spooled"] == 0


def test_2000_events_with_receiver_down_part_of_the_run(
    receiver: FluentReceiver, tmp_path: Path
) -> None:
    """Receiver stopped for part of the run: afterwards all 2,000 arrive, each exactly once."""
    logger = fluentd_logger(receiver.port, tmp_path / "spool", retry_min=0.1, retry_max=0.5)
    emitted: list[str] = []

    def produce() -> None:
        for i in range(2000):
            event = make_event(i)
            emitted.append(event.prediction_id)
            logger.emit(event)
            if i % 20 == 0:
                time.sleep(0.02)  # ~2 s of traffic

    producer = threading.Thread(target=produce)
    producer.start()
    while len(emitted) < 500:
        time.sleep(0.01)
    receiver.stop()
    down_at = len(emitted)
    while len(emitted) < 1300:
        time.sleep(0.01)
    assert logger.stats()["state"] == "degraded"
    receiver.start()  # same port
    up_at = len(emitted)
    producer.join()
    assert logger.flush(timeout=30), logger.stats()
    stats = logger.stats()
    logger.close()
    counts = receiver.id_counts()
    assert set(counts) == set(emitted)
    assert len(counts) == 2000
    assert max(counts.values()) == 1, f"duplicates: {[k for k, v in counts.items() if v > 1][:5]}"
    assert stats["spooled"] >= up_at - down_at - 100  # the outage went through the spool
    assert stats["replayed"] == stats["spooled"]
    assert stats["sent"] + stats["replayed"] == 2000
    assert stats["spool_size"] == 0 and stats["state"] == "ok"
    assert not receiver.errors


def test_unacknowledged_batches_are_spooled_and_resent(tmp_path: Path) -> None:
    """A collector that reads but never acknowledges (hung Fluentd, full buffer with
    ``overflow_action block``): the batch is not counted as sent; it is spooled and resent."""
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(8)
    swallowed = bytearray()

    def swallow() -> None:
        conn, _ = black_hole.accept()
        conn.settimeout(5)
        with conn:
            while data := conn.recv(65536):
                swallowed.extend(data)

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    settings = get_settings(
        fluentd_host="127.0.0.1", fluentd_port=black_hole.getsockname()[1], home=tmp_path
    )
    transport = ev.FluentdTransport(settings, timeout=1.0, ack_timeout=0.5)
    logger = ev.EventLogger(transport, tmp_path / "spool")
    emitted = [make_event(i) for i in range(10)]
    for event in emitted:
        logger.emit(event)
    assert not logger.flush(timeout=3)
    stats = logger.stats()
    logger.close()
    black_hole.close()
    assert stats["sent"] == 0 and stats["spooled"] == 10 and stats["spool_size"] == 10
    assert "ack" in stats["last_error"]
    assert swallowed  # the batch did reach the socket: without ack it would count as sent
    with FluentReceiver() as receiver:
        again = fluentd_logger(receiver.port, tmp_path / "spool")
        assert again.flush(timeout=10)
        again.close()
        assert set(receiver.id_counts()) == {e.prediction_id for e in emitted}


def test_a_restarted_fluentd_gets_the_next_batch_on_a_fresh_connection(tmp_path: Path) -> None:
    """Issue 12, item 11: after a Fluentd restart the kept-alive socket is dead; the first batch
    is sent again once on a new connection instead of being spooled (the service stays ok)."""
    first = FluentReceiver().start()
    port = first.port
    settings = get_settings(fluentd_host="127.0.0.1", fluentd_port=port, home=tmp_path)
    transport = ev.FluentdTransport(settings, ack=True, timeout=2.0, ack_timeout=2.0)
    try:
        assert transport.send([make_event(0).to_document()]).delivered == 1
        first.stop()
        with FluentReceiver(port=port) as second:
            docs = [make_event(i).to_document() for i in range(1, 4)]
            result = transport.send(docs)
            assert (result.delivered, result.retry, result.error) == (3, [], None)
            assert len(second.wait_for(3)) == 3 and second.connections == 1
    finally:
        transport.close()
        first.stop()


def test_doctor_recognises_fluentd_by_its_forward_ack_not_an_open_port() -> None:
    # Issue 13: `doctor` marked Fluentd ✓ for any process on 24224.
    import socket

    from workshop.events.transports.fluentd import speaks_forward

    with FluentReceiver() as receiver:  # acks like in_forward
        assert speaks_forward(receiver.host, receiver.port)
    with socket.socket() as impostor:  # accepts, never answers the protocol
        impostor.bind(("127.0.0.1", 0))
        impostor.listen()
        host, port = impostor.getsockname()
        assert not speaks_forward(host, port, timeout=0.5)
