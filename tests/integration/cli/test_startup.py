"""The everyday commands start at once: they import no pandas, scikit-learn, SciPy or matplotlib.

Each command runs for real in its own interpreter (a private engine for `embedded up/status/down`,
`doctor` and `events tail`), and the interpreter reports at exit which heavy modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

HEAVY = ("pandas", "sklearn", "scipy", "matplotlib")

# Runs the console entry point and, at exit (main() always ends in sys.exit), prints the heavy
# top-level packages present in sys.modules on the last stderr line.
DRIVER = f"""
import atexit, json, sys
def _report():
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
    sys.stderr.write("\\nHEAVY=" + json.dumps(loaded) + "\\n")
atexit.register(_report)
sys.argv = ["workshop", *sys.argv[1:]]
from workshop.cli import main
main()
"""


def run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    marker = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, f"no import report from {args}: {proc.stderr[-2000:]}"
    return proc, json.loads(marker[-1].removeprefix("HEAVY="))


@pytest.fixture()
def private_env(tmp_path: Path) -> dict[str, str]:
    return {
        "WORKSHOP_HOME": str(tmp_path / "home"),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_ES_ENGINE": "embedded",
    }


def test_help_imports_nothing_heavy(private_env: dict[str, str]) -> None:
    proc, heavy = run(["--help"], private_env)
    assert proc.returncode == 0 and "embedded" in proc.stdout
    assert heavy == []


def test_embedded_doctor_and_tail_import_nothing_heavy(private_env: dict[str, str]) -> None:
    proc, heavy = run(["embedded", "up"], private_env)
    assert proc.returncode == 0, proc.stderr
    try:
        for args in (["embedded", "status"], ["doctor"], ["events", "tail", "--n", "3"]):
            proc, heavy = run(args, private_env)
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
            assert heavy == [], f"`workshop {' '.join(args)}` imported {heavy}"
        assert "Nenhum evento ainda" in proc.stdout  # a fresh engine: tail says so in pt-BR
    finally:
        proc, heavy = run(["embedded", "down"], private_env)
    assert proc.returncode == 0, proc.stderr
    assert heavy == []
