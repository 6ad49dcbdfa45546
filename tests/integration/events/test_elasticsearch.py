"""The direct (elasticsearch) transport against the embedded engine: indices, ids, outages."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port
from workshop import events as ev
from workshop import stack
from workshop.config import Settings, get_settings
from workshop.dataset import CATALOGUE
from workshop.events.schema import encode_line


def make_event(i: int = 0, **overrides: Any) -> ev.PredictionEvent:
    kwargs: dict[str, Any] = {
        "prediction": 10.0 + i,
        "model_version": "v1",
        "channel": "batch",
        "date": "2025-06-01",
        "product": CATALOGUE[i % len(CATALOGUE)],
        "onpromotion": i % 3 == 0,
        "latency_ms": 1.0,
    }
    kwargs.update(overrides)
    return ev.PredictionEvent.create(**kwargs)


def count_ids(es: Any, ids: list[str], index: str = "model-*") -> tuple[int, int]:
    """(documents with these ids, distinct ids among them) in ``index``."""
    es.indices.refresh(index=index, ignore_unavailable=True, allow_no_indices=True)
    found = 0
    distinct: set[str] = set()
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        resp = es.search(
            index=index,
            query={"ids": {"values": part}},
            size=len(part),
            source=["prediction_id"],
            ignore_unavailable=True,
            allow_no_indices=True,
        )
        hits = resp["hits"]["hits"]
        found += len(hits)
        distinct |= {h["_source"]["prediction_id"] for h in hits}
    return found, len(distinct)


def test_events_land_in_their_utc_day_index_with_id(
    stack_env: dict[str, str], es: Any, tmp_path: Path
) -> None:
    logger = ev.EventLogger.from_settings(get_settings(), spool_dir=tmp_path / "spool")
    stamps = [
        dt.datetime(2025, 1, 10, 23, 59, 59, 999999, tzinfo=dt.UTC),
        dt.datetime(2025, 1, 10, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=-3))),  # 11th UTC
    ]
    emitted = [make_event(i, timestamp=s) for i, s in enumerate(stamps)]
    for event in emitted:
        logger.emit(event)
    assert logger.flush(timeout=15)
    logger.close()
    for event, index in zip(emitted, ["model-2025.01.10", "model-2025.01.11"], strict=True):
        doc = es.get(index=index, id=event.prediction_id)
        assert doc["_source"] == event.to_document()
    mapping = es.indices.get_mapping(index="model-2025.01.10")["model-2025.01.10"]["mappings"]
    assert mapping["properties"]["item_nbr"]["type"] == "keyword"  # the template applied


def test_resending_overwrites_instead_of_duplicating(
    stack_env: dict[str, str], es: Any, tmp_path: Path
) -> None:
    spool = ev.Spool(tmp_path / "spool")
    emitted = [make_event(i) for i in range(20)]
    spool.append([e.to_document() for e in emitted])
    spool.append([e.to_document() for e in emitted[:10]])  # e.g. a batch spooled twice
    logger = ev.EventLogger.from_settings(get_settings(), spool_dir=spool.dir)
    assert logger.flush(timeout=15)
    logger.close()
    ids = [e.prediction_id for e in emitted]
    assert count_ids(es, ids) == (20, 20)


def test_send_lines_indexes_the_journal_lines_and_says_what_it_refused(
    stack_env: dict[str, str], es: Any
) -> None:
    """The logger's hot path: journal lines as they are, each with only its action line added."""
    ours = [make_event(i) for i in range(3)]
    by_hand = make_event(3).to_document()
    reordered = {k: by_hand[k] for k in reversed(list(by_hand))}  # not encode_line's key order
    wrong_type = {**make_event(4).to_document(), "prediction": "muito"}
    lines = [encode_line(e.to_document()) for e in ours]
    lines += [(json.dumps(reordered) + "\n").encode(), encode_line(wrong_type)]
    lines += [b'{"@timestamp": "2025-06-01T00:00:00Z"}\n']  # no prediction_id: no _id to give
    result = ev.ElasticsearchTransport(get_settings()).send_lines(lines)
    assert result.delivered == 4 and not result.retry and result.error is None
    reasons = dict(result.rejected)
    assert len(reasons) == 2
    assert "mapper_parsing_exception" in reasons[lines[4].decode().rstrip("\n")]
    assert "sem @timestamp ou id" in reasons[lines[5].decode().rstrip("\n")]
    for event in ours:
        stored = es.get(index=ev.index_name(event.timestamp), id=event.prediction_id)["_source"]
        assert stored == event.to_document()  # the same document the parsing path sends
    index = ev.index_name(by_hand["@timestamp"])
    assert es.get(index=index, id=by_hand["prediction_id"])["_source"] == reordered


