"""Date axes speak pt-BR whatever the machine's locale."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from workshop import plots


def test_month_abbreviations_are_translated() -> None:
    assert plots.pt_br_months("2026-Nov-27") == "2026-nov-27"
    assert plots.pt_br_months("Feb May Aug Sep Oct Dec") == "fev mai ago set out dez"
    assert plots.pt_br_months("Octopus") == "Octopus"  # whole words only


def test_date_axis_ticks_use_portuguese_months() -> None:
    fig, ax = plt.subplots()
    days = pd.date_range("2025-09-01", "2026-02-28", freq="D")
    ax.plot(days, range(len(days)))
    plots._date_axis(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    assert "out" in labels and "dez" in labels
    assert not {"Oct", "Dec", "Sep", "Feb"} & set(labels)


def _labels(axis: object) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]  # type: ignore[attr-defined]


def test_every_axis_reads_pt_br_numbers_and_dates_with_the_month() -> None:
    # Issue 13: "0.1" beside "0,334", and date ticks "08 15 22" with no month.
    fig, ax = plt.subplots()
    stamps = pd.date_range("2026-12-01 08:00", periods=48, freq="15min", tz="UTC")
    ax.plot(stamps, [i / 100 for i in range(48)])
    plots._date_axis(ax)
    plots._done(fig)
    fig.canvas.draw()
    ys, xs = _labels(ax.yaxis), _labels(ax.xaxis)
    assert any("," in y for y in ys) and not any("." in y for y in ys), ys
    assert all("/12" in x for x in xs), xs  # day/month on every tick (span under two days)


def test_latency_histogram_is_not_squeezed_by_a_few_slow_requests() -> None:
    from workshop.monitoring import LatencySummary

    starts = [i * 0.1 for i in range(161)]  # bins of 0.1 ms up to 16 ms
    counts = [100 if s < 2 else 0 for s in starts]
    counts[-1] = 2  # two slow first requests at 16 ms
    hist = pd.DataFrame({"início": starts, "eventos": counts})
    summary = LatencySummary(
        window=None, count=2002, p50=1.0, p95=1.9, p99=1.95, mean=1.0, max=16.0
    )
    fig = plots.latency_histogram(hist, summary)
    ax = fig.axes[0]
    assert ax.get_xlim()[1] < 4  # the bars fill the plot
    assert any("fora da escala" in t.get_text() for t in ax.texts)
