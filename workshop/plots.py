"""Matplotlib figures for the notebooks, with pt-BR titles and axis labels.

Each function takes the pandas objects that :mod:`workshop.monitoring` (or the dataset/modeling
modules) return and gives back a :class:`matplotlib.figure.Figure`. The figure is closed in
pyplot before it is returned, so a notebook shows it exactly once — as the value of the cell —
and scripts and tests don't accumulate open figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from workshop.monitoring import DriftReport, LatencySummary

# Colours of the PSI reading (stable / watch / act), also used for the threshold bands.
READING_COLORS = {
    "estável": "#2e7d32",
    "atenção": "#f9a825",
    "agir": "#c62828",
    "sem dados": "#9e9e9e",
}

# pt-BR names of the event fields, for axes and legends.
FIELD_LABELS = {
    "product": "produto",
    "family": "família",
    "channel": "canal",
    "model_version": "versão do modelo",
    "item_nbr": "código do produto",
    "onpromotion": "em promoção",
}


def _label(field: str | None) -> str | None:
    return None if field is None else FIELD_LABELS.get(field, field)


def _pt(value: float, digits: int = 2) -> str:
    """A number with the pt-BR decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def _done(fig: Figure) -> Figure:
    fig.tight_layout()
    plt.close(fig)
    return fig


# =========================================================================== monitoring (issue 6)


def events_over_time(frame: pd.DataFrame, *, title: str = "Eventos ao longo do tempo") -> Figure:
    """Bars per time bucket of :func:`workshop.monitoring.counts_over_time`, stacked by the values
    of ``split_by`` when there is more than one column."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    x = frame.index.tz_localize(None) if getattr(frame.index, "tz", None) else frame.index
    steps = np.diff(x.to_numpy()).astype("timedelta64[ms]").astype(float) / 86_400_000
    width = 0.9 * (float(np.median(steps)) if len(steps) else 1 / 24)
    bottom = np.zeros(len(frame))
    for column in frame.columns:
        values = frame[column].to_numpy(dtype=float)
        ax.bar(x, values, width=width, bottom=bottom, align="edge", label=str(column))
        bottom += values
    if len(frame.columns) > 1:
        ax.legend(title=_label(frame.columns.name), fontsize="small")
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(title)
    ax.set_xlabel("Horário (UTC)")
    ax.set_ylabel("Eventos por intervalo")
    ax.grid(axis="y", alpha=0.3)
    return _done(fig)


def counts_bar(frame: pd.DataFrame, field: str, *, title: str | None = None) -> Figure:
    """Horizontal bars of :func:`workshop.monitoring.counts` (most frequent on top)."""
    data = frame.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(data) + 1.2))
    ax.barh(data[field].astype(str), data["eventos"], color="#1565c0")
    ax.set_title(title or f"Eventos por {_label(field)}")
    ax.set_xlabel("Eventos")
    ax.set_ylabel(_label(field))
    ax.grid(axis="x", alpha=0.3)
    return _done(fig)


def latency_histogram(
    hist: pd.DataFrame, summary: LatencySummary | None = None, *, title: str = "Latência do modelo"
) -> Figure:
    """Bars of :func:`workshop.monitoring.histogram` on ``latency_ms``, with p50/p95/p99 lines."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    starts = hist["início"].to_numpy(dtype=float)
    width = float(np.min(np.diff(starts))) if len(starts) > 1 else 1.0
    ax.bar(starts, hist["eventos"], width=width, align="edge", color="#90caf9", edgecolor="#1565c0")
    if summary is not None:
        for name, value, style in [
            ("p50", summary.p50, "-"),
            ("p95", summary.p95, "--"),
            ("p99", summary.p99, ":"),
        ]:
            if not np.isnan(value):
                ax.axvline(
                    value, color="#c62828", linestyle=style, label=f"{name} = {_pt(value)} ms"
                )
        ax.legend(fontsize="small")
    ax.set_title(title)
    ax.set_xlabel("Latência (ms)")
    ax.set_ylabel("Eventos")
    ax.grid(axis="y", alpha=0.3)
    return _done(fig)


