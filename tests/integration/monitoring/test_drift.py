"""workshop.monitoring.drift on the embedded engine: the window profile equals pandas, PSI is
zero for the same distribution and large for a shifted one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from tests.integration.monitoring.known_events import (
    BIN_EDGES,
    END,
    SHIFTED_END,
    SHIFTED_START,
    START,
    pandas_profile,
)
from workshop import monitoring
from workshop.monitoring import drift

# --------------------------------------------------------------------------- drift


def test_window_profile_equals_pandas(es, known) -> None:
    profile = monitoring.window_profile(START, END, bins=BIN_EDGES, es=es)
    expected = pandas_profile(known, BIN_EDGES)
    assert profile["n"] == len(known)
    for key in ("product_share", "family_share", "weekday_share"):
        assert profile[key].keys() == expected[key].keys()
        for category, share in expected[key].items():
            assert profile[key][category] == pytest.approx(share, abs=1e-12)
    assert profile["promotion_rate"] == pytest.approx(expected["promotion_rate"], abs=1e-12)
    assert profile["prediction_share"] == pytest.approx(expected["prediction_share"], abs=1e-12)


def test_identical_distribution_has_psi_zero(es, known) -> None:
    report = monitoring.drift_report(START, END, es=es, reference=pandas_profile(known, BIN_EDGES))
    assert report.n_events == len(known)
    assert set(report.features) == set(monitoring.DRIFT_FEATURES)
    for feature in report.features.values():
        assert feature.psi == pytest.approx(0.0, abs=1e-9), feature.feature
        assert feature.reading == "estável"
    assert report.worst == "estável"
    assert report.ks is not None and report.ks.statistic == pytest.approx(0.0, abs=1e-9)
    table = report.table()
    assert list(table.columns) == ["psi", "leitura", monitoring.COUNT]
    assert report.shares("product").index.name == "produto"


def test_shifted_distribution_has_large_psi(es, known, shifted) -> None:
    report = monitoring.drift_report(
        SHIFTED_START, SHIFTED_END, es=es, reference=pandas_profile(known, BIN_EDGES)
    )
    table = report.table()
    for key in ("product", "family", "promotion", "prediction"):
        assert report.features[key].psi > monitoring.PSI_ACT, table
        assert report.features[key].reading == "agir"
    # weekday of the asked date is drawn the same way in both sets: must stay stable
    assert report.features["weekday"].reading == "estável"
    # and PSI equals the formula applied by hand to the pandas shares
    mine = pandas_profile(shifted, BIN_EDGES)
    ref = pandas_profile(known, BIN_EDGES)
    manual = monitoring.psi(ref["family_share"], mine["family_share"], actual_n=len(shifted))
    assert report.features["family"].psi == pytest.approx(manual, rel=1e-9)
    assert report.ks is not None and report.ks.pvalue < 0.001
    assert report.worst == "agir"
    assert report.to_dict()["psi"]["promotion"]["reading"] == "agir"


def test_drift_against_a_model_version_uses_only_its_predictions(es, known, monkeypatch) -> None:
    """With a version, the prediction bins/KS count only the events that version answered."""
    v1 = known[known["model_version"] == "v1"]
    profile = pandas_profile(v1, BIN_EDGES)
    monkeypatch.setattr(drift, "training_profile", lambda version=None: ("v1", profile))
    report = monitoring.drift_report(START, END, es=es, reference="v1")
    assert report.version == "v1"
    assert report.reference == "treino do modelo v1"
    assert report.features["prediction"].n == len(v1)
    assert report.features["prediction"].psi == pytest.approx(0.0, abs=1e-9)
    assert report.ks is not None and report.ks.n_window == len(v1)
    assert report.features["product"].n == len(known)  # inputs: every event of the window


# --------------------------------------------------------------------------- empty window


def test_empty_window_gives_empty_answers(es, known) -> None:
    start, end = datetime(2033, 6, 1, tzinfo=UTC), datetime(2033, 6, 2, tzinfo=UTC)
    assert monitoring.events(start, end, es=es).empty
    assert monitoring.counts_by_product(start, end, es=es).empty
    summary = monitoring.latency(start, end, es=es)
    assert summary.count == 0 and math.isnan(summary.p50)
    report = monitoring.drift_report(start, end, es=es, reference=pandas_profile(known, BIN_EDGES))
    assert report.n_events == 0
    assert set(report.table()["leitura"]) == {"sem dados"}
    assert report.ks is not None and report.ks.reading == "sem dados"
