"""``workshop train``, ``workshop models list``, ``workshop models promote VERSION`` (pt-BR)."""

from __future__ import annotations

from typing import Any

import typer

from workshop.cli._app import JSON_OPTION, app, print_json

models = typer.Typer(help="Versões do modelo registradas e qual está em produção.")
app.add_typer(models, name="models")


def _num(value: float, digits: int = 3) -> str:
    """pt-BR decimal comma (Babel, via workshop.formatting)."""
    from workshop import formatting

    return formatting.number(value, digits)


def _day(iso: str | None) -> str:
    """``2025-12-31`` → ``31/12/2025`` (a card's dates are ISO)."""
    from workshop import formatting

    return formatting.day(iso) if iso else "—"


def _moment(iso: str | None) -> str:
    """A card's ``created_at`` (ISO, UTC) to the second: ``01/12/2026 12:01:54``."""
    from workshop import formatting

    return formatting.moment(iso) if iso else "—"


def format_train(summary: dict[str, Any], card: dict[str, Any]) -> str:
    names = {"product_mean": "média do produto", "seasonal_naive": "ingênuo sazonal"}
    lines = [
        f"Modelo {summary['version']} registrado"
        + (" e promovido a produção." if summary["promoted"] else "."),
        f"Treino: {_day(card['train_start'])} a {_day(card['train_end'])} "
        f"({_num(summary['rows'], 0)} linhas, semente {summary['seed']}); validação: "
        f"{_day(card['holdout_start'])} a {_day(card['holdout_end'])}.",
        f"NWRMSLE na validação: {_num(summary['nwrmsle'])} (MAE {_num(summary['mae'], 1)}, "
        f"R² {_num(summary['r2'])})",
    ]
    for key, value in summary["baselines"].items():
        lines.append(f"  baseline {names.get(key, key)}: NWRMSLE {_num(value)}")
    lines.append(
        f"O modelo erra {_num(100 * (1 - summary['ratio_to_baseline']), 0)}% menos que o melhor "
        f"baseline. Tempo de treino: {_num(summary['train_seconds'], 1)} s."
    )
    if not summary["promoted"]:
        lines.append(f"Para servir esta versão: workshop models promote {summary['version']}")
    return "\n".join(lines)


@app.command()
def train(
    promote: bool = typer.Option(False, "--promote", help="Promove a nova versão a produção."),
    seed: int | None = typer.Option(
        None, "--seed", help="Semente dos dados sintéticos (padrão: a do workshop, 2017)."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Treina o modelo de previsão de vendas, avalia contra os baselines e registra a versão."""
    from workshop.dataset import DEFAULT_SEED
    from workshop.modeling import train_and_register

    seed = DEFAULT_SEED if seed is None else seed
    result = train_and_register(seed=seed, promote=promote, progress=True)
    summary = result.summary()
    if json_out:
        print_json(summary)
    else:
        typer.echo(format_train(summary, result.card))


def _rows() -> tuple[str | None, list[dict[str, Any]]]:
    from workshop.modeling import Registry

    registry = Registry()
    production = registry.production_version()
    rows = [
        {
            "version": card["version"],
            "created_at": card.get("created_at"),
            "train_start": card.get("train_start"),
            "train_end": card.get("train_end"),
            "nwrmsle": card["metrics"]["nwrmsle"],
            "mae": card["metrics"]["mae"],
            "r2": card["metrics"]["r2"],
            "baseline_nwrmsle": card.get("baseline_nwrmsle"),
            "extra_rows": card.get("extra_rows", 0),
            "description": card.get("description"),
            "production": card["version"] == production,
            # Issue 13: v2's own holdout figure is v1's window; the gain seen in notebook 06 is
            # the comparison on the unseen window, recorded in the new version's card.
            "feedback_comparison": (card.get("feedback") or {}).get("comparison"),
        }
        for card in registry.list()
    ]
    return production, rows


@models.command("list")
def list_models(json_out: bool = JSON_OPTION) -> None:
    """Lista as versões registradas (★ = em produção)."""
    production, rows = _rows()
    if json_out:
        print_json({"production": production, "models": rows})
        return
    if not rows:
        typer.echo("Nenhum modelo treinado — execute o notebook 01 ou `workshop train`.")
        return
    typer.echo(f"{'':2}{'versão':<8}{'criado em (UTC)':<21}{'NWRMSLE':>9}{'baseline':>10}  dados")
    for row in rows:
        mark = "★" if row["production"] else " "
        extra = f" + {_num(row['extra_rows'], 0)} linhas extras" if row["extra_rows"] else ""
        typer.echo(
            f"{mark} {row['version']:<8}{_moment(row['created_at']):<21}"
            f"{_num(row['nwrmsle']):>9}{_num(row['baseline_nwrmsle'] or float('nan')):>10}  "
            f"{_day(row['train_start'])} a {_day(row['train_end'])}{extra}"
        )
    compared = [r for r in rows if r["feedback_comparison"]]
    if compared:
        typer.echo("")
        typer.echo(
            "Comparações do ciclo de feedback (janela que nenhuma das versões viu; NWRMSLE):"
        )
        for row in compared:
            c = row["feedback_comparison"]
            verdict = "promovida" if c.get("promoted") else "não promovida"
            typer.echo(
                f"  {c['old_version']} → {c['new_version']}  {_day(c['window_start'])} a "
                f"{_day(c['window_end'])}:  geral {_num(c['overall_nwrmsle_old'])} → "
                f"{_num(c['overall_nwrmsle_new'])} · {c['family']} "
                f"{_num(c['family_nwrmsle_old'])} → {_num(c['family_nwrmsle_new'])}  ({verdict})"
            )
        typer.echo(
            "  (a coluna NWRMSLE acima é a da validação de cada treino, em janelas diferentes: "
            "compare versões por esta comparação)"
        )
    if production is None:
        typer.echo("Nenhuma versão em produção: use `workshop models promote VERSÃO`.")


@models.command("promote")
def promote_model(
    version: str = typer.Argument(..., help="A versão a promover, por exemplo v2."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Coloca uma versão em produção (o serviço passa a usá-la em menos de um segundo)."""
    from workshop.modeling import Registry

    registry = Registry()
    previous = registry.production_version()
    pointer = registry.promote(version.strip())
    if json_out:
        print_json({**pointer, "previous": previous})
    else:
        before = f" (antes: {previous})" if previous else ""
        typer.echo(f"Versão {pointer['version']} em produção{before}.")
