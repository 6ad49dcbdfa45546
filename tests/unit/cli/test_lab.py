"""`workshop lab`: JupyterLab with the kit's settings (issue 13: `jupyter lab notebooks/` failed
as root, each kernel warned about TCP without encryption, a news toast covered every notebook)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from workshop.cli.lab import lab_command, lab_environment, lab_url
from workshop.config import project_root
from workshop.lifecycle import lab_token

JUPYTER = project_root() / "infra" / "jupyter"


def test_the_shipped_settings_fix_root_tcp_and_the_news_toast() -> None:
    server = json.loads((JUPYTER / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["allow_root"] is True
    assert server["KernelManager"]["transport"] == "ipc"
    lab = json.loads((JUPYTER / "labconfig" / "default_setting_overrides.json").read_text())
    notifications = lab["@jupyterlab/apputils-extension:notification"]
    assert notifications == {"fetchNews": "false", "checkForUpdates": False}


def test_lab_reads_them_before_the_participants_own_config() -> None:
    env = lab_environment({"JUPYTER_CONFIG_PATH": "/elsewhere"})
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(JUPYTER), "/elsewhere"]
    command = lab_command(["--no-browser"])
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert f"--ServerApp.root_dir={project_root() / 'notebooks'}" in command
    assert command[-1] == "--no-browser"


# --- the token of this install (issue 17: every Docker install used the word "workshop") -------


def test_the_token_is_generated_once_and_kept(tmp_path: Path) -> None:
    token_file = tmp_path / "home" / "jupyter-token"
    first = lab_token(token_file, {})
    assert len(first) >= 32 and first != "workshop"
    assert token_file.read_text().strip() == first
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600  # only the participant reads it
    assert lab_token(token_file, {}) == first  # a restart keeps it
    assert lab_token(tmp_path / "other", {}) != first  # another install gets its own


def test_a_chosen_token_wins_and_an_empty_file_is_replaced(tmp_path: Path) -> None:
    token_file = tmp_path / "jupyter-token"
    assert lab_token(token_file, {"JUPYTER_TOKEN": "segredo-da-turma"}) == "segredo-da-turma"
    assert not token_file.exists()  # nothing written when the class chose one
    token_file.write_text("\n")
    assert lab_token(token_file, {"JUPYTER_TOKEN": "  "}).strip() != ""


def test_workshop_lab_prints_the_link_with_the_token(tmp_path: Path) -> None:
    token_file = tmp_path / "jupyter-token"
    env = {k: v for k, v in os.environ.items() if k != "JUPYTER_TOKEN"}
    env["WORKSHOP_JUPYTER_URL"] = "http://localhost:8888"
    # `--version` makes `jupyter lab` print its version and exit: the start-up path is the real one.
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "lab", f"--token-file={token_file}", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    token = token_file.read_text().strip()
    assert f"Abra o JupyterLab: http://localhost:8888/lab?token={token}" in run.stderr
    assert str(token_file) in run.stderr
    assert run.stdout.strip()[0].isdigit()  # JupyterLab's version: it really ran


def test_the_printed_link_follows_a_port_passed_to_jupyter_lab() -> None:
    base = "http://localhost:8888/"
    assert lab_url(base, []) == "http://localhost:8888"
    assert lab_url(base, ["--no-browser", "--port", "8899"]) == "http://localhost:8899"
    assert lab_url(base, ["--port=8899"]) == "http://localhost:8899"
    assert lab_url(base, ["--ServerApp.port=9000", "--no-browser"]) == "http://localhost:9000"
    assert lab_url(base, ["--port"]) == "http://localhost:8888"  # jupyter itself will complain
