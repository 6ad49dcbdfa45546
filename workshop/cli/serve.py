"""``workshop serve``: the model service (web form, JSON API, /health) with uvicorn."""

from __future__ import annotations

import os
import signal
import sys
import threading

import typer

from workshop.cli._app import app
from workshop.errors import StackError


@app.command()
def serve(
    host: str | None = typer.Option(
        None, "--host", help="Interface (padrão: WORKSHOP_SERVICE_HOST, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="Porta (padrão: WORKSHOP_SERVICE_PORT, 11000)."
    ),
    exit_on_stdin_eof: bool = typer.Option(
        False,
        "--exit-on-stdin-eof",
        hidden=True,
        help="Stop when stdin closes (ServiceProcess: the service dies with its parent).",
    ),
) -> None:
    """Inicia o serviço do modelo: formulário em /, API em /api/predict, documentação em /docs."""
    from workshop import service
    from workshop.config import get_settings
    from workshop.service_process import probe_host
    from workshop.stack import port_in_use

    settings = get_settings()
    host = host or settings.service_host
    port = port or settings.service_port
    if port_in_use(probe_host(host), port):
        raise StackError(
            f"A porta {port} já está em uso: talvez o serviço já esteja rodando "
            f"(abra http://{probe_host(host)}:{port}) — ou use outra porta com --port."
        )
    if host in ("0.0.0.0", "::"):
        where = (
            f"todas as interfaces ({host}), porta {port}: nesta máquina abra "
            f"http://localhost:{port} — e qualquer um na sua rede também pode"
        )
    else:
        where = f"http://{'localhost' if host == '127.0.0.1' else host}:{port}"
    typer.echo(f"Serviço do modelo em {where}  (documentação em /docs; Ctrl+C para parar)")
    if exit_on_stdin_eof:
        _stop_when_stdin_closes()
    from workshop.kibana import form_event_link

    service.run(host, port, app=service.create_app(settings, event_link=form_event_link))


def _stop_when_stdin_closes() -> None:
    """SIGTERM ourselves (uvicorn's graceful shutdown) when the parent's pipe closes.

    A notebook kernel that dies without stopping its ServiceProcess (crash, ``os._exit``) closes
    the pipe; without this the service would outlive it, orphaned.
    """

    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="stdin-watch", daemon=True).start()
