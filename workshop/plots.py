"""Matplotlib figures for the notebooks, with pt-BR titles and axis labels.

Each function takes the pandas objects that :mod:`workshop.monitoring` (or the dataset/modeling
modules) return and gives back a :class:`matplotlib.figure.Figure`. The figure is closed in
pyplot before it is returned, so a notebook shows it exactly once — as the value of the cell —
and scripts and tests don't accumulate open figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from workshop import formatting

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


_PT_MONTHS = dict(
    zip(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        ["jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez"],
        strict=True,
    )
)
_MONTH_RE = re.compile(r"\b(" + "|".join(_PT_MONTHS) + r")\b")


def pt_br_months(text: str) -> str:
    """English month abbreviations (matplotlib's C-locale ``%b``) in pt-BR: Oct → out."""
    return _MONTH_RE.sub(lambda m: _PT_MONTHS[m.group(1)], text)


class _PtBrConciseDateFormatter(mdates.ConciseDateFormatter):
    """ConciseDateFormatter with pt-BR month names, whatever the machine's locale."""

    def format_ticks(self, values: Any) -> list[str]:
        return [pt_br_months(label) for label in super().format_ticks(values)]

    def get_offset(self) -> str:
        return pt_br_months(super().get_offset())


def _date_axis(ax: Axes) -> None:
    """Concise date ticks (2026, fev, 03…) on the x axis, month names in pt-BR."""
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_PtBrConciseDateFormatter(locator))


def _label(field: str | None) -> str | None:
    return None if field is None else FIELD_LABELS.get(field, field)


def _pt(value: float, digits: int = 2) -> str:
    """A number in pt-BR (Babel, via workshop.formatting)."""
    return formatting.number(value, digits)


def _tick_decimals(axis: Any) -> int:
    ticks = np.asarray(axis.get_ticklocs(), dtype=float)
    steps = np.diff(np.sort(ticks))
    steps = steps[steps > 0]
    if not len(steps):
        return 0
    step = float(steps.min())
    return 0 if step >= 1 else min(6, int(np.ceil(-np.log10(step) - 1e-9)))


def _date_pattern(span_days: float) -> str:
    if span_days > 60:
        return "LLL yyyy"
    if span_days > 2:
        return "dd/MM"
    if span_days > 0.25:
        return "dd/MM HH:mm"
    return "HH:mm:ss"


def pt_br_axes(fig: Figure) -> None:
    """Every numeric tick with a decimal comma, every date tick with day and month in pt-BR
    (issue 13: "0.1" next to "0,334"; "08 15 22" without the month). Babel formats both."""
    import matplotlib.dates as mdates
    from babel.dates import format_datetime
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            current = axis.get_major_formatter()
            if isinstance(current, mdates.ConciseDateFormatter | mdates.AutoDateFormatter):
                low, high = axis.get_view_interval()
                pattern = _date_pattern(abs(high - low))
                axis.set_major_formatter(
                    FuncFormatter(
                        lambda x, _pos, pattern=pattern: format_datetime(
                            mdates.num2date(x), pattern, locale=formatting.LOCALE
                        )
                    )
                )
            elif isinstance(current, ScalarFormatter):
                decimals = _tick_decimals(axis)
                axis.set_major_formatter(
                    FuncFormatter(lambda x, _pos, d=decimals: formatting.number(x, d))
                )


def _done(fig: Figure) -> Figure:
    fig.tight_layout()
    pt_br_axes(fig)
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
    _date_axis(ax)
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
    # Issue 13: a few slow first requests stretched the axis to 16 ms and squeezed every bar
    # into its first millimetres. Show up to where 99.5 % of the events are; count the rest.
    counts = hist["eventos"].to_numpy(dtype=float)
    if counts.sum() > 0 and len(starts) > 1:
        cumulative = np.cumsum(counts) / counts.sum()
        last = int(np.searchsorted(cumulative, 0.995)) + 1
        right = starts[min(last, len(starts) - 1)] + width
        if summary is not None and not np.isnan(summary.p99):
            right = max(right, summary.p99 * 1.2)
        hidden = int(counts[starts >= right].sum())
        if hidden:
            ax.set_xlim(starts[0], right)
            ax.annotate(
                f"+{formatting.integer(hidden)} evento(s) acima de {_pt(right)} ms, fora da escala",
                xy=(0.99, 0.5),
                xycoords="axes fraction",
                ha="right",
                fontsize="small",
                color="#555",
            )
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


