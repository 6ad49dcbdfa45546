"""``workshop demo``: run the whole workshop on the embedded stack (what `make demo` calls)."""

from __future__ import annotations

import typer

from workshop.cli._app import app


@app.command()
def demo(
    fast: bool = typer.Option(False, "--fast", help="Dados e tráfego reduzidos (como no CI)."),
) -> None:
    """Executa todos os notebooks em ordem e guarda os resultados em runs/."""
    from workshop import runner

    params = dict(runner.CI_PARAMETERS if fast else runner.DEMO_PARAMETERS)
    result = runner.run_demo(parameters=params, echo=typer.echo)
    typer.echo(runner.format_summary(result))
