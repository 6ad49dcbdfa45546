"""Unit tests of workshop.events.schema: the event, its document and its index."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from typing import Any

import pytest

from tests.unit.events.fakes import FakeProduct, make_event
from workshop import events as ev
from workshop.errors import InvalidInputError
from workshop.events import schema
from workshop.events.schema import encode_line, line_key


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


def test_event_document_is_exactly_the_models_document() -> None:
    import random

    from workshop.dataset import CATALOGUE
    from workshop.events.schema import event_document

    rnd = random.Random(0)
    for _ in range(500):
        kwargs = {
            "prediction": rnd.uniform(0, 500),
            "model_version": f"v{rnd.randint(1, 9)}",
            "channel": rnd.choice(["http", "widget", "simulator", "batch"]),
            "product": rnd.choice(CATALOGUE),
            "onpromotion": rnd.random() < 0.3,
            "latency_ms": rnd.uniform(0, 3),
        }
        day = dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randint(0, 1500))
        doc = event_document(day=day, **kwargs)
        model = ev.PredictionEvent.create(
            date=day,
            prediction_id=doc["prediction_id"],
            timestamp=dt.datetime.fromisoformat(doc["@timestamp"]),
            **kwargs,
        )
        assert doc == model.to_document()
        uuid.UUID(doc["prediction_id"], version=4)


def test_event_document_sends_odd_values_through_validation() -> None:
    from workshop.events.schema import event_document

    for bad in ({"prediction": float("nan")}, {"latency_ms": -1.0}, {"channel": "fax"}):
        kwargs = {
            "prediction": 1.0,
            "model_version": "v1",
            "channel": "http",
            "day": dt.date(2026, 1, 1),
            "product": FakeProduct(),
            "onpromotion": False,
            "latency_ms": 0.1,
            **bad,
        }
        with pytest.raises(InvalidInputError):
            event_document(**kwargs)


def test_iso_timestamps_match_strftime() -> None:
    from workshop.events.schema import _iso_utc

    for moment in (
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 1, 12, 0),  # naive = UTC
    ):
        assert _iso_utc(moment) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_line_key_reads_index_day_and_id_from_our_own_lines() -> None:
    event = make_event(timestamp=dt.datetime(2025, 1, 10, 23, 59, 59, 999999, tzinfo=dt.UTC))
    line = encode_line(event.to_document())
    assert line.endswith(b"\n") and json.loads(line) == event.to_document()
    assert line_key(line) == ("2025.01.10", event.prediction_id)
    # the bulk transport builds the action line from these: the index must be index_name's
    assert ev.index_name(event.timestamp) == "model-2025.01.10"


@pytest.mark.parametrize(
    "line",
    [
        # another key order (a document written by hand): the caller parses it instead
        json.dumps({"prediction_id": str(uuid.uuid4()), "@timestamp": "2025-01-10T00:00:00Z"}),
        # compact separators, an offset instead of Z, an id that is not a UUID
        '{"@timestamp":"2025-01-10T00:00:00.000000Z","prediction_id":"' + str(uuid.uuid4()) + '"}',
        '{"@timestamp": "2025-01-10T00:00:00+00:00", "prediction_id": "' + str(uuid.uuid4()) + '"}',
        '{"@timestamp": "2025-01-10T00:00:00.000000Z", "prediction_id": "x\\"y"}',
    ],
)
def test_line_key_leaves_any_other_line_to_the_parser(line: str) -> None:
    assert line_key((line + "\n").encode()) is None


def test_line_key_refuses_a_torn_line() -> None:
    line = encode_line(make_event().to_document())
    assert line_key(line[:-1]) is None  # no newline: a crash mid-write
    assert line_key(line[:60]) is None  # cut inside the document


def test_event_line_is_byte_for_byte_the_encoded_document() -> None:
    """The service's hot path writes the line from the values: the same bytes as encode_line of
    event_document, for every catalogue product, odd floats and both flags."""
    from workshop.dataset import CATALOGUE
    from workshop.events.schema import event_document, event_line

    days = [dt.date(2024, 1, 1), dt.date(2026, 2, 28), dt.date(2028, 12, 31)]
    values = [0.0, 1e-07, 12.345678901234567, 3.0e12, 2.5]
    for i, product in enumerate(CATALOGUE):
        for j, value in enumerate(values):
            kwargs: dict[str, Any] = {
                "prediction": value,
                "model_version": ["v1", "v12", 'v"3'][j % 3],
                "channel": ["http", "simulator", "widget", "batch"][i % 4],
                "day": days[(i + j) % 3],
                "product": product,
                "onpromotion": (i + j) % 2 == 0,
                "latency_ms": values[-1 - j],
            }
            prediction_id, line = event_line(**kwargs)
            expected = event_document(**kwargs)
            written = json.loads(line)
            expected |= {"@timestamp": written["@timestamp"], "prediction_id": prediction_id}
            assert line == encode_line(expected)
            assert line_key(line) == (written["@timestamp"][:10].replace("-", "."), prediction_id)
    with pytest.raises(InvalidInputError):  # what event_document refuses, event_line refuses
        event_line(**{**kwargs, "prediction": float("nan")})
    _, odd = event_line(**{**kwargs, "prediction": 3, "onpromotion": 1})  # validated, then coerced
    assert json.loads(odd)["prediction"] == 3.0 and json.loads(odd)["onpromotion"] is True


def test_event_line_keeps_a_percent_sign_of_the_text() -> None:
    """The line is a %-template: a % in a product's name, family or model version stays text."""
    from workshop.dataset import Product
    from workshop.events.schema import event_document, event_line

    product = Product(
        item_nbr="9%d",
        product="Iogurte 0% gordura 100%s",
        family="LATICÍNIOS %",
        class_=1,
        perishable=True,
    )
    kwargs: dict[str, Any] = {
        "prediction": 1.5,
        "model_version": "v%r",
        "channel": "http",
        "day": dt.date(2026, 3, 1),
        "product": product,
        "onpromotion": True,
        "latency_ms": 0.25,
    }
    for _ in range(2):  # the template is made, then reused
        prediction_id, line = event_line(**kwargs)
        written = json.loads(line)
        expected = event_document(**kwargs)
        expected |= {"@timestamp": written["@timestamp"], "prediction_id": prediction_id}
        assert line == encode_line(expected)
        assert written["product"] == "Iogurte 0% gordura 100%s" and written["item_nbr"] == "9%d"