# ====================================================================== dataset & model (issue 3)

WEEKDAYS_PT = ["seg", "ter", "qua", "qui", "sex", "sáb", "dom"]


def _ordinary(history: pd.DataFrame) -> pd.DataFrame:
    """Rows without promotion, with a datetime ``day`` column (to isolate calendar effects)."""
    plain = history[~history["onpromotion"].astype(bool)].copy()
    plain["day"] = pd.to_datetime(plain["date"])
    return plain


def _index_vs(frame: pd.DataFrame, group: pd.Series, reference: object) -> pd.DataFrame:
    """Mean sales per (family, group) divided by the family's mean in the ``reference`` group,
    averaged per product first so that big sellers do not dominate."""
    per_product = frame.groupby(["family", "item_nbr", group])["unit_sales"].mean().unstack()
    relative = per_product.div(per_product[reference], axis=0)
    return relative.groupby(level="family").mean()


def weekday_effect(history: pd.DataFrame, *, title: str = "Efeito do dia da semana") -> Figure:
    """Sales of each weekday relative to the family's average day (days without promotion)."""
    plain = _ordinary(history)
    weekday = plain["day"].dt.day_of_week.rename("weekday")
    per_product = plain.groupby(["family", "item_nbr", weekday])["unit_sales"].mean().unstack()
    relative = per_product.div(per_product.mean(axis=1), axis=0).groupby(level="family").mean()
    fig, ax = plt.subplots(figsize=(8, 4))
    for family, row in relative.iterrows():
        ax.plot(range(7), row.to_numpy(), marker="o", label=str(family))
    ax.axhline(1, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(7), WEEKDAYS_PT)
    ax.set_title(title)
    ax.set_xlabel("Dia da semana")
    ax.set_ylabel("Vendas ÷ média da família")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(alpha=0.3)
    return _done(fig)


