"""The deep link of one logged prediction, found in the embedded engine (no Kibana needed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from workshop import kibana
from workshop.errors import StackError


def test_link_to_a_logged_event(es) -> None:
    pid = str(uuid.uuid4())
    ts = datetime.now(UTC).replace(microsecond=0)
    es.index(
        index=f"model-{ts:%Y.%m.%d}",
        id=pid,
        document={
            "@timestamp": ts.isoformat().replace("+00:00", "Z"),
            "prediction_id": pid,
            "product": "Leite integral 1L",
            "prediction": 12.5,
            "channel": "http",
        },
    )
    event = kibana.wait_for_event(pid, es, timeout=10)
    assert event["prediction_id"] == pid
    assert kibana.event_timestamp(event) == ts

    state = kibana.parse_discover_url(
        kibana.prediction_url(pid, timestamp=kibana.event_timestamp(event))
    )
    assert state["_a"]["query"]["query"] == f'prediction_id:"{pid}"'
    assert (
        state["_g"]["time"]["from"] < ts.strftime("%Y-%m-%dT%H:%M:%S") < state["_g"]["time"]["to"]
    )


def test_waiting_for_a_missing_event_fails_in_pt_br(es) -> None:
    with pytest.raises(StackError, match="não apareceu em model-\\*"):
        kibana.wait_for_event(str(uuid.uuid4()), es, timeout=0.5)
    assert kibana.find_event("nao-existe", es) is None