def test_send_lines_to_an_engine_that_is_down_gives_every_line_back(tmp_path: Path) -> None:
    settings = get_settings(es_url=f"http://127.0.0.1:{free_port()}", home=tmp_path / "home")
    lines = [encode_line(make_event(i).to_document()) for i in range(5)]
    result = ev.ElasticsearchTransport(settings, request_timeout=2).send_lines(lines)
    assert result.delivered == 0 and result.retry == lines and result.error


@pytest.fixture
def own_engine(tmp_path: Path) -> Iterator[Settings]:
    """Settings for an engine on a free port that the test starts and stops itself."""
    settings = get_settings(
        es_url=f"http://127.0.0.1:{free_port()}", home=tmp_path / "home", es_engine="auto"
    )
    try:
        yield settings
    finally:
        stack.embedded_down(settings)


def _emit_paced(logger: ev.EventLogger, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(n):
        event = make_event(start + i)
        ids.append(event.prediction_id)
        logger.emit(event)
        if i % 25 == 0:
            time.sleep(0.01)
    return ids


def test_engine_unreachable_for_part_of_the_run(own_engine: Settings) -> None:
    """Not started yet, then stopped: every event emitted during an outage arrives once back."""
    settings = own_engine
    logger = ev.EventLogger.from_settings(settings, retry_min=0.1, retry_max=0.5)
    before_start = _emit_paced(logger, 300)  # the engine does not exist yet
    time.sleep(0.3)
    assert logger.stats()["state"] == "degraded"
    assert logger.stats()["spool_size"] == 300
    stack.embedded_up(settings)
    stack.install_template(stack.connect(settings))
    while_up = _emit_paced(logger, 300, start=300)
    assert logger.flush(timeout=30), logger.stats()
    es = stack.connect(settings)
    assert count_ids(es, before_start + while_up) == (600, 600)

    stack.embedded_down(settings)  # stopped: the engine forgets everything it had
    during_outage: list[str] = []
    producer = threading.Thread(
        target=lambda: during_outage.extend(_emit_paced(logger, 400, start=600))
    )
    producer.start()
    time.sleep(0.5)
    stack.embedded_up(settings)  # back (empty) while traffic continues
    producer.join()
    assert logger.flush(timeout=30), logger.stats()
    stats = logger.stats()
    logger.close()
    es = stack.connect(settings)
    assert count_ids(es, during_outage) == (400, 400)
    resp = es.count(index="model-*")
    assert resp["count"] == 400  # nothing else, nothing twice
    assert stats["state"] == "ok" and stats["spool_size"] == 0
    assert stats["spooled"] >= 300 and stats["replayed"] == stats["spooled"]
    assert stats["sent"] + stats["replayed"] == 1000


CHILD = textwrap.dedent(
    """
    import json, sys
    from workshop import events as ev
    from workshop.dataset import CATALOGUE
    logger = ev.default_logger()
    ids = []
    for i in range(50):
        event = ev.PredictionEvent.create(
            prediction=1.0, model_version="v1", channel="batch", date="2025-06-02",
            product=CATALOGUE[i % len(CATALOGUE)], onpromotion=False, latency_ms=0.1)
        ids.append(event.prediction_id)
        logger.emit(event)
    print(json.dumps(ids))
    # exit without flush/close: the atexit hook must leave every event on disk
    """
)


def test_process_exit_with_events_spooled_next_start_replays(
    stack_env: dict[str, str], es: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, WORKSHOP_HOME=str(home))
    env["WORKSHOP_ES_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing there
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ids = json.loads(child.stdout.strip().splitlines()[-1])
    assert len(ids) == 50
    spool = ev.Spool(home / "spool")
    assert spool.size() == 50
    assert count_ids(es, ids) == (0, 0)
    # next start, engine reachable: the logger replays the spool on its own
    settings = get_settings(home=home)
    logger = ev.EventLogger.from_settings(settings)
    assert logger.flush(timeout=15)
    assert logger.stats()["replayed"] == 50
    logger.close()
    assert spool.size() == 0
    assert count_ids(es, ids) == (50, 50)
