"""feedback.retraining: the promotion rule, the evaluation window, the comparison."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from workshop.feedback import retraining
from workshop.feedback.scenario import FeedbackError


@pytest.mark.parametrize(
    ("overall_old", "overall_new", "family_old", "family_new", "expected"),
    [
        (0.30, 0.28, 0.50, 0.30, True),  # better everywhere
        (0.30, 0.30, 0.50, 0.49, True),  # overall equal (no worse), family better
        (0.30, 0.31, 0.50, 0.30, False),  # family better but overall worse
        (0.30, 0.25, 0.50, 0.50, False),  # family not better
        (0.30, 0.25, 0.50, 0.55, False),  # family worse
        (0.30, float("nan"), 0.50, 0.30, False),  # nothing to compare
    ],
)
def test_promotion_rule(overall_old, overall_new, family_old, family_new, expected) -> None:
    assert (
        retraining.is_better(
            overall_old=overall_old,
            overall_new=overall_new,
            family_old=family_old,
            family_new=family_new,
        )
        is expected
    )


def test_comparison_window_must_follow_both_trainings() -> None:
    trained = {"v1": date(2025, 12, 31), "v2": date(2026, 2, 11)}
    retraining.check_window(date(2026, 2, 12), trained)
    for start in (date(2026, 2, 11), date(2026, 1, 15), date(2025, 12, 1)):
        with pytest.raises(FeedbackError, match="treinou com dados até"):
            retraining.check_window(start, trained)


def test_comparison_from_table() -> None:
    table = pd.DataFrame(
        {
            "n": [28, 28, 56],
            "nwrmsle_old": [0.5, 0.3, 0.41],
            "nwrmsle_new": [0.3, 0.3, 0.30],
            "mae_old": [10.0, 5.0, 7.5],
            "mae_new": [6.0, 5.0, 5.5],
        },
        index=pd.Index(["LATICÍNIOS", "LIMPEZA", retraining.OVERALL], name="family"),
    )
    comparison = retraining.Comparison(
        "v1",
        "v2",
        "LATICÍNIOS",
        date(2026, 2, 12),
        date(2026, 3, 11),
        {"v1": "2025-12-31", "v2": "2026-02-11"},
        table,
    )
    data = comparison.to_dict()
    assert comparison.better
    for key in (
        "old_version",
        "new_version",
        "family_nwrmsle_old",
        "family_nwrmsle_new",
        "overall_nwrmsle_old",
        "overall_nwrmsle_new",
        "promoted",
    ):
        assert key in data
    assert data["family_ratio"] == pytest.approx(0.6)
    assert "melhor" in data["reason"]


def _comparison() -> retraining.Comparison:
    table = pd.DataFrame(
        {
            "n": [112, 588],
            "nwrmsle_old": [0.403, 0.313],
            "nwrmsle_new": [0.269, 0.276],
            "mae_old": [23.5, 15.8],
            "mae_new": [12.3, 13.4],
        },
        index=["LATICÍNIOS", retraining.OVERALL],
    )
    return retraining.Comparison(
        old_version="v1",
        new_version="v2",
        family="LATICÍNIOS",
        window_start=date(2026, 2, 9),
        window_end=date(2026, 3, 8),
        trained_until={"v1": "2025-12-31", "v2": "2026-02-08"},
        table=table,
    )


def test_the_verdict_and_the_plot_read_pt_br_numbers() -> None:
    comparison = _comparison()
    assert comparison.reason == (
        "a nova versão é melhor (NWRMSLE LATICÍNIOS: 0,403 → 0,269; geral: 0,313 → 0,276)."
    )
    fig = retraining.plot_comparison(comparison)
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].yaxis.get_ticklabels() if t.get_text()]
    assert ticks and any("," in t for t in ticks) and not any("." in t for t in ticks), ticks
    assert fig.axes[0].get_title() == "Janela de avaliação 09/02 a 08/03/2026"
