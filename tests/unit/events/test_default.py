"""Unit tests of workshop.events.default: one logger per process, closed on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.events.fakes import make_event
from workshop import events as ev
from workshop.events import default as ev_default


def test_default_logger_is_one_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_EVENT_TRANSPORT", "jsonl")
    monkeypatch.setattr(ev_default, "_default", None)
    logger = ev.default_logger()
    assert ev.default_logger() is logger
    logger.emit(make_event())
    assert logger.flush(timeout=5)
    assert logger.stats()["transport"] == "jsonl" and logger.stats()["sent"] == 1
    ev_default._close_default()
    assert ev_default._default is None
