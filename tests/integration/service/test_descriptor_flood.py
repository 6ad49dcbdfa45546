"""300 idle connections against a service limited to 256 descriptors (issue 17, item 6).

macOS gives a process 256 descriptors by default. Clients that connect and never send a request
(a browser's speculative connections, a port scanner, a stuck script) used to hold every
descriptor for good: the service stopped accepting anyone and asyncio wrote one "out of system
resource" traceback per try, megabytes in seconds. Now a connection that sends nothing is closed
after the keep-alive timeout, and the flood is logged once.
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from workshop.service.app import IDLE_TIMEOUT_S
from workshop.service_process import _free_port

LIMIT = 256
IDLE_CLIENTS = 300


def _limit_descriptors() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def _health(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code
    except httpx.HTTPError:
        return None


def test_idle_connections_past_the_descriptor_limit_do_not_freeze_the_service(
    tmp_path: Path, stack_env: dict[str, str]
) -> None:
    port = _free_port("127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "service.log"
    env = {**os.environ, "WORKSHOP_HOME": str(tmp_path / "home")}  # no model: /health is 503
    command = [sys.executable, "-m", "workshop", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_limit_descriptors
        )
    idle: list[socket.socket] = []
    try:
        for _ in range(300):
            if _health(url) is not None:
                break
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.2)
        assert _health(url) == 503, "the service did not start"

        for _ in range(IDLE_CLIENTS):  # connect, send nothing, keep the socket open
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))

        # The idle clients are all still connected on their side. A client that asks something
        # must be answered once the server drops the silent connections.
        answered = None
        deadline = time.monotonic() + 6 * IDLE_TIMEOUT_S + 10
        while answered is None and time.monotonic() < deadline:
            answered = _health(url)
        assert answered == 503, "the service froze under idle connections"
        assert process.poll() is None

        # The server closed the silent connections (recv returns b"" on a closed socket).
        closed = 0
        for sock in idle:
            sock.settimeout(0.5)
            with contextlib.suppress(OSError):
                closed += sock.recv(1) == b""
        assert closed >= LIMIT - 60, f"only {closed} idle connections were closed"
    finally:
        for sock in idle:
            sock.close()
        process.terminate()
        process.wait(timeout=20)

    log_text = log_path.read_text(errors="replace")
    assert log_path.stat().st_size < 20_000, log_text[-2000:]
    assert log_text.count("Traceback") == 0, log_text[-2000:]
    assert log_text.count("out of system resource") <= 2, log_text[-2000:]
