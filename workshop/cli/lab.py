"""``workshop lab``: JupyterLab on the notebooks, with the kit's settings (infra/jupyter/)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from workshop.cli._app import app

TOKEN_FILE_OPTION = typer.Option(
    None,
    "--token-file",
    help="Arquivo com o token de acesso (criado na primeira vez); o link com o token é "
    "impresso ao iniciar. Sem esta opção, o JupyterLab gera um token a cada início e abre o "
    "navegador com ele.",
)


@app.command("lab", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def lab(ctx: typer.Context, token_file: Path | None = TOKEN_FILE_OPTION) -> None:
    """Abre o JupyterLab nos notebooks do workshop (opções extras vão para o `jupyter lab`)."""
    env = lab_environment()
    if token_file is not None:
        from workshop.config import get_settings
        from workshop.lifecycle import lab_token

        token = lab_token(token_file, env)
        env["JUPYTER_TOKEN"] = token  # jupyter_server reads it; never on the command line
        url = get_settings().jupyter_url.rstrip("/")
        typer.echo(f"Abra o JupyterLab: {url}/lab?token={token}", err=True)
        typer.echo(
            f"(o token fica em {token_file}; ele vale até você apagar esse arquivo)", err=True
        )
    os.execvpe(sys.executable, lab_command(ctx.args), env)


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
