"""The real service: ``workshop serve`` in a subprocess (ServiceProcess), events in the engine,
hot pick-up of a newly promoted version, ``ensure_service`` and the CLI's pt-BR errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import find_event, free_port
from tests.integration.service.test_app import OK_BODY, register_copy, trained_home
from workshop.config import Settings, get_settings
from workshop.errors import StackError
from workshop.service_process import ServiceProcess, ensure_service, service_health


@pytest.fixture(scope="module")
def home_settings(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return trained_home(tmp_path_factory, "service-process-home")


@pytest.fixture(scope="module")
def server(home_settings: Settings) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(settings=home_settings, env={"WORKSHOP_HOME": str(home_settings.home)})
    with proc:
        yield proc
    assert not proc.running


def stats(server: ServiceProcess) -> dict[str, Any]:
    return httpx.get(server.url + "/health").json()["events"]


def test_service_process_serves_and_logs_to_the_engine(server: ServiceProcess, es: Any) -> None:
    health = httpx.get(server.url + "/health")
    assert health.status_code == 200 and health.json()["model_version"] == "v1"
    resp = httpx.post(server.url + "/api/predict", json=OK_BODY)
    assert resp.status_code == 200
    body = resp.json()
    doc = find_event(es, body["prediction_id"])
    assert doc is not None, "the prediction event did not reach the engine"
    assert doc["channel"] == "http"
    assert doc["model_version"] == "v1"
    assert doc["prediction"] == pytest.approx(body["prediction"])
    assert doc["item_nbr"] == OK_BODY["item_nbr"] and doc["date"] == OK_BODY["date"]

    sim = httpx.post(
        server.url + "/api/predict", json=OK_BODY, headers={"X-Workshop-Channel": "simulator"}
    ).json()
    sim_doc = find_event(es, sim["prediction_id"])
    assert sim_doc is not None and sim_doc["channel"] == "simulator"


def test_rejected_requests_on_the_real_server_log_nothing(server: ServiceProcess) -> None:
    httpx.post(server.url + "/api/predict", json=OK_BODY)  # settle the counters
    deadline = time.monotonic() + 10
    while stats(server)["queued"] and time.monotonic() < deadline:
        time.sleep(0.1)
    before = stats(server)

    def chunked() -> Iterator[bytes]:
        yield b'{"date": "'
        for _ in range(40):
            yield b"9" * 1024
        yield b'"}'

    answers = [
        httpx.post(server.url + "/api/predict", json={**OK_BODY, "date": "2026-02-30"}),
        httpx.post(server.url + "/api/predict", json={**OK_BODY, "item_nbr": "0"}),
        httpx.post(server.url + "/api/predict", json={**OK_BODY, "extra": True}),
        httpx.post(
            server.url + "/api/predict",
            content=b"{oops",
            headers={"content-type": "application/json"},
        ),
        httpx.post(
            server.url + "/api/predict",
            content=chunked(),
            headers={"content-type": "application/json"},
        ),
        httpx.post(
            server.url + "/api/predict",
            content=b"x" * 20000,
            headers={"content-type": "application/json"},
        ),
        httpx.post(server.url + "/", data={"date": "1999-01-01", "item_nbr": "103520"}),
    ]
    assert [a.status_code for a in answers] == [422, 422, 422, 400, 413, 413, 422]
    assert "16 KiB" in answers[4].json()["detail"]
    time.sleep(0.5)
    after = stats(server)
    for key in ("sent", "spooled", "failed", "queued"):
        assert after[key] == before[key], (key, before, after)


def test_hot_pick_up_of_a_newly_promoted_version(
    server: ServiceProcess, home_settings: Settings
) -> None:
    assert httpx.get(server.url + "/health").json()["model_version"] == "v1"
    assert register_copy(home_settings) == "v2"
    deadline = time.monotonic() + 10
    version = None
    while time.monotonic() < deadline:
        version = httpx.get(server.url + "/health").json()["model_version"]
        if version == "v2":
            break
        time.sleep(0.2)
    assert version == "v2", "the service did not pick up the promoted version within 10 s"
    resp = httpx.post(server.url + "/api/predict", json=OK_BODY)
    assert resp.json()["model_version"] == "v2"

    from workshop.modeling import Registry

    Registry(home_settings).promote("v1")  # rolling back is picked up too
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if httpx.post(server.url + "/api/predict", json=OK_BODY).json()["model_version"] == "v1":
            break
        time.sleep(0.2)
    else:
        pytest.fail("the service did not follow the rollback to v1")


def test_ensure_service_uses_the_one_answering(
    server: ServiceProcess, home_settings: Settings
) -> None:
    settings = get_settings(home=home_settings.home, service_url=server.url)
    assert ensure_service(settings) is None


def test_ensure_service_starts_one_without_a_model_then_stops_it(
    stack_env: dict[str, str], tmp_path: Any
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    settings = get_settings(home=tmp_path, service_url=url)
    started = ensure_service(settings)
    assert isinstance(started, ServiceProcess) and started.running and started.url == url
    try:
        health = httpx.get(url + "/health")
        assert health.status_code == 503
        assert "Nenhum modelo treinado" in health.json()["detail"]
    finally:
        started.stop()
    assert not started.running and service_health(url) is None


def test_port_taken_by_something_else(stack_env: dict[str, str], tmp_path: Any) -> None:
    es_url = stack_env["WORKSHOP_ES_URL"]  # the engine answers there, but it is no model service
    settings = get_settings(home=tmp_path, service_url=es_url)
    with pytest.raises(StackError, match="já está em uso"):
        ensure_service(settings)


def test_cli_serve_refuses_a_busy_port(stack_env: dict[str, str]) -> None:
    port = stack_env["WORKSHOP_ES_URL"].rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, "-m", "workshop", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert f"A porta {port} já está em uso" in proc.stderr


def test_the_service_dies_with_the_process_that_started_it(
    stack_env: dict[str, str], tmp_path: Any
) -> None:
    """A kernel that crashes without stopping its ServiceProcess leaves no orphan service."""
    url = f"http://127.0.0.1:{free_port()}"
    script = (
        "import os\n"
        "from workshop.config import get_settings\n"
        "from workshop.service_process import ServiceProcess\n"
        f"ServiceProcess({url!r}, settings=get_settings(home={str(tmp_path)!r})).start()\n"
        "print('started', flush=True)\n"
        "os._exit(0)  # no atexit, no stop(): like a crashed kernel\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90
    )
    assert "started" in proc.stdout, proc.stderr
    deadline = time.monotonic() + 20
    while service_health(url) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert service_health(url) is None, "the service outlived the process that started it"
