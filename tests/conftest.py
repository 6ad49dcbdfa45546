"""Shared fixtures: the embedded search engine for the session, free ports, tool requirements.

A test that needs something missing fails with a message saying what to install when ``CI`` is
set, and is skipped (with the same message) only outside CI.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def missing(message: str) -> None:
    """Fail in CI, skip elsewhere — never skip silently in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"missing requirement (CI): {message}", pytrace=False)
    pytest.skip(message)


def find_event(es: Any, prediction_id: str, timeout: float = 15.0) -> dict[str, Any] | None:
    """The ``_source`` of one prediction event, waiting for it to be indexed; ``None`` if never."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        es.indices.refresh(index="model-*")
        hits = es.search(index="model-*", query={"ids": {"values": [prediction_id]}})["hits"]
        if hits["hits"]:
            return dict(hits["hits"][0]["_source"])
        time.sleep(0.3)
    return None


@pytest.fixture(scope="session")
def workshop_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workshop-home")


@pytest.fixture(scope="session")
def stack_env(workshop_home: Path) -> Iterator[dict[str, str]]:
    """Start the embedded engine once for the session on a free port.

    Sets ``WORKSHOP_ES_URL`` / ``WORKSHOP_HOME`` in ``os.environ`` for the session (so code that
    calls ``get_settings()`` and subprocesses see the same stack) and yields those variables.
    """

    env = {
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_HOME": str(workshop_home),
        "WORKSHOP_EVENT_TRANSPORT": "elasticsearch",
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_FLUENTD_PORT": str(free_port()),
    }
    with embedded_engine(env):
        yield env


@contextlib.contextmanager
def embedded_engine(env: dict[str, str], *, setup: Any = None) -> Iterator[Any]:
    """``env`` in ``os.environ`` and an embedded engine (with the templates) on its
    ``WORKSHOP_ES_URL`` for the block; ``setup(settings)`` runs once the engine is up. Yields the
    settings; everything is put back afterwards."""
    from workshop import stack
    from workshop.config import get_settings

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    settings = get_settings()
    try:
        stack.embedded_up(settings)
        stack.install_template(stack.connect(settings))
        if setup is not None:
            setup(settings)
        yield settings
    finally:
        from workshop import lifecycle

        lifecycle.service_down(settings)  # a `workshop up` from the notebooks, if one is left
        stack.embedded_down(settings)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def http_stub(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port for the block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def es(stack_env: dict[str, str]):
    from workshop import stack

    return stack.connect()
