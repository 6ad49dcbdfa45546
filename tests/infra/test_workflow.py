""".github/workflows/workshop.yml: valid for GitHub Actions and doing what the issue asks.

The schema check uses check-jsonschema's vendored copy of the GitHub workflow schema
(``--builtin-schema vendor.github-workflows``), so it needs no network.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT, missing

WORKFLOW = ROOT / ".github" / "workflows" / "workshop.yml"


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "check-jsonschema"
    binary = str(beside) if beside.exists() else shutil.which("check-jsonschema")
    if binary is None:
        missing("check-jsonschema: pip install 'check-jsonschema>=0.29,<1' (dev dependency)")
    return subprocess.run(
        [str(binary), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_workflow_validates_against_the_github_workflow_schema() -> None:
    proc = check_jsonschema(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_schema_check_rejects_an_invalid_workflow(tmp_path: Path) -> None:
    """Control: a job without runs-on and with a misspelt key fails the same check."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    stepz:\n      - run: echo\n")
    assert check_jsonschema(broken).returncode != 0


def test_triggers(workflow: dict[str, Any]) -> None:
    # PyYAML reads the bare key `on` as the boolean True (YAML 1.1)
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)


def test_a_job_runs_make_test(workflow: dict[str, Any]) -> None:
    test_job = workflow["jobs"]["test"]
    assert ".ci/run" in steps_text(test_job)
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci_run and "make lint" in ci_run


def test_the_stack_job_starts_compose_and_waits_for_health(workflow: dict[str, Any]) -> None:
    text = steps_text(workflow["jobs"]["stack"])
    assert "docker compose up -d --wait" in text
    assert "docker compose down -v" in text


def test_the_stack_job_runs_every_notebook_with_papermill_in_the_jupyter_container(
    workflow: dict[str, Any],
) -> None:
    text = steps_text(workflow["jobs"]["stack"])
    # `workshop demo` = workshop.runner.run_demo: every notebooks/NN_*.ipynb through papermill
    assert (
        "docker compose exec -T -e WORKSHOP_REQUIRE_KIBANA=1 jupyter workshop demo --fast" in text
    )
    runner = (ROOT / "workshop" / "runner.py").read_text()
    assert "papermill.execute_notebook" in runner and "def list_notebooks" in runner


def test_the_executed_notebooks_are_uploaded_even_when_a_notebook_fails(
    workflow: dict[str, Any],
) -> None:
    steps = workflow["jobs"]["stack"]["steps"]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload.get("if") == "always()"
    collect = next(s for s in steps if "docker compose cp jupyter:/app/runs/." in s.get("run", ""))
    assert collect.get("if") == "always()"
    assert upload["with"]["path"].rstrip("/") in collect["run"]


def test_actions_are_pinned_to_a_major_version(workflow: dict[str, Any]) -> None:
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert "@v" in step["uses"] and not step["uses"].endswith("@main"), step


def step_with(job: dict[str, Any], text: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if text in str(s.get("run", "")))


def test_the_stack_job_requires_every_kibana_object_to_import(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["stack"]
    step = step_with(job, "workshop kibana setup --json")
    assert "docker compose exec -T jupyter workshop kibana setup --json" in step["run"]
    assert "python3 .ci/kibana_check.py import-report" in step["run"]
    assert "if" not in step, "a failed import must fail the job"
    # before the notebooks, so notebook 05's links point at imported objects
    names = [s.get("name", "") for s in job["steps"]]
    assert names.index(step["name"]) < names.index(step_with(job, "workshop demo")["name"])


def test_notebook_05_cannot_fall_back_in_the_stack_job(workflow: dict[str, Any]) -> None:
    run = step_with(workflow["jobs"]["stack"], "workshop demo")["run"]
    assert "-e WORKSHOP_REQUIRE_KIBANA=1" in run
    from workshop.config import Settings

    assert "require_kibana" in Settings.model_fields
    notebook = (ROOT / "notebooks" / "05_explorar_no_kibana.ipynb").read_text()
    assert "settings.require_kibana" in notebook


def test_the_stack_job_checks_kibana_in_chromium_and_uploads_screenshots(
    workflow: dict[str, Any],
) -> None:
    job = workflow["jobs"]["stack"]
    run = step_with(job, "kibana_check.py browser")["run"]
    assert "--network host" in run and "apt-get install -y -qq chromium" in run
    assert "make install" in run
    out = re.search(r"kibana_check\.py browser --out (\S+)", run)
    assert out
    (upload,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    assert out.group(1).startswith(upload["with"]["path"].rstrip("/") + "/")


def test_ci_installs_from_the_lock_only() -> None:
    """.ci/run -> make install -> uv sync --locked: nothing resolved at install time."""
    makefile = (ROOT / "Makefile").read_text()
    install = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert install, "the install recipe"
    recipe = install.group(1)
    assert "sync --locked" in recipe and "pip install" not in recipe
    # CI sets PYTHONDONTWRITEBYTECODE: without .pyc written at install every process compiled
    # the scientific stack from source (the clean-clone suite ran twice as long as a warm one).
    assert "--compile-bytecode" in recipe
    assert re.search(r"^install: \$\(STAMP\)$", makefile, flags=re.M)
    assert re.search(r"^lock:.*\n\t\$\(UV\) lock", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()
