"""Hostile command-line arguments get a pt-BR error and exit 2, never a traceback (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread

import pytest

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _not_the_service() -> HTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"detail": "Not Found"}')

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("monitor", "report", "--since", "99999999999d"), "grande demais"),
        (("simulate", "--n", "999999999999", "--url", "http://127.0.0.1:9"), "grande demais"),
        (("simulate", "--n", "1", "--url", "http://" + "a" * 100_000), "longa demais"),
    ],
)
def test_hostile_arguments_exit_2_in_pt_br(args: tuple[str, ...], says: str, tmp_path) -> None:
    proc = run(*args, env={"WORKSHOP_HOME": str(tmp_path), "WORKSHOP_ES_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert says in proc.stderr and "Traceback" not in proc.stderr


def test_a_wrong_url_path_is_not_reported_as_no_model(tmp_path) -> None:
    server = _not_the_service()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/predict"
        proc = run("simulate", "--n", "1", "--url", url, env={"WORKSHOP_HOME": str(tmp_path)})
    finally:
        server.shutdown()
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "não é o serviço do modelo" in proc.stderr and "sem modelo" not in proc.stderr


def test_setup_with_the_engine_down_says_so_in_pt_br(tmp_path) -> None:
    # Issue 13: "Não consegui instalar o template (Connection error caused by: …)", in English.
    proc = run(
        "setup", env={"WORKSHOP_HOME": str(tmp_path), "WORKSHOP_ES_URL": "http://127.0.0.1:9"}
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "o Elasticsearch em http://127.0.0.1:9 não respondeu" in proc.stderr
    assert "workshop doctor" in proc.stderr
    for english in ("Connection", "caused by", "Errno", "Traceback"):
        assert english not in proc.stderr, proc.stderr
