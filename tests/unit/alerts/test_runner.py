"""workshop.alerts.runner: the --every interval, the loop and its clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from typing import Any

import pytest

from workshop.alerts import runner
from workshop.errors import InvalidInputError, StackError


def test_interval_is_parsed_and_bounded() -> None:
    assert runner.parse_interval("60s") == timedelta(seconds=60)
    assert runner.parse_interval("5m") == timedelta(minutes=5)
    with pytest.raises(InvalidInputError, match="pelo menos 10s"):
        runner.parse_interval("5s")
    with pytest.raises(InvalidInputError, match="Intervalo inválido para --every"):
        runner.parse_interval("sempre")


def test_sigterm_stops_the_loop_between_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    rounds: list[int] = []

    def fake_round(rules: Any, **kw: Any) -> runner.RoundResult:
        rounds.append(1)
        if len(rounds) == 2:  # what `docker compose stop` sends, mid-run
            os.kill(os.getpid(), signal.SIGTERM)
        return runner.RoundResult(runner.now_utc(), [])

    monkeypatch.setattr(runner, "run_once", fake_round)
    lines: list[str] = []
    timer = threading.Timer(20, lambda: os.kill(os.getpid(), signal.SIGINT))  # safety net
    timer.start()
    try:
        done = runner.run_forever(timedelta(seconds=0.05), echo=lines.append)
    finally:
        timer.cancel()
    assert done == 2 and lines[-1] == "Monitoramento parado."
    assert signal.getsignal(signal.SIGTERM) is not None  # the previous handler is back


def test_a_failed_round_is_retried_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def flaky(rules: Any, **kw: Any) -> runner.RoundResult:
        calls.append(1)
        if len(calls) == 1:
            raise StackError("o Elasticsearch não respondeu")
        return runner.RoundResult(runner.now_utc(), [])

    monkeypatch.setattr(runner, "run_once", flaky)
    lines: list[str] = []
    done = runner.run_forever(timedelta(seconds=0.01), echo=lines.append, max_rounds=2)
    assert done == 2 and any("Rodada falhou" in line for line in lines)