def test_new_prediction_id_is_unique_across_threads() -> None:
    """Threads draw from one pool of ids made ahead: none gets another's."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        batches = list(
            pool.map(lambda _: [schema.new_prediction_id() for _ in range(2000)], range(8))
        )
    ids = [i for batch in batches for i in batch]
    assert len(set(ids)) == len(ids) == 16_000


def test_new_prediction_id_writes_uuid4_as_uuid_does() -> None:
    ids = [schema.new_prediction_id() for _ in range(3 * 256 + 5)]  # across several reads
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_new_prediction_id_in_a_forked_child_is_not_the_parents_next() -> None:
    """The ids are read 256 at a time: a child must not hand out the ones its parent will."""
    schema.new_prediction_id()  # the pool holds ids the parent has not handed out yet
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, schema.new_prediction_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    assert uuid.UUID(child) and child != schema.new_prediction_id()


def test_utc_now_iso_is_iso_utc_of_the_same_instant(monkeypatch: pytest.MonkeyPatch) -> None:
    instants = [1_735_689_599_999_999_999, 1_735_689_600_000_000_000, 1_735_689_600_123_456_789]
    for ns in [*instants, instants[-1] + 5_000]:  # the last reuses the formatted second
        monkeypatch.setattr(schema.time, "time_ns", lambda ns=ns: ns)
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1000)
        assert schema.utc_now_iso() == schema._iso_utc(moment)
    assert schema.utc_now_iso() == "2025-01-01T00:00:00.123461Z"
