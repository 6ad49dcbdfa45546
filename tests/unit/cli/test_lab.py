"""`workshop lab`: JupyterLab with the kit's settings (issue 13: `jupyter lab notebooks/` failed
as root, each kernel warned about TCP without encryption, a news toast covered every notebook)."""

from __future__ import annotations

import json
import os

from workshop.cli.lab import lab_command, lab_environment
from workshop.config import project_root

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
