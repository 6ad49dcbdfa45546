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
        url = lab_url(get_settings().jupyter_url, ctx.args)
        typer.echo(f"Abra o JupyterLab: {url}/lab?token={token}", err=True)
        typer.echo(
            f"(o token fica em {token_file}; ele vale até você apagar esse arquivo)", err=True
        )
    os.execvpe(sys.executable, lab_command(ctx.args), env)


def lab_url(base: str, extra: list[str]) -> str:
    """``WORKSHOP_JUPYTER_URL`` with the port asked for in ``extra`` (``--port 8899``,
    ``--port=8899``, ``--ServerApp.port=8899``), so the printed link opens this JupyterLab."""
    from urllib.parse import urlsplit, urlunsplit

    port = None
    for i, arg in enumerate(extra):
        name, _, value = arg.partition("=")
        if name in ("--port", "--ServerApp.port"):
            port = value or (extra[i + 1] if i + 1 < len(extra) else None)
    parts = urlsplit(base.rstrip("/"))
    if port is None or not port.isdigit() or parts.hostname is None:
        return base.rstrip("/")
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


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
