"""`workshop simulate` and `workshop events count|tail|replay` against the real service and the
embedded engine."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port
from workshop import events as ev
from workshop.config import Settings, get_settings
from workshop.dataset import CATALOGUE

WORKSHOP = [sys.executable, "-m", "workshop"]


def run_cli(*args: str, env: dict[str, str] | None = None, ok: bool = True) -> Any:
    proc = subprocess.run(
        [*WORKSHOP, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def last_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained_home(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workshop.modeling import train_and_register

    home = tmp_path_factory.mktemp("events-cli-home")
    train_and_register(settings=get_settings(home=home), promote=True, progress=False)
    return home


@pytest.fixture(scope="module")
def service_url(trained_home: Path) -> Iterator[str]:
    from workshop.service_process import ServiceProcess

    settings = get_settings(home=trained_home)
    with ServiceProcess(
        f"http://127.0.0.1:{free_port()}",
        settings=settings,
        env={"WORKSHOP_HOME": str(trained_home)},
    ) as service:
        yield service.url


def test_simulate_function_events_arrive(service_url: str, es: Any) -> None:
    from workshop.simulator import simulate

    summary = simulate(
        n=120,
        concurrency=8,
        start="2026-02-02",
        days=14,
        url=service_url,
        seed=5,
        progress=False,
    )
    assert (summary.sent, summary.ok, summary.errors) == (120, 120, 0)
    assert summary.by_status == {"200": 120}
    ids = summary.prediction_ids
    assert ev.wait_for_events(120, ids=ids, timeout=30) == 120
    assert ev.count_events(ids=ids, channel="simulator") == 120
    hit = es.search(index="model-*", query={"ids": {"values": ids[:1]}})["hits"]["hits"][0]
    doc = hit["_source"]
    assert doc["channel"] == "simulator" and doc["model_version"] == "v1"
    assert "2026-02-02" <= doc["date"] <= "2026-02-15"
    assert ev.PredictionEvent.from_document(doc).prediction_id == ids[0]


def test_simulate_cli_json_and_events_count_tail(service_url: str) -> None:
    before = ev.count_events(channel="simulator")
    proc = run_cli(
        "simulate", "--n", "40", "--concurrency", "4", "--seed", "2",
        "--family-weight", "BEBIDAS=4", "--promotion-rate", "0.5",
        "--url", service_url, "--json",
    )  # fmt: skip
    summary = last_json(proc)
    assert summary["sent"] == 40 and summary["ok"] == 40 and summary["errors"] == 0
    assert summary["rps"] > 0 and summary["by_status"] == {"200": 40}
    assert ev.wait_for_events(before + 40, channel="simulator", timeout=30) == before + 40

    counted = last_json(run_cli("events", "count", "--json"))
    assert counted["count"] >= before + 40
    assert counted["by_channel"]["simulator"] >= before + 40
    assert counted["index_pattern"] == "model-*"

    tail = last_json(run_cli("events", "tail", "--n", "5", "--json"))
    assert len(tail["events"]) == 5
    assert {"@timestamp", "product", "prediction", "channel"} <= tail["events"][0].keys()
    table = run_cli("events", "tail", "--n", "3").stdout.splitlines()
    assert table[0].split()[:2] == ["quando", "(UTC)"] and "ID da predição" in table[0]
    assert len(table) == 4
    stamp = tail["events"][0]["@timestamp"]
    from workshop.formatting import moment

    assert moment(stamp) in "\n".join(table)  # pt-BR, to the second, no microseconds
    assert stamp[:10] not in "\n".join(table)  # not the ISO form

    text = run_cli("events", "count").stdout
    assert "Eventos em model-*:" in text and "Spool:" in text


def test_events_show_finds_one_prediction_by_its_id(service_url: str) -> None:
    # Issue 13: "Guarde esse ID" led nowhere; the form now names this command.
    import httpx

    answer = httpx.post(
        service_url + "/api/predict",
        json={"date": "2026-01-15", "item_nbr": "103520", "onpromotion": True},
    ).json()
    pid = answer["prediction_id"]
    text = run_cli("events", "show", pid, "--wait", "30").stdout
    assert "ID da predição" in text and pid in text
    assert "15/01/2026" in text and "em promoção" in text and "sim" in text
    doc = last_json(run_cli("events", "show", pid, "--json"))
    assert doc["prediction_id"] == pid and doc["channel"] == "http"
    from workshop.service.page import _number

    # the prediction as the form's card shows it (one decimal, a decimal comma), not 72,94
    # here against 72,9 there
    shown = text.split("previsão")[1].splitlines()[0].strip()
    assert shown == _number(answer["prediction"]) and "," in shown
    assert text.split("latência (ms)")[1].splitlines()[0].strip().count(",") == 1

    missing = run_cli("events", "show", "0000-nao-existe", "--wait", "0", ok=False)
    assert missing.returncode == 1
    assert "Nenhum evento com o ID 0000-nao-existe" in missing.stderr
    assert "Traceback" not in missing.stderr


def _spooled_events(home: Path, n: int) -> list[str]:
    spool = ev.Spool(get_settings(home=home).spool_dir)
    events = [
        ev.PredictionEvent.create(
            prediction=2.0,
            model_version="v1",
            channel="http",
            date="2026-03-01",
            product=CATALOGUE[i % len(CATALOGUE)],
            onpromotion=False,
            latency_ms=0.3,
            timestamp=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
        )
        for i in range(n)
    ]
    spool.append([e.to_document() for e in events])
    return [e.prediction_id for e in events]


def test_events_replay_cli(stack_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = _spooled_events(home, 30)
    dead = {"WORKSHOP_HOME": str(home), "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}"}
    proc = run_cli("events", "replay", "--json", env=dead, ok=False)
    assert proc.returncode == 1
    failed = last_json(proc)
    assert failed["replayed"] == 0 and failed["remaining"] == 30 and failed["error"]
    text = run_cli("events", "replay", env=dead, ok=False).stdout
    assert "continua indisponível" in text and "30" in text

    done = last_json(run_cli("events", "replay", "--json", env={"WORKSHOP_HOME": str(home)}))
    assert done == {
        "transport": "elasticsearch",
        "replayed": 30,
        "remaining": 0,
        "failed": 0,
        "held": 0,
        "error": None,
    }
    assert ev.count_events(ids=ids) == 30
    assert ev.Spool(home / "spool").size() == 0


def test_replay_cli_concurrent_with_a_logger(stack_env: dict[str, str], tmp_path: Path) -> None:
    """A manual replay while a running logger replays the same spool: each line sent once."""
    home = tmp_path / "home"
    settings: Settings = get_settings(home=home)
    ids = _spooled_events(home, 3000)
    logger = ev.EventLogger.from_settings(settings, batch_size=100)  # replays at start-up
    proc = run_cli("events", "replay", "--json", env={"WORKSHOP_HOME": str(home)})
    assert logger.flush(timeout=60)
    by_logger = logger.stats()["replayed"]
    logger.close()
    by_cli = last_json(proc)["replayed"]
    assert by_logger + by_cli == 3000  # every line claimed by exactly one replayer
    assert ev.count_events(ids=ids) == 3000
