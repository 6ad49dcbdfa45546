"""``workshop demo``: run the whole workshop on the embedded stack (what `make demo` calls)."""

from __future__ import annotations

import typer

from workshop.cli._app import JSON_OPTION, app, print_json


@app.command()
def demo(
    fast: bool = typer.Option(False, "--fast", help="Dados e tráfego reduzidos (como no CI)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Executa todos os notebooks em ordem e guarda os resultados em runs/."""
    from workshop import runner

    params = dict(runner.CI_PARAMETERS if fast else runner.DEMO_PARAMETERS)
    # With --json the progress goes to stderr, so stdout holds only the JSON object.
    echo = (lambda msg: typer.echo(msg, err=True)) if json_out else typer.echo
    result = runner.run_demo(parameters=params, echo=echo)
    if json_out:
        print_json(result.as_dict(params))
    else:
        typer.echo(runner.format_summary(result))
