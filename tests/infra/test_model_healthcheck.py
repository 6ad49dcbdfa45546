"""The model service's compose healthcheck, run for real against a stand-in /health endpoint.

The command is taken from the resolved compose configuration and executed with this Python (the
image runs it with its own), pointed at a local server on a free port through
WORKSHOP_SERVICE_PORT, as the container's environment does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import free_port


class _Health(BaseHTTPRequestHandler):
    status = 200
    body = b"{}"

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[int, type[_Health]]]:
    handler = type("Handler", (_Health,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], handler
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(services: dict[str, Any], port: int) -> subprocess.CompletedProcess[str]:
    test = services["model"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    env = {**os.environ, "WORKSHOP_SERVICE_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-c", test[3]], env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"ok": True, "model_loaded": True, "model_version": "v1", "events": {}}),
        # a fresh stack: no model trained yet, the service is up all the same
        (503, {"ok": False, "model_loaded": False, "model_version": None, "events": {}}),
    ],
)
def test_healthy_when_health_answers_json(
    services: dict[str, Any],
    health_server: tuple[int, type[_Health]],
    status: int,
    body: dict[str, Any],
) -> None:
    port, handler = health_server
    handler.status, handler.body = status, json.dumps(body).encode()
    proc = run_healthcheck(services, port)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b'{"detail": "erro"}'), (200, b"<html>not the service</html>"), (503, b"{}")],
)
def test_unhealthy_on_errors_or_a_foreign_answer(
    services: dict[str, Any], health_server: tuple[int, type[_Health]], status: int, body: bytes
) -> None:
    port, handler = health_server
    handler.status, handler.body = status, body
    assert run_healthcheck(services, port).returncode != 0


def test_unhealthy_when_nothing_listens(services: dict[str, Any]) -> None:
    assert run_healthcheck(services, free_port()).returncode != 0
