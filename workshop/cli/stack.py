"""``workshop up`` / ``down``, ``workshop embedded …``, ``workshop doctor``, ``workshop setup``."""

from __future__ import annotations

from dataclasses import asdict

import typer

from workshop.cli._app import JSON_OPTION, app, print_json

embedded = typer.Typer(help="Motor de busca embutido (sem Docker).", no_args_is_help=True)
app.add_typer(embedded, name="embedded")


@app.command("up")
def up(json_out: bool = JSON_OPTION) -> None:
    """Põe o workshop no ar: Elasticsearch (ou o motor embutido), templates e o serviço do
    modelo com o formulário em :11000, em segundo plano, até `workshop down`."""
    from workshop import lifecycle

    status = lifecycle.up(echo=(lambda _line: None) if json_out else typer.echo)
    if json_out:
        print_json(status.as_dict())


@app.command("down")
def down(json_out: bool = JSON_OPTION) -> None:
    """Encerra o workshop: para o serviço do modelo e o motor embutido iniciados por
    `workshop up` (com Docker: `docker compose down`)."""
    from workshop import lifecycle

    status = lifecycle.down(echo=(lambda _line: None) if json_out else typer.echo)
    if json_out:
        print_json(status.as_dict())


@embedded.command("up")
def embedded_up(json_out: bool = JSON_OPTION) -> None:
    """Inicia o motor embutido em segundo plano."""
    from workshop import stack

    status = stack.embedded_up()
    print_json(asdict(status)) if json_out else typer.echo(status.message)


@embedded.command("down")
def embedded_down(json_out: bool = JSON_OPTION) -> None:
    """Para o motor embutido iniciado por `workshop embedded up`."""
    from workshop import stack

    status = stack.embedded_down()
    print_json(asdict(status)) if json_out else typer.echo(status.message)


@embedded.command("status")
def embedded_status(json_out: bool = JSON_OPTION) -> None:
    """Mostra se o motor embutido está rodando."""
    from workshop import stack

    status = stack.embedded_status()
    print_json(asdict(status)) if json_out else typer.echo(status.message)
    raise typer.Exit(0 if status.running else 1)


@app.command()
def doctor(json_out: bool = JSON_OPTION) -> None:
    """Verifica Elasticsearch, Fluentd, Kibana e o serviço do modelo."""
    from workshop import doctor as checkup

    checks = checkup.run_checks()
    if json_out:
        print_json(checkup.checks_as_dict(checks))
    else:
        typer.echo(checkup.format_checks(checks))
    es_ok = next(c.ok for c in checks if c.component == "elasticsearch")
    raise typer.Exit(0 if es_ok else 1)


@app.command()
def setup(json_out: bool = JSON_OPTION) -> None:
    """Instala os templates de índice `model-*` e `monitoring-*` no Elasticsearch."""
    from workshop import stack

    result = stack.install_template()
    if json_out:
        print_json(result)
    else:
        verb = stack.TEMPLATE_ACTIONS[result["action"]]
        typer.echo(
            f"Template {result['template']} {verb} para {', '.join(result['index_patterns'])}"
            f" ({len(result['fields'])} campos); template {stack.MONITORING_TEMPLATE_NAME} para"
            " monitoring-* (resultados das verificações)."
        )
