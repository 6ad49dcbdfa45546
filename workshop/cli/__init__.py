"""``workshop`` command line: thin wrappers that parse, call the package and print (pt-BR).

Each command group lives in its own module here and registers itself on :data:`app` when
imported. Participant errors (:class:`workshop.errors.WorkshopError`) print in pt-BR, exit 1.
"""

from __future__ import annotations

import sys

import typer

from workshop.cli import demo, events, feedback, kibana, models, monitor, serve, stack  # noqa: F401  (registers the commands)
from workshop.cli._app import app
from workshop.errors import WorkshopError

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point: participant errors become a pt-BR message and exit 1."""
    try:
        app()
    except WorkshopError as exc:
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
