"""`workshop demo`: the summary in pt-BR, or with --json one JSON object on stdout alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from workshop import runner
from workshop.cli import app


def _fake_run(tmp_path: Path, seen: dict[str, Any]):
    def run_demo(*, parameters: dict[str, Any], echo: Any, **_: Any) -> runner.DemoResult:
        seen["parameters"] = parameters
        echo("[1/1] 00_a.ipynb")
        result = runner.DemoResult(tmp_path)
        result.notebooks.append(runner.NotebookResult("00_a.ipynb", 2.5, tmp_path / "a", None))
        result.wall_seconds = 3.0
        return result

    return run_demo


def test_json_is_the_only_stdout_and_fast_is_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(runner, "run_demo", _fake_run(tmp_path, seen))
    result = CliRunner().invoke(app, ["demo", "--fast", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["notebooks"]["00_a.ipynb"]["seconds"] == 2.5
    assert data["total_seconds"] == 3.0 and data["targets"]["total_seconds_met"] is True
    assert seen["parameters"] == {"fast": True}
    assert "[1/1]" in result.stderr


def test_text_summary_in_pt_br(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(runner, "run_demo", _fake_run(tmp_path, seen))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert "Resumo do workshop" in result.stdout and "00_a.ipynb" in result.stdout
    assert seen["parameters"] == {"fast": False}
