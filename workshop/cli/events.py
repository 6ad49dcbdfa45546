"""``workshop events count|tail|show|replay`` and ``workshop simulate``."""

from __future__ import annotations

from typing import Any

import typer

from workshop.cli._app import JSON_OPTION, app, print_json
from workshop.errors import InvalidInputError

events_app = typer.Typer(
    help="Eventos de predição (model-*) e o spool local.", no_args_is_help=True
)
app.add_typer(events_app, name="events")


def _by_channel(es: Any, index: str) -> dict[str, int]:
    try:
        resp = es.search(
            index=index,
            size=0,
            aggs={"canais": {"terms": {"field": "channel", "size": 20}}},
            ignore_unavailable=True,
            allow_no_indices=True,
        )
    except Exception as exc:
        from workshop.stack import es_error

        raise es_error(exc, f"consultar {index}") from None
    buckets = resp.get("aggregations", {}).get("canais", {}).get("buckets", [])
    return {b["key"]: int(b["doc_count"]) for b in buckets}


@events_app.command("count")
def count(json_out: bool = JSON_OPTION) -> None:
    """Conta os eventos em model-* (total e por canal) e os pendentes no spool."""
    from workshop import events as ev
    from workshop import stack
    from workshop.config import get_settings

    settings = get_settings()
    es = stack.connect(settings)
    total = ev.count_events(es, settings=settings)
    result = {
        "index_pattern": settings.index_pattern,
        "count": total,
        "by_channel": _by_channel(es, settings.index_pattern) if total else {},
        **ev.spool_status(settings),
    }
    if json_out:
        print_json(result)
        return
    typer.echo(f"Eventos em {settings.index_pattern}: {total}")
    if result["by_channel"]:
        channels = ", ".join(f"{k} {v}" for k, v in result["by_channel"].items())
        typer.echo(f"  por canal: {channels}")
    typer.echo(
        f"Spool: {result['spool_size']} eventos pendentes, {result['rejected']} recusados "
        f"({result['spool_dir']})"
    )


