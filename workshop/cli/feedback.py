"""``workshop feedback …``: label events, live error, retrain/compare/promote, the full demo."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from workshop.cli._app import JSON_OPTION, app, print_json

if TYPE_CHECKING:
    import pandas as pd

group = typer.Typer(
    help="Ciclo de feedback: rotular eventos, medir o erro real, retreinar e promover.",
    no_args_is_help=True,
)
app.add_typer(group, name="feedback")

LABEL_AS_OF_HELP = (
    "Data de referência AAAA-MM-DD: rotula eventos com data-alvo anterior a ela. Padrão: hoje "
    "(UTC)."
)
AS_OF_HELP = (
    "Data de corte AAAA-MM-DD: treina com datas-alvo anteriores a ela e avalia a partir dela. "
    "Padrão: o 'hoje' do cenário salvo pela demo/notebook 06, senão hoje (UTC)."
)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    from workshop import formatting

    return formatting.number(float(value), digits)


def _as_of(value: str | None) -> date | None:
    from workshop import feedback

    return None if value is None else feedback.parse_day(value)


@group.command("label")
def label(
    as_of: str | None = typer.Option(None, "--as-of", help=LABEL_AS_OF_HELP),
    json_out: bool = JSON_OPTION,
) -> None:
    """Preenche as vendas reais (actual, abs_error) nos eventos cuja data-alvo já passou."""
    from workshop import feedback

    result = feedback.label_events(as_of=_as_of(as_of), progress=not json_out)
    if json_out:
        print_json(result.to_dict())
    else:
        typer.echo(result.summary())


def format_error_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "Nenhum evento rotulado ainda: rode `workshop feedback label`."
    shown = frame.copy()
    for col, digits in (("mae", 1), ("nwrmsle", 3), ("mean_prediction", 1), ("mean_actual", 1)):
        shown[col] = [_num(v, digits) for v in shown[col]]
    shown = shown.rename(
        columns={
            "period": "período",
            "family": "família",
            "model_version": "versão",
            "n": "eventos",
            "mae": "MAE",
            "nwrmsle": "NWRMSLE",
            "mean_prediction": "média previsto",
            "mean_actual": "média real",
        }
    )
    return shown.to_string(index=False)


@group.command("report")
def report(
    interval: str = typer.Option("week", "--interval", help="Agrupar a data-alvo por day|week."),
    by: str = typer.Option(
        "family", "--by", help="Agrupar também por family|model_version (vírgula para ambos)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Erro real (MAE e NWRMSLE) dos eventos rotulados, calculado por agregações."""
    from workshop import feedback

    groups = [g.strip() for g in by.split(",") if g.strip()]
    frame = feedback.live_error(interval=interval, by=groups)
    overall = feedback.live_error(interval=None, by=None)
    if json_out:
        print_json(
            {
                "interval": interval,
                "by": groups,
                "rows": feedback.frame_records(frame),
                "overall": feedback.frame_records(overall)[0] if len(overall) else None,
            }
        )
        return
    typer.echo(format_error_table(frame))
    if len(overall):
        row = overall.iloc[0]
        typer.echo(
            f"\nTotal: {int(row['n'])} eventos rotulados · MAE {_num(row['mae'], 2)} · "
            f"NWRMSLE {_num(row['nwrmsle'])}"
        )


def format_comparison(data: dict[str, Any]) -> str:
    fam = data["family"]
    lines = [
        f"Janela de avaliação: {data['window_start']} a {data['window_end']} "
        f"({data['eval_rows']} linhas de vendas reais que nenhum dos modelos viu no treino)",
        f"{'':<22} {data['old_version']:>10} {data['new_version']:>10}",
        f"{'NWRMSLE geral':<22} {_num(data['overall_nwrmsle_old']):>10} "
        f"{_num(data['overall_nwrmsle_new']):>10}",
        f"{'MAE geral':<22} {_num(data['overall_mae_old'], 2):>10} "
        f"{_num(data['overall_mae_new'], 2):>10}",
        f"{'NWRMSLE ' + fam:<22} {_num(data['family_nwrmsle_old']):>10} "
        f"{_num(data['family_nwrmsle_new']):>10}",
        f"{'MAE ' + fam:<22} {_num(data['family_mae_old'], 2):>10} "
        f"{_num(data['family_mae_new'], 2):>10}",
        f"Veredito: {data['reason']}",
    ]
    if data["promoted"]:
        lines.append(f"Promovido: {data['new_version']} agora é a versão de produção.")
    elif data["better"]:
        lines.append(f"Não promovido (use --promote): {data['old_version']} continua em produção.")
    else:
        lines.append(f"Não promovido: {data['old_version']} continua em produção.")
    return "\n".join(lines)


@group.command("retrain")
def retrain(
    promote: bool = typer.Option(
        False, "--promote", help="Promove a nova versão se ela for melhor."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    family: str | None = typer.Option(
        None, "--family", help="Família afetada (padrão: a do cenário ou a de maior erro real)."
    ),
    eval_days: int = typer.Option(28, "--eval-days", min=1, help="Dias da janela de avaliação."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Cura os eventos rotulados, treina uma nova versão, compara com a de produção e promove."""
    from workshop import feedback

    result = feedback.close_loop(
        as_of=feedback.default_as_of(_as_of(as_of)),
        family=family,
        eval_days=eval_days,
        promote=promote,
        progress=not json_out,
    )
    data = result.to_dict()
    if json_out:
        print_json(data)
    else:
        typer.echo(result.curated.summary())
        typer.echo(format_comparison(data))


@group.command("demo")
def demo(
    fast: bool = typer.Option(False, "--fast", help="Menos tráfego (como no CI)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """O cenário completo: mudança de demanda, tráfego, rótulos, retreino, comparação, promoção."""
    from workshop import feedback

    echo = (lambda _msg: None) if json_out else typer.echo
    result = feedback.run_scenario(fast=fast, progress=not json_out, echo=echo)
    if json_out:
        print_json(result)
    else:
        typer.echo(format_comparison(result))