def predictions_per_product(frame: pd.DataFrame, *, title: str = "Predições por produto") -> Figure:
    """The spread of the predictions per product from
    :func:`workshop.monitoring.prediction_percentiles`: a line p5–p95, a box p25–p75 and a dot at
    the median."""
    data = frame.sort_values("p50")
    y = np.arange(len(data))
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(data) + 1.4))
    ax.hlines(y, data["p5"], data["p95"], color="#607d8b", linewidth=1.5, label="p5–p95")
    ax.hlines(y, data["p25"], data["p75"], color="#1565c0", linewidth=7, label="p25–p75")
    ax.plot(data["p50"], y, "o", color="white", markeredgecolor="#0d47a1", label="mediana")
    ax.set_yticks(y, [str(i) for i in data.index])
    ax.set_title(title)
    ax.set_xlabel("Vendas previstas (unidades)")
    ax.set_ylabel("Produto")
    ax.legend(fontsize="small", loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    return _done(fig)


def drift_bars(
    reports: DriftReport | Mapping[str, DriftReport],
    *,
    title: str = "Drift em relação ao treino (PSI)",
) -> Figure:
    """PSI per feature as horizontal bars, over the bands stable (< 0.1), watch (0.1–0.25) and act
    (> 0.25). Pass one report, or several as ``{"rótulo": report}`` to compare windows."""
    from workshop.monitoring import PSI_ACT, PSI_WATCH, DriftReport

    named = {"janela": reports} if isinstance(reports, DriftReport) else dict(reports)
    first = next(iter(named.values()))
    labels = [f.label for f in first.features.values()]
    keys = list(first.features)
    height = 0.8 / len(named)
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(keys) * max(1, len(named) * 0.7) + 1.5))
    top = max(
        [PSI_ACT * 1.6]
        + [
            float(np.nan_to_num(r.features[k].psi)) * 1.1
            for r in named.values()
            for k in keys
            if k in r.features
        ]
    )
    ax.axvspan(0, PSI_WATCH, color=READING_COLORS["estável"], alpha=0.08)
    ax.axvspan(PSI_WATCH, PSI_ACT, color=READING_COLORS["atenção"], alpha=0.12)
    ax.axvspan(PSI_ACT, top * 1.35, color=READING_COLORS["agir"], alpha=0.08)
    y = np.arange(len(keys))
    for i, (name, report) in enumerate(named.items()):
        values = [report.features[k].psi if k in report.features else np.nan for k in keys]
        readings = [
            report.features[k].reading if k in report.features else "sem dados" for k in keys
        ]
        offset = (i - (len(named) - 1) / 2) * height
        bars = ax.barh(
            y + offset,
            np.nan_to_num(values),
            height=height * 0.9,
            color=[READING_COLORS[r] for r in readings],
            edgecolor="black",
            linewidth=0.5,
        )
        for bar, value, reading in zip(bars, values, readings, strict=True):
            text = "sem dados" if np.isnan(value) else f"{_pt(value)} {reading}"
            prefix = f"{name}: " if len(named) > 1 else ""
            ax.text(
                bar.get_width() + top * 0.01,
                bar.get_y() + bar.get_height() / 2,
                prefix + text,
                va="center",
                fontsize="small",
            )
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.35)
    ax.set_title(title)
    ax.set_xlabel("PSI  (< 0,1 estável · 0,1–0,25 atenção · > 0,25 agir)")
    return _done(fig)


def drift_shares(report: DriftReport, feature: str, *, title: str | None = None) -> Figure:
    """Training vs window shares of one feature, side by side (what the PSI summarises)."""
    shares = report.shares(feature)
    x = np.arange(len(shares))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(shares) + 2), 3.8))
    ax.bar(x - 0.2, shares["treino"], width=0.4, label="treino", color="#90a4ae")
    ax.bar(x + 0.2, shares["janela"], width=0.4, label="janela", color="#1565c0")
    names = [str(i) for i in shares.index]
    crowded = len(names) * max(len(n) for n in names) > 60  # labels would overlap
    ax.set_xticks(x, names, rotation=35 if crowded else 0, ha="right" if crowded else "center")
    item = report.features[feature]
    ax.set_title(title or f"{item.label}: treino × janela (PSI {_pt(item.psi)}, {item.reading})")
    ax.set_xlabel(item.label)
    ax.set_ylabel("Proporção dos eventos")
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return _done(fig)
