"""The embedded engine's environment and priority (workshop.stack), without starting it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import stack


def test_the_kit_s_go_settings_fill_in_what_the_environment_does_not_set(monkeypatch) -> None:
    for name in stack.ENGINE_GO_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOMEMLIMIT", "512MiB")  # set by hand: a machine with little memory
    env = stack._engine_env()
    assert env["GOMEMLIMIT"] == "512MiB"
    assert env["GOGC"] == stack.ENGINE_GO_ENV["GOGC"]
    assert env["GOMAXPROCS"] == stack.ENGINE_GO_ENV["GOMAXPROCS"]
    assert env["PATH"] == os.environ["PATH"]  # the rest of the environment passes through


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc (Linux)")
def test_lower_priority_reaches_threads_started_before_it() -> None:
    # A process whose second thread exists before _lower_priority runs: it must not stay at the
    # nice value it was born with (a new thread takes its creator's, an old one keeps its own).
    code = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start(); "
    code += "print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, start_new_session=True, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        stack._lower_priority(proc.pid)
        threads = [int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task")]
        assert len(threads) == 2
        assert {os.getpriority(os.PRIO_PROCESS, tid) for tid in threads} == {stack.ENGINE_NICE}
        autogroup = Path(f"/proc/{proc.pid}/autogroup")
        if autogroup.exists():  # its own session, so its own group: the group's nice too
            assert autogroup.read_text().split()[-1] == str(stack.ENGINE_NICE)
    finally:
        proc.kill()
        proc.wait(timeout=10)
