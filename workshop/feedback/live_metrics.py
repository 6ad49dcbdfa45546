"""Live error: MAE and NWRMSLE of the labelled events, computed by Elasticsearch aggregations.

:func:`live_error` buckets the labelled events per target day/week and/or per family, model
version… (a ``composite`` aggregation) and reads ``avg(abs_error)`` and
``weighted_avg(sq_log_error, error_weight)`` per bucket (the fields labelling stored, see
:mod:`workshop.feedback.labels`); :func:`plot_live_error` draws the weekly curves of notebook 06.

The module is ``live_metrics``, not ``live_error``, so that its name differs from the function the
package re-exports (``feedback.live_error`` is the function; a same-named module would be shadowed).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch

from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError
from workshop.feedback.indices import refresh, search_kwargs
from workshop.feedback.labels import labelled_query
from workshop.feedback.scenario import FeedbackError, parse_day
from workshop.stack import connect

INTERVALS = {"day": "day", "week": "week", "dia": "day", "semana": "week"}
GROUPS = {"family", "model_version", "item_nbr", "product", "channel"}


# The per-bucket metrics of :func:`live_error` (NWRMSLE = sqrt of ``msle``).
ERROR_AGGS: dict[str, Any] = {
    "mae": {"avg": {"field": "abs_error"}},
    "msle": {
        "weighted_avg": {
            "value": {"field": "sq_log_error"},
            "weight": {"field": "error_weight"},
        }
    },
    "mean_prediction": {"avg": {"field": "prediction"}},
    "mean_actual": {"avg": {"field": "actual"}},
}


def live_error(
    *,
    interval: str | None = "week",
    by: str | list[str] | None = "family",
    start: date | str | None = None,
    end: date | str | None = None,
    logged_since: datetime | str | None = None,
    es: Elasticsearch | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """MAE and NWRMSLE of the labelled events, aggregated by Elasticsearch.

    One row per bucket: ``period`` (first day of the target day/week, when ``interval`` is
    ``"day"``/``"week"``), the ``by`` columns (``family``, ``model_version``…), ``n``, ``mae``,
    ``nwrmsle``, ``mean_prediction`` and ``mean_actual``. ``start``/``end`` (inclusive) restrict
    target dates; ``logged_since`` keeps only events logged (``@timestamp``) from that moment on,
    e.g. one scenario's traffic without what earlier notebooks logged for the same days.
    Empty frame (same columns) when nothing is labelled yet.
    """
    settings = settings or get_settings()
    es = es or connect(settings)
    groups = [by] if isinstance(by, str) else list(by or [])
    for g in groups:
        if g not in GROUPS:
            raise InvalidInputError(
                f"Não sei agrupar por {g!r}. Opções: {', '.join(sorted(GROUPS))}."
            )
    sources: list[dict[str, Any]] = []
    if interval is not None:
        if interval not in INTERVALS:
            raise InvalidInputError(f"Intervalo inválido: {interval!r} (use 'day' ou 'week').")
        sources.append(
            {
                "period": {
                    "date_histogram": {"field": "date", "calendar_interval": INTERVALS[interval]}
                }
            }
        )
    sources += [{g: {"terms": {"field": g}}} for g in groups]
    filters: list[dict[str, Any]] = [labelled_query()]
    bounds: dict[str, str] = {}
    if start is not None:
        bounds["gte"] = parse_day(start).isoformat()
    if end is not None:
        bounds["lte"] = parse_day(end).isoformat()
    if bounds:
        filters.append({"range": {"date": {**bounds, "format": "yyyy-MM-dd"}}})
    if logged_since is not None:
        since = pd.Timestamp(logged_since)
        since = since.tz_localize("UTC") if since.tzinfo is None else since.tz_convert("UTC")
        filters.append({"range": {"@timestamp": {"gte": since.isoformat()}}})
    metrics = ERROR_AGGS
    columns = (["period"] if interval else []) + groups
    out_columns = [*columns, "n", "mae", "nwrmsle", "mean_prediction", "mean_actual"]
    refresh(es, settings)
    rows: list[dict[str, Any]] = []
    if not sources:  # overall: one bucket
        resp = es.search(
            size=0,
            query={"bool": {"filter": filters}},
            aggs=metrics,
            track_total_hits=True,
            **search_kwargs(settings),
        )
        total = resp["hits"]["total"]["value"]
        if total:
            rows.append({"n": total, **_metric_values(resp["aggregations"])})
        return pd.DataFrame(rows, columns=out_columns)
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": 500, "sources": sources}
        if after:
            composite["after"] = after
        resp = es.search(
            size=0,
            query={"bool": {"filter": filters}},
            aggs={"buckets": {"composite": composite, "aggs": metrics}},
            **search_kwargs(settings),
        )
        agg = resp.get("aggregations", {}).get("buckets", {})
        for bucket in agg.get("buckets", []):
            row = dict(bucket["key"])
            row["n"] = bucket["doc_count"]
            row.update(_metric_values(bucket))
            rows.append(row)
        after = agg.get("after_key")
        if not after or len(agg.get("buckets", [])) < composite["size"]:
            break
    frame = pd.DataFrame(rows, columns=out_columns)
    if interval and not frame.empty:
        frame["period"] = pd.to_datetime(frame["period"], unit="ms", utc=True).dt.date
    return frame.sort_values(columns).reset_index(drop=True) if not frame.empty else frame


def _metric_values(aggs: dict[str, Any]) -> dict[str, float]:
    msle = aggs["msle"]["value"]
    return {
        "mae": _float(aggs["mae"]["value"]),
        "nwrmsle": math.sqrt(msle) if msle is not None else float("nan"),
        "mean_prediction": _float(aggs["mean_prediction"]["value"]),
        "mean_actual": _float(aggs["mean_actual"]["value"]),
    }


def _float(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def worst_family(settings: Settings | None = None, es: Elasticsearch | None = None) -> str:
    """The family with the highest live NWRMSLE (labelled events), for a CLI without scenario."""
    frame = live_error(interval=None, by="family", es=es, settings=settings)
    if frame.empty:
        raise FeedbackError("Nenhum evento rotulado: rode `workshop feedback label` primeiro.")
    return str(frame.sort_values("nwrmsle", ascending=False)["family"].iloc[0])


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (dates ISO, NaN → None)."""
    out = []
    for rec in frame.to_dict(orient="records"):
        row = {}
        for k, v in rec.items():
            if isinstance(v, date):
                v = v.isoformat()
            elif isinstance(v, float) and math.isnan(v):
                v = None
            elif isinstance(v, np.generic):
                v = v.item()
            row[str(k)] = v
        out.append(row)
    return out


