"""``workshop monitor report``: the key monitoring figures of a time window (pt-BR)."""

from __future__ import annotations

import math
from typing import Any

import typer

from workshop.cli._app import JSON_OPTION, app, print_json

monitor = typer.Typer(help="Monitoramento: contagens, latência e drift dos eventos.")
app.add_typer(monitor, name="monitor")


def _num(value: float | None, digits: int = 2) -> str:
    """pt-BR number (Babel, via workshop.formatting); ``—`` for a missing value."""
    from workshop import formatting

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return formatting.number(value, digits)


def _pvalue(value: float | None) -> str:
    """ "p = 0,012" or "p < 0,001": never an exponent beside a decimal comma (issue 13)."""
    from workshop import formatting

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "p = —"
    return formatting.p_value(value)


def _share(count: int, total: int) -> str:
    """``(75,0 %)``: the share as every other percentage of the kit (Babel's pt-BR percent)."""
    from workshop import formatting

    return f"({formatting.percent(count / total)})"


def _counts_line(counts: dict[str, int], total: int) -> str:
    if not counts:
        return "—"
    return " · ".join(f"{k} {_num(v, 0)} {_share(v, total)}" for k, v in counts.items())


def format_report(data: dict[str, Any]) -> str:
    """The report as pt-BR text."""
    from workshop import monitoring

    window = monitoring.time_window(data["window"]["start"], data["window"]["end"])
    total = data["total"]
    lines = [f"Janela: {window.label()}", f"Eventos: {_num(total, 0)}"]
    if total:
        lines += [
            f"Por canal: {_counts_line(data['by_channel'], total)}",
            f"Por versão do modelo: {_counts_line(data['by_model_version'], total)}",
            "Produtos mais pedidos:",
        ]
        width = max(len(p) for p in data["top_products"])
        lines += [
            f"  {p:<{width}}  {_num(n, 0):>7}  {_share(n, total)}"
            for p, n in data["top_products"].items()
        ]
        lat = data["latency_ms"]
        lines.append(
            f"Latência do modelo (ms): p50 {_num(lat['p50_ms'])} · p95 {_num(lat['p95_ms'])}"
            f" · p99 {_num(lat['p99_ms'])} · máx {_num(lat['max_ms'])}"
        )
    drift = data["drift"]
    if drift is None:
        lines.append(f"Drift: não calculado — {data['drift_error']}")
        return "\n".join(lines)
    lines += _drift_lines(drift)
    others = {v: d for v, d in data.get("drift_by_version", {}).items() if v != drift["version"]}
    for other in others.values():
        lines += _drift_lines(other, headline=False)
    ks = drift["ks"]
    if ks is not None:
        lines.append(
            f"KS das predições (janela × amostra do treino): D = {_num(ks['statistic'], 3)}"
            f" · {_pvalue(ks['pvalue'])} → {ks['reading']}"
        )
    lines.append(f"Leitura geral: {drift['worst']}")
    if data.get("drift_warning"):
        lines.append(f"Atenção: {data['drift_warning']}")
    return "\n".join(lines)


def _drift_lines(drift: dict[str, Any], headline: bool = True) -> list[str]:
    """One version's PSI table: its own events against its own training profile."""
    title = "Drift" if headline else "Drift de outra versão na janela"
    lines = [
        f"{title}: eventos do {drift['version'] or 'modelo'} × {drift['reference']} (PSI;"
        " < 0,1 estável · 0,1–0,25 atenção · > 0,25 agir):"
    ]
    width = max(len(f["label"]) for f in drift["psi"].values())
    for item in drift["psi"].values():
        small = "  ← poucos eventos: indicativo" if item.get("small_sample") else ""
        lines.append(
            f"  {item['label']:<{width}}  {_num(item['psi'], 3):>7}  {item['reading']}"
            f"  ({_num(item['n'], 0)} eventos){small}"
        )
    if not headline:
        lines.append(f"  Leitura de {drift['version']}: {drift['worst']}")
    return lines


@monitor.command("report")
def report(
    since: str = typer.Option(
        "1h", "--since", help="Início da janela: relativo ('15m', '1h', '7d') ou data/hora ISO."
    ),
    until: str | None = typer.Option(
        None, "--until", help="Fim da janela (padrão: agora); mesmo formato de --since."
    ),
    version: str | None = typer.Option(
        None, "--version", help="Versão do modelo para o drift (padrão: a de produção)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Contagens, latência (p50/p95/p99) e drift (PSI por variável) de uma janela de eventos."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from workshop import monitoring, stack

    window = monitoring.time_window(since, until)
    try:
        data = monitoring.report(window, version=version)
    except (ApiError, TransportError) as exc:
        raise stack.es_error(exc, "montar o relatório") from None
    print_json(data) if json_out else typer.echo(format_report(data))
