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