# --------------------------------------------------------------------------- figures (notebook 06)


def plot_live_error(
    frame: pd.DataFrame,
    *,
    family: str | None = None,
    change_start: date | None = None,
    reference: float | None = None,
    min_events: int = 5,
) -> Any:
    """Live error per target week, one line per family (``live_error(interval="week",
    by="family")``), in two panels: NWRMSLE, and the bias (mean prediction ÷ mean actual).

    The affected ``family`` stands out, the change date is a vertical line and ``reference``
    (the card's holdout NWRMSLE) a horizontal one. Buckets with fewer than ``min_events`` labelled
    events are left out.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    shown = frame[frame["n"] >= min_events] if len(frame) else frame
    if shown.empty:
        top.text(0.5, 0.5, "Nenhum evento rotulado", ha="center", va="center")
    # Red is the affected family's alone (issue 13: another family drew in tab10's red): the
    # others cycle through tab10 without its red and its grey.
    others = [c for i, c in enumerate(plt.get_cmap("tab10").colors) if i not in (3, 7)]
    unaffected = 0
    for fam, part in shown.groupby("family", sort=True):
        part = part.sort_values("period")
        days = pd.to_datetime(part["period"]) + pd.Timedelta(hours=84)  # mid-week
        highlight = fam == family
        style = {
            "marker": "o",
            "linewidth": 2.6 if highlight else 1.0,
            "alpha": 1.0 if highlight or family is None else 0.5,
            "zorder": 3 if highlight else 2,
        }
        if highlight:
            style["color"] = "#c62828"
        else:
            style["color"] = others[unaffected % len(others)]
            unaffected += 1
        label = f"{fam} (afetada)" if highlight else str(fam)
        top.plot(days, part["nwrmsle"], label=label, **style)
        bottom.plot(days, part["mean_prediction"] / part["mean_actual"], **style)
    for ax in (top, bottom):
        if change_start is not None:
            ax.axvline(pd.Timestamp(change_start), color="black", linestyle="--", linewidth=1)
        ax.set_ylim(bottom=0)
    if change_start is not None:
        top.plot([], [], color="black", linestyle="--", linewidth=1, label="mudança na demanda")
    if reference is not None:
        top.axhline(
            reference,
            color="grey",
            linestyle=":",
            linewidth=1.4,
            label="erro na validação do treino",
        )
    bottom.axhline(1.0, color="grey", linestyle=":", linewidth=1.4)
    top.set_ylabel("NWRMSLE")
    top.set_title("Erro real por semana da data-alvo e família")
    bottom.set_ylabel("previsto ÷ real\n(1 = sem viés)")
    bottom.set_xlabel("semana da data-alvo (cada ponto no meio da sua semana)")
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m/%y"))
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.autofmt_xdate()
    from workshop.plots import pt_br_axes

    pt_br_axes(fig)  # NWRMSLE and bias ticks with a decimal comma (issue 13)
    fig.tight_layout()
    plt.close(fig)
    return fig
