"""``workshop`` command line: thin wrappers that parse, call the package and print (pt-BR).

Each command group lives in its own module here and registers itself on :data:`app` when
imported. Participant errors (:class:`workshop.errors.WorkshopError`) print in pt-BR, exit 1.
"""

from __future__ import annotations

import sys

import typer

from workshop.cli import (  # noqa: F401  (registers the commands)
    alerts,
    demo,
    events,
    feedback,
    kibana,
    lab,
    models,
    monitor,
    serve,
    stack,
)
from workshop.cli._app import app
from workshop.cli._usage import UsageError, usage_message
from workshop.errors import ArgumentError, WorkshopError

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: participant errors become a pt-BR message and exit 1."""
    try:
        code = app(standalone_mode=False, prog_name="workshop")
    except ArgumentError as exc:  # a hostile or mistyped argument: a usage error, exit 2
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except WorkshopError as exc:
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
    except UsageError as exc:
        message = usage_message(exc)
        if message.startswith(("Usage:", "Uso:")):
            typer.echo(message, err=True)
        else:
            typer.secho(f"Erro: {message}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("Interrompido.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
