"""The model-* template is back before the first event after an engine restart.

The embedded engine keeps nothing across a restart; an event written into a fresh engine without
the template would create ``model-…`` with guessed types (``product`` as text) and break every
terms aggregation (QA found this with `workshop embedded down/up` under a running service).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from workshop import events, stack
from workshop.config import get_settings
from workshop.dataset import CATALOGUE


@pytest.fixture
def bare_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An osmem-server started WITHOUT `workshop embedded up`: empty, no template."""
    port = free_port()
    proc = subprocess.Popen(
        [stack.osmem_binary(), "--addr", f"127.0.0.1:{port}", "--no-stdin-watch", "--no-ja"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("WORKSHOP_ES_URL", url)
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_INDEX_PREFIX", "model")
    deadline = time.monotonic() + 20
    while stack.engine_info(url) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield url
    finally:
        proc.kill()
        proc.wait()


def _event() -> events.PredictionEvent:
    return events.PredictionEvent.create(
        prediction=12.5,
        model_version="v1",
        channel="http",
        date="2026-01-05",
        product=CATALOGUE[0],
        onpromotion=False,
        latency_ms=0.4,
    )


def test_the_direct_transport_installs_a_missing_template_before_writing(bare_engine) -> None:
    settings = get_settings()
    es = stack.connect(settings)
    assert not es.indices.exists_index_template(name=stack.TEMPLATE_NAME)
    transport = events.ElasticsearchTransport(settings)
    event = _event()
    result = transport.send([event.to_document()])
    transport.close()
    assert result.delivered == 1 and not result.retry and not result.rejected
    index = events.index_name(event.timestamp)
    props = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert props["product"]["type"] == "keyword"
    assert props["channel"]["type"] == "keyword"


def test_ensure_engine_installs_the_template_on_a_running_engine(bare_engine) -> None:
    message = stack.ensure_engine(get_settings())
    assert "já responde" in message
    assert stack.connect().indices.exists_index_template(name=stack.TEMPLATE_NAME)


def test_embedded_up_starts_with_the_template(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    monkeypatch.setenv("WORKSHOP_ES_URL", f"http://127.0.0.1:{free_port()}")
    settings = get_settings()
    stack.embedded_up(settings)
    try:
        assert stack.connect(settings).indices.exists_index_template(name=stack.TEMPLATE_NAME)
    finally:
        stack.embedded_down(settings)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_indices_without_the_template_get_a_clear_message(bare_engine) -> None:
    es = stack.connect()
    es.index(index="model-2026.01.05", id="x", document=_event().to_document(), refresh=True)
    proc = _cli("events", "count")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "sem o template" in proc.stderr and "workshop setup" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [("events", "tail"), ("events", "tail", "--json"), ("events", "count"), ("monitor", "report")],
)
def test_engine_down_gives_a_portuguese_error_without_traceback(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSHOP_ES_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    proc = _cli(*args)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "não respondeu" in proc.stderr