def _grouped_bars(
    relative: pd.DataFrame, labels: Mapping[object, str], *, title: str, ylabel: str
) -> Figure:
    fig, ax = plt.subplots(figsize=(9, 4))
    families = [str(f) for f in relative.index]
    x = np.arange(len(families))
    width = 0.8 / len(labels)
    for i, (key, label) in enumerate(labels.items()):
        values = relative[key].to_numpy() if key in relative else np.full(len(x), np.nan)
        ax.bar(x + (i - (len(labels) - 1) / 2) * width, values, width=width * 0.95, label=label)
    ax.axhline(1, color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, families, rotation=20, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return _done(fig)


def payday_effect(
    history: pd.DataFrame, *, title: str = "Efeito do dia de pagamento (dia 15 e último dia do mês)"
) -> Figure:
    """Sales on paydays and on the day after, relative to the other days, per family."""
    plain = _ordinary(history)
    day = plain["day"]
    kind = np.where(
        (day.dt.day == 15) | day.dt.is_month_end,
        "payday",
        np.where(day.dt.day.isin([16, 1]), "after", "other"),
    )
    relative = _index_vs(plain, pd.Series(kind, index=plain.index, name="kind"), "other")
    return _grouped_bars(
        relative,
        {"payday": "dia de pagamento", "after": "dia seguinte"},
        title=title,
        ylabel="Vendas ÷ dias comuns",
    )


def holiday_effect(
    history: pd.DataFrame, *, title: str = "Efeito dos feriados nacionais"
) -> Figure:
    """Sales on the eve of a national holiday and on the holiday, relative to other days."""
    from workshop.dataset import holiday_flags

    plain = _ordinary(history)
    is_holiday, is_eve = holiday_flags(pd.DatetimeIndex(plain["day"]))
    kind = np.where(is_holiday, "holiday", np.where(is_eve, "eve", "other"))
    relative = _index_vs(plain, pd.Series(kind, index=plain.index, name="kind"), "other")
    return _grouped_bars(
        relative,
        {"eve": "véspera de feriado", "holiday": "feriado"},
        title=title,
        ylabel="Vendas ÷ dias comuns",
    )


def promotion_effect(history: pd.DataFrame, *, title: str = "Efeito das promoções") -> Figure:
    """Sales with promotion relative to without, per family."""
    frame = history.copy()
    promo = frame["onpromotion"].astype(bool).rename("promo")
    relative = _index_vs(frame, promo, False)
    return _grouped_bars(
        relative, {True: "em promoção"}, title=title, ylabel="Vendas ÷ sem promoção"
    )


def seasonality(
    history: pd.DataFrame, *, title: str = "Tendência e sazonalidade: vendas semanais"
) -> Figure:
    """Weekly sales index over the history: each product's sales (days without promotion)
    divided by its overall mean, averaged per week — December peaks, January lull, slow growth."""
    plain = _ordinary(history)
    plain["index"] = plain["unit_sales"] / plain.groupby("item_nbr")["unit_sales"].transform("mean")
    weekly = plain.set_index("day")["index"].resample("W-SUN").mean().iloc[1:-1]
    fig, ax = plt.subplots(figsize=(10, 3.8))
    ax.plot(weekly.index, weekly.to_numpy(), color="#1565c0")
    for year in sorted(set(weekly.index.year)):
        ax.axvspan(
            pd.Timestamp(year, 12, 1), pd.Timestamp(year, 12, 31), color="#c62828", alpha=0.08
        )
    ax.axhline(1, color="grey", lw=0.8, ls="--")
    _date_axis(ax)
    ax.set_title(title)
    ax.set_xlabel("Semana (faixas vermelhas: dezembro)")
    ax.set_ylabel("Vendas ÷ média do produto")
    ax.grid(alpha=0.3)
    return _done(fig)


def holdout_forecast(holdout: pd.DataFrame, item_nbr: str, *, title: str | None = None) -> Figure:
    """One product over the validation weeks: actual sales, the model and the two baselines."""
    rows = holdout[holdout["item_nbr"].astype(str) == str(item_nbr)].copy()
    rows["day"] = pd.to_datetime(rows["date"])
    rows = rows.sort_values("day")
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(rows["day"], rows["unit_sales"], color="black", lw=1.5, label="venda real")
    ax.plot(rows["day"], rows["prediction"], color="#1565c0", lw=1.5, label="modelo")
    ax.plot(rows["day"], rows["baseline_product_mean"], color="#9e9e9e", ls="--", label="média")
    ax.plot(
        rows["day"],
        rows["baseline_seasonal_naive"],
        color="#f9a825",
        lw=1,
        alpha=0.8,
        label="ingênuo sazonal",
    )
    promo = rows[rows["onpromotion"].astype(bool)]
    ax.scatter(
        promo["day"], promo["unit_sales"], color="#c62828", zorder=3, s=18, label="dia em promoção"
    )
    _date_axis(ax)
    name = rows["product"].iloc[0] if "product" in rows and len(rows) else item_nbr
    ax.set_title(title or f"{name}: validação (últimas 8 semanas)")
    ax.set_xlabel("Data")
    ax.set_ylabel("Unidades vendidas")
    ax.legend(fontsize="small", ncol=3)
    ax.grid(alpha=0.3)
    return _done(fig)


def metrics_vs_baselines(card: Mapping, *, title: str = "NWRMSLE na validação") -> Figure:
    """NWRMSLE of the model and of the baselines, from a model card (lower is better)."""
    names = {"product_mean": "média do produto", "seasonal_naive": "ingênuo sazonal"}
    labels = ["modelo"] + [names.get(k, k) for k in card["baselines"]]
    values = [card["metrics"]["nwrmsle"]] + [b["nwrmsle"] for b in card["baselines"].values()]
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bars = ax.barh(labels, values, color=["#1565c0"] + ["#9e9e9e"] * (len(values) - 1))
    for bar, value in zip(bars, values, strict=True):
        ax.text(
            bar.get_width() * 1.01, bar.get_y() + bar.get_height() / 2, _pt(value, 3), va="center"
        )
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.2)
    ax.set_title(title + " (menor é melhor)")
    ax.set_xlabel("NWRMSLE")
    return _done(fig)
