"""A real service process killed mid-traffic loses no answered event (issue 17).

Each test runs ``workshop serve`` as a subprocess, sends predictions from a few threads, stops it
hard in the middle (kill -9 with the engine healthy; SIGTERM while the engine hangs), starts a
new one on the same ``WORKSHOP_HOME``, and looks every answered ``prediction_id`` up in the engine.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.service.test_app import trained_home
from workshop import events as ev
from workshop.config import Settings
from workshop.dataset import CATALOGUE
from workshop.service_process import ServiceProcess


def traffic(url: str, total: int, stop_at: int, stop: Any, threads: int = 4) -> list[str]:
    """``total`` predictions; ``stop()`` is called once ``stop_at`` were answered. Returns the
    ids of the answered ones (a request that fails after the stop is simply not answered)."""
    answered: list[str] = []
    lock = threading.Lock()
    fired = threading.Event()
    left = iter(range(total))

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            for i in left:
                product = CATALOGUE[i % len(CATALOGUE)]
                body = {"date": "2026-02-01", "item_nbr": product.item_nbr, "onpromotion": False}
                try:
                    resp = client.post("/api/predict", json=body)
                except httpx.HTTPError:
                    continue
                if resp.status_code != 200:
                    continue
                with lock:
                    answered.append(resp.json()["prediction_id"])
                    due = len(answered) >= stop_at and not fired.is_set()
                    if due:
                        fired.set()
                if due:
                    stop()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return answered


def restart_and_count(settings: Settings, env: dict[str, str], ids: list[str]) -> int:
    """Start the service again (it replays its predecessor's journal); answered ids indexed."""
    with ServiceProcess(settings=settings, env=env) as again:
        found = ev.wait_for_events(len(ids), ids=ids, timeout=60)
        health = again.health() or {}
    assert health.get("events", {}).get("state") in {"ok", "degraded"}
    return found


@pytest.fixture(scope="module")
def faults_settings(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return trained_home(tmp_path_factory, "faults-home")


def test_kill_9_mid_traffic_loses_nothing(faults_settings: Settings) -> None:
    env = {"WORKSHOP_HOME": str(faults_settings.home_dir)}
    service = ServiceProcess(settings=faults_settings, env=env).start()
    assert service.process is not None
    process = service.process
    try:
        answered = traffic(service.url, 600, 300, lambda: process.send_signal(signal.SIGKILL))
        process.wait(timeout=30)
    finally:
        service.stop()
    assert process.returncode == -signal.SIGKILL
    assert len(answered) >= 300
    assert restart_and_count(faults_settings, env, answered) == len(answered), "events lost"
    assert ev.Spool(faults_settings.spool_dir).size() == 0


@pytest.fixture()
def hung_engine() -> Iterator[str]:
    """A port that accepts connections and never answers (an engine frozen by SIGSTOP)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_sigterm_while_the_engine_hangs_writes_everything_down(
    faults_settings: Settings, hung_engine: str
) -> None:
    env = {"WORKSHOP_HOME": str(faults_settings.home_dir)}
    hung = {**env, "WORKSHOP_ES_URL": hung_engine, "WORKSHOP_ES_ENGINE": "embedded"}
    service = ServiceProcess(settings=faults_settings, env=hung).start()
    assert service.process is not None
    process = service.process
    try:
        answered = traffic(service.url, 300, 150, lambda: process.send_signal(signal.SIGTERM))
        process.wait(timeout=60)  # lifespan: bounded send, then the journal stays on disk
    finally:
        service.stop()
    status = ev.spool_status(faults_settings)
    assert status["spool_size"] >= len(answered), json.dumps(status)  # the hung engine got none
    assert restart_and_count(faults_settings, env, answered) == len(answered), "events lost"