@events_app.command("tail")
def tail(
    n: int = typer.Option(10, "--n", "-n", min=1, max=1000, help="Quantos eventos mostrar."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Mostra os eventos mais recentes (como o Discover do Kibana)."""
    from workshop.events.arrival import latest_documents

    rows = latest_documents(n=n)
    if json_out:
        print_json({"events": rows})
        return
    if not rows:
        typer.echo(
            "Nenhum evento ainda: faça algumas predições (notebook 02 ou `workshop simulate`)."
        )
        return
    typer.echo(format_table(rows))


@events_app.command("show")
def show(
    prediction_id: str = typer.Argument(
        ..., help="O ID da predição (o formulário, a API e o widget o mostram)."
    ),
    wait: float = typer.Option(
        5.0, "--wait", min=0, max=120, help="Segundos para esperar o evento chegar."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Mostra o evento de uma predição, pelo ID (o que o Discover do Kibana mostraria)."""
    from workshop import kibana, stack
    from workshop.config import get_settings
    from workshop.errors import StackError

    settings = get_settings()
    kibana.prediction_url(prediction_id)  # validates the id's shape (pt-BR error)
    try:
        event = kibana.wait_for_event(prediction_id, stack.connect(settings), timeout=wait)
    except StackError:
        raise StackError(
            f"Nenhum evento com o ID {prediction_id} em {settings.index_pattern} (esperei "
            f"{wait:.0f} s). Confira o ID — o formulário, a API e o widget o mostram — e se o "
            "serviço registra eventos (`workshop doctor`)."
        ) from None
    except Exception as exc:
        raise stack.es_error(exc, "buscar o evento", settings) from None
    if json_out:
        print_json(event)
        return
    typer.echo(format_event(event))


def format_event(event: dict[str, Any]) -> str:
    """One event as "campo  valor" lines, in pt-BR (numbers and dates by workshop.formatting)."""
    order = [*TAIL_HEADERS, "item_nbr", "family", "onpromotion", "actual", "abs_error"]
    keys = [k for k in order if k in event] + sorted(k for k in event if k not in order)
    labels = {**TAIL_HEADERS, **EXTRA_HEADERS}
    width = max(len(labels.get(k, k)) for k in keys)
    return "\n".join(f"{labels.get(k, k).ljust(width)}  {_cell(k, event[k])}" for k in keys)


EXTRA_HEADERS = {
    "item_nbr": "item_nbr (nº do produto)",
    "family": "família",
    "onpromotion": "em promoção",
    "actual": "venda real",
    "abs_error": "erro absoluto",
    "labeled_at": "rotulado em (UTC)",
}


TAIL_HEADERS = {
    "@timestamp": "quando (UTC)",
    "product": "produto",
    "date": "data pedida",
    "prediction": "previsão",
    "model_version": "versão",
    "channel": "canal",
    "latency_ms": "latência (ms)",
    "prediction_id": "ID da predição",
}


# Units sold, as the form, the widget and the notebooks print a prediction: one decimal (the
# form's card says 72,9 for the event this command shows).
_UNITS = {"prediction", "actual", "abs_error"}


def _cell(column: str, value: Any) -> str:
    """What a participant reads: seconds (not microseconds), units sold with one decimal, other
    numbers with two, a decimal comma."""
    from workshop import formatting

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "sim" if value else "não"
    if column in ("@timestamp", "labeled_at") and isinstance(value, str):
        return formatting.moment(value)
    if column == "date" and isinstance(value, str):
        return formatting.day(value)
    if isinstance(value, int | float) and column in _UNITS:
        return formatting.number(value, 1)
    if isinstance(value, float):
        return formatting.number(value, 2)
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Event documents as an aligned pt-BR table (numbers to the right)."""
    columns = list(rows[0])
    cells = [[_cell(c, row.get(c)) for c in columns] for row in rows]
    headers = [TAIL_HEADERS.get(c, c) for c in columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [isinstance(rows[0].get(c), int | float) for c in columns]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), *(line(r) for r in cells)])


@events_app.command("replay")
def replay(json_out: bool = JSON_OPTION) -> None:
    """Reenvia os eventos guardados no spool; termina com código 1 enquanto restarem eventos."""
    from workshop import events as ev
    from workshop.config import get_settings

    settings = get_settings()
    result = ev.replay(settings, progress=not json_out)
    data = {"transport": str(settings.event_transport), **vars(result)}
    if json_out:
        print_json(data)
    else:
        typer.echo(
            f"Reenviados {result.replayed} eventos por {settings.event_transport}; "
            f"restam {result.remaining} no spool."
            + (f" {result.failed} recusados (veja spool/rejected.jsonl)." if result.failed else "")
        )
        for line in replay_reasons(result, str(settings.event_transport)):
            typer.echo(line)
    raise typer.Exit(1 if result.error or result.remaining else 0)


def replay_reasons(result: Any, transport: str) -> list[str]:
    """Why events remain after a replay, in pt-BR (empty when none remain)."""
    reasons = []
    if result.error:
        reasons.append(
            f"O transporte {transport} continua indisponível ({result.error}): "
            "rode `workshop events replay` de novo quando ele voltar."
        )
    if result.held:
        reasons.append(
            f"{result.held} eventos estão no diário de um serviço em execução, que os envia "
            "sozinho: confira `workshop doctor` ou o /health do serviço."
        )
    other = result.remaining - result.held
    if other > 0 and not result.error:
        reasons.append(f"{other} eventos chegaram ao spool durante o reenvio: rode de novo.")
    return reasons


def _parse_weights(values: list[str] | None) -> dict[str, float] | None:
    weights: dict[str, float] = {}
    for value in values or []:
        family, sep, weight = value.rpartition("=")
        if not sep or not family:
            raise InvalidInputError(
                f"Peso de família inválido: {value!r} (use FAMÍLIA=PESO, ex.: BEBIDAS=3)"
            )
        try:
            weights[family.strip().upper()] = float(weight)
        except ValueError:
            raise InvalidInputError(f"Peso de família inválido: {value!r}") from None
    return weights or None


FAMILY_WEIGHT_OPTION = typer.Option(
    None, "--family-weight", help="Peso de uma família, ex.: BEBIDAS=3 (repita a opção)."
)


@app.command()
def simulate(
    n: int = typer.Option(500, "--n", min=1, help="Quantas requisições enviar."),
    concurrency: int = typer.Option(8, "--concurrency", min=1, help="Requisições em paralelo."),
    start: str | None = typer.Option(
        None, "--start", help="Primeira data pedida (AAAA-MM-DD; padrão: hoje)."
    ),
    days: int = typer.Option(28, "--days", min=1, help="Quantos dias a partir de --start."),
    url: str | None = typer.Option(
        None, "--url", help="Endereço do serviço (padrão: WORKSHOP_SERVICE_URL)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Semente (tráfego reprodutível)."),
    family_weight: list[str] | None = FAMILY_WEIGHT_OPTION,
    promotion_rate: float | None = typer.Option(
        None,
        "--promotion-rate",
        help="Fração das requisições em promoção (padrão: o calendário de promoções da loja).",
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Envia tráfego realista ao serviço do modelo (canal `simulator`)."""
    from workshop.simulator import simulate as run

    summary = run(
        n=n,
        concurrency=concurrency,
        start=start,
        days=days,
        url=url,
        seed=seed,
        family_weights=_parse_weights(family_weight),
        promotion_rate=promotion_rate,
        progress=not json_out,
    )
    if json_out:
        print_json(summary.as_dict())
    else:
        typer.echo(str(summary))
    raise typer.Exit(0 if summary.errors == 0 else 1)
