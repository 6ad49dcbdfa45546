"""The Typer application object shared by the command-group modules."""

from __future__ import annotations

import json
from typing import Any

import typer

from workshop.cli import _i18n

_i18n.install()  # Click's and Typer's own words in pt-BR (help, usage errors)

app = typer.Typer(
    name="workshop",
    help="Workshop de monitoramento de modelos (Elasticsearch, Fluentd, Kibana).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def print_json(data: Any) -> None:
    """One JSON object on one line (the last stdout line of a ``--json`` command)."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


JSON_OPTION = typer.Option(False, "--json", help="Saída em JSON (uma linha).")
