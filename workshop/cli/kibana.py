"""``workshop kibana setup`` and ``workshop kibana link``."""

from __future__ import annotations

import typer

from workshop.cli._app import JSON_OPTION, app, print_json

group = typer.Typer(help="Kibana: provisionamento e links para o Discover.", no_args_is_help=True)
app.add_typer(group, name="kibana")

URL_OPTION = typer.Option(
    None, "--url", help="Endereço do Kibana (padrão: WORKSHOP_KIBANA_URL, http://localhost:5601)."
)


@group.command("setup")
def setup(
    url: str | None = URL_OPTION,
    timeout: float = typer.Option(
        180.0, "--timeout", min=1, help="Quantos segundos esperar o Kibana ficar disponível."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Importa o data view model-*, a busca salva e o dashboard do workshop no Kibana."""
    from workshop import kibana

    result = kibana.setup(url, wait_timeout=timeout, progress=not json_out)
    if json_out:
        print_json(result.as_dict())
    else:
        if result.version:
            typer.echo(f"Kibana {result.version} disponível em {result.kibana_url}.")
        typer.echo(result.summary())
    raise typer.Exit(0 if result.success else 1)


@group.command("link")
def link(
    prediction_id: str | None = typer.Option(
        None, "--prediction-id", help="Abre o Discover exatamente no evento desta predição."
    ),
    url: str | None = URL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Mostra um link do Discover (data view model-*, colunas do workshop)."""
    from workshop import kibana
    from workshop.errors import InvalidInputError

    notes: list[str] = []
    if prediction_id is None:
        target = kibana.discover_url(kibana_url=url)
    else:
        kibana.prediction_url(prediction_id)  # validates the id's shape (pt-BR error)
        timestamp = None
        try:
            event = kibana.find_event(prediction_id)
        except Exception:  # Elasticsearch down: the link still works, with a wider time range
            notes.append(
                "Elasticsearch indisponível: não pude conferir o ID; usei os últimos 7 dias "
                "como intervalo de tempo."
            )
        else:
            if event is None:  # issue 13: an id that exists nowhere got a link anyway
                raise InvalidInputError(
                    f"Nenhuma predição com o ID {prediction_id} no Elasticsearch: confira o ID "
                    "(o formulário, a API e o widget o mostram). Se ela acabou de ser feita, "
                    "espere alguns segundos e tente de novo."
                )
            timestamp = kibana.event_timestamp(event)
        target = kibana.prediction_url(prediction_id, timestamp=timestamp, kibana_url=url)
    status = kibana.kibana_status(url)
    if not status.usable:  # issue 13: say so instead of a link that cannot open
        notes.append(
            f"{status.message} O link abaixo só abre com o Kibana no ar (stack Docker)."
            + (f" Sem Kibana: `workshop events show {prediction_id}`." if prediction_id else "")
        )
    note = " ".join(notes)
    if json_out:
        print_json({"url": target, "prediction_id": prediction_id, "note": note or None})
        return
    if note:
        typer.secho(note, fg=typer.colors.YELLOW, err=True)
    typer.echo(target)
