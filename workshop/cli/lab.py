"""``workshop lab``: JupyterLab on the notebooks, with the kit's settings (infra/jupyter/)."""

from __future__ import annotations

import os
import sys

import typer

from workshop.cli._app import app


@app.command("lab", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def lab(ctx: typer.Context) -> None:
    """Abre o JupyterLab nos notebooks do workshop (opções extras vão para o `jupyter lab`)."""
    os.execvpe(sys.executable, lab_command(ctx.args), lab_environment())


def lab_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that makes JupyterLab read ``infra/jupyter/``: ``allow_root`` (a root
    shell, a container), kernels over IPC (no "TCP without encryption" warning at each kernel
    start) and no news toast over every notebook (issue 13)."""
    from workshop.config import project_root

    env = dict(os.environ if base is None else base)
    ours = str(project_root() / "infra" / "jupyter")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (ours, env.get("JUPYTER_CONFIG_PATH", "")) if p
    )
    return env


def lab_command(extra: list[str] | None = None) -> list[str]:
    from workshop.config import project_root

    root = project_root() / "notebooks"
    return [sys.executable, "-m", "jupyter", "lab", f"--ServerApp.root_dir={root}", *(extra or [])]
