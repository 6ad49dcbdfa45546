"""``workshop monitor run`` and ``workshop monitor check``: the scheduled checks (pt-BR).

Registered on the ``monitor`` group of :mod:`workshop.cli.monitor`. Exit codes of ``check``, for
cron and CI: 0 every rule ok, 1 at least one rule fires, 2 the rules could not be evaluated.
"""

from __future__ import annotations

from pathlib import Path

import typer

from workshop.cli._app import JSON_OPTION, print_json
from workshop.cli.monitor import monitor
from workshop.errors import WorkshopError

RULES_OPTION = typer.Option(
    None, "--rules", help="Arquivo de regras (padrão: infra/monitoring/rules.toml)."
)


@monitor.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="Uma rodada e sai."),
    every: str | None = typer.Option(
        None, "--every", help="Uma rodada a cada intervalo ('60s', '5m') até SIGTERM/Ctrl+C."
    ),
    rules: Path | None = RULES_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Avalia as regras e grava os resultados em monitoring-* (e as mudanças de estado)."""
    from workshop.alerts import load_rules, runner

    if once == (every is not None):
        typer.secho(
            "Erro: use --once (uma rodada) ou --every 60s (até parar), um dos dois.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    if every is not None:
        interval = runner.parse_interval(every)
        runner.run_forever(interval, rules_path=rules, echo=lambda s: typer.echo(s, err=json_out))
        return
    result = runner.run_once(load_rules(rules), progress=not json_out)
    print_json(result.to_dict()) if json_out else typer.echo(runner.format_round(result))


@monitor.command("check")
def check(rules: Path | None = RULES_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Mostra o estado atual de cada regra; sai com 1 se alguma estiver disparada."""
    from workshop.alerts import load_rules, runner

    try:
        result = runner.run_once(load_rules(rules), write=False)
    except WorkshopError as exc:  # bad rules file, engine away: not the same as "a rule fires"
        typer.secho(f"Erro: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if json_out:
        print_json(result.to_dict())
    else:
        typer.echo(runner.format_round(result))
        typer.echo(f"{len(result.firing)} regra(s) disparada(s)." if result.firing else "Tudo ok.")
    raise typer.Exit(1 if result.firing else 0)
