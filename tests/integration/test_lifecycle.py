"""`workshop up` / `workshop down` own the background services (issue 13).

The form must answer from the first notebook (or the README's `workshop up`) until the participant
ends the workshop: the service `up` starts outlives the process that started it, and `down` stops
exactly what `up` started.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, free_port
from workshop import lifecycle, stack
from workshop.config import get_settings


def _workshop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "WORKSHOP_HOME": str(tmp_path / "home"),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_SERVICE_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_KIBANA_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_EVENT_TRANSPORT": "elasticsearch",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    settings = get_settings()
    lifecycle.service_down(settings)
    stack.embedded_down(settings)


def test_up_starts_a_service_that_outlives_its_caller_and_down_ends_everything(
    private_env: dict[str, str],
) -> None:
    # `workshop up` in its own interpreter, which then exits: the form must still answer.
    proc = _workshop(private_env, "up")
    assert proc.returncode == 0, proc.stderr
    assert "motor embutido" in proc.stdout and "workshop down" in proc.stdout
    service_url = private_env["WORKSHOP_SERVICE_URL"]
    page = httpx.get(service_url + "/", timeout=5)
    assert page.status_code == 200 and "Previsão de vendas" in page.text

    # Idempotent: a second `up` starts nothing and says who started what.
    again = _workshop(private_env, "up", "--json")
    assert again.returncode == 0, again.stderr
    status = json.loads(again.stdout.strip().splitlines()[-1])
    assert status["engine_started"] is False and status["service_started"] is False
    assert status["service_external"] is False
    assert "iniciado antes por `workshop up`" in "\n".join(status["lines"])

    done = _workshop(private_env, "down")
    assert done.returncode == 0, done.stderr
    assert "Serviço do modelo parado" in done.stdout and "Motor embutido parado" in done.stdout
    with pytest.raises(httpx.ConnectError):
        httpx.get(service_url + "/health", timeout=2)
    assert stack.engine_info(private_env["WORKSHOP_ES_URL"]) is None


def test_down_leaves_an_engine_it_did_not_start_and_says_how_to_stop_it(
    private_env: dict[str, str],
) -> None:
    settings = get_settings()
    stack.embedded_up(settings)  # the participant's own `workshop embedded up`
    status = lifecycle.up(settings, echo=lambda _line: None)
    assert not status.engine_started and status.service_started
    result = lifecycle.down(settings, echo=lambda _line: None)
    assert result.stopped == ["service"]
    assert stack.embedded_status(settings).running
    assert "workshop embedded down" in str(result)


def test_up_refuses_a_port_held_by_another_program(private_env: dict[str, str]) -> None:
    import socket

    settings = get_settings()
    stack.embedded_up(settings)
    port = int(private_env["WORKSHOP_SERVICE_URL"].rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(lifecycle.StackError, match="já está em uso por outro programa"):
            lifecycle.up(settings, echo=lambda _line: None)
