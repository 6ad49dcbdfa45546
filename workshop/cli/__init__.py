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

__all__ = ["app", "main", "run"]


def run(args: list[str] | None = None) -> int:
    """Run one ``workshop`` command in this process and return its exit code.

    What a terminal does, for a notebook: ``run(["monitor", "check"])`` prints what
    ``workshop monitor check`` prints, without the 2–3 s of starting another Python and
    importing pandas again (issue 15). Participant errors print in pt-BR, as in a terminal.
    """
    try:
        code = app(args=args, standalone_mode=False, prog_name="workshop")
    except ArgumentError as exc:  # a hostile or mistyped argument: a usage error, exit 2
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        return 2
    except WorkshopError as exc:
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        return 1
    except UsageError as exc:
        message = usage_message(exc)
        if message.startswith(("Usage:", "Uso:")):
            typer.echo(message, err=True)
        else:
            typer.secho(f"Erro: {message}", fg=typer.colors.RED, err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("Interrompido.", err=True)
        return 130
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point: participant errors become a pt-BR message and exit 1."""
    sys.exit(run())
