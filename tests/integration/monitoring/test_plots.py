"""workshop.plots' monitoring figures, drawn from real answers of workshop.monitoring."""

from __future__ import annotations

from tests.integration.monitoring.known_events import (
    BIN_EDGES,
    END,
    SHIFTED_END,
    SHIFTED_START,
    START,
    pandas_profile,
)
from workshop import monitoring


def test_monitoring_figures_from_real_answers(es, known, shifted) -> None:
    from workshop import plots

    reference = pandas_profile(known, BIN_EDGES)
    normal = monitoring.drift_report(START, END, es=es, reference=reference, ks=False)
    moved = monitoring.drift_report(SHIFTED_START, SHIFTED_END, es=es, reference=reference)
    over_time = monitoring.counts_over_time(
        START, END, fixed_interval="6h", split_by="channel", es=es
    )
    figures = {
        "Eventos ao longo do tempo": plots.events_over_time(over_time),
        "Eventos por produto": plots.counts_bar(
            monitoring.counts_by_product(START, END, es=es), "product"
        ),
        "Latência do modelo": plots.latency_histogram(
            monitoring.histogram("latency_ms", 0.5, START, END, es=es),
            monitoring.latency(START, END, es=es),
        ),
        "Predições por produto": plots.predictions_per_product(
            monitoring.prediction_percentiles(START, END, es=es)
        ),
        "Drift em relação ao treino (PSI)": plots.drift_bars({"comum": normal, "com drift": moved}),
        "família: treino × janela (PSI": plots.drift_shares(moved, "family"),
    }
    for title, fig in figures.items():
        ax = fig.axes[0]
        assert ax.get_title().startswith(title)
        assert ax.get_xlabel() and ax.get_ylabel() is not None
    legend = figures["Eventos ao longo do tempo"].axes[0].get_legend()
    assert legend.get_title().get_text() == "canal"
    assert {t.get_text() for t in legend.get_texts()} == set(known["channel"])
    bars = figures["Drift em relação ao treino (PSI)"].axes[0].patches
    assert len([b for b in bars if b.get_height() < 1]) == 2 * len(monitoring.DRIFT_FEATURES)
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # closed in pyplot: shown once in a notebook, no leak
