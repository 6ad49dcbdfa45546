"""schemathesis, with every check, against a real ``workshop serve`` (issue 17, item 7).

The OpenAPI document is a contract: every schema-valid request must be answered 2xx, every
schema-invalid one refused with a documented 4xx, every answer must match its response schema,
and no input may end in a 500. schemathesis generates both kinds of requests from the document
(its examples, the boundaries of each field, then random data). A fixed seed keeps the run
reproducible; a new failure prints a ``curl`` line that replays it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.service.test_app import trained_home
from workshop.service_process import ServiceProcess

SEED = "20261201"
MAX_EXAMPLES = "150"


def test_the_api_keeps_its_openapi_contract(
    stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = trained_home(tmp_path_factory, "schemathesis-home")
    cli = Path(sys.executable).parent / "schemathesis"
    assert cli.exists(), "schemathesis is missing: run `make install` (it is a dev dependency)"
    env = {"WORKSHOP_HOME": str(settings.home_dir)}
    with ServiceProcess(settings=settings, env=env) as service:
        assert (service.health() or {}).get("model_loaded"), "the service has no model"
        run = subprocess.run(
            [
                str(cli),
                "run",
                f"{service.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path_factory.mktemp(
                "schemathesis-run"
            ),  # its report files stay out of the repo
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert "No issues found" in report, report[-3000:]
    assert "3 selected / 3 total" in report  # /api/predict, /api/products and /health
