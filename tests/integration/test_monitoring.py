"""workshop.monitoring on the embedded engine: every answer equals pandas on the same known events.

A module fixture bulk-inserts a seeded set of events (three UTC days in 2033, so nothing else in
the session's ``model-*`` indices falls in the windows used here) and keeps the same rows as a
DataFrame. Counts must match exactly; percentiles within the engine's t-digest tolerance, checked
as a percentile *rank* (the share of values below the engine's answer), which is what the
estimate promises whatever the spread of the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from elasticsearch import helpers

from workshop import monitoring
from workshop.errors import InvalidInputError

START = datetime(2033, 3, 1, tzinfo=UTC)
END = datetime(2033, 3, 4, tzinfo=UTC)
SHIFTED_START = datetime(2033, 4, 1, tzinfo=UTC)
SHIFTED_END = datetime(2033, 4, 2, tzinfo=UTC)
PRODUCTS = {  # item_nbr: (product, family)
    "100001": ("Leite integral 1L", "LATICÍNIOS"),
    "100002": ("Queijo muçarela 500g", "LATICÍNIOS"),
    "100003": ("Sabão em pó 1kg", "LIMPEZA"),
    "100004": ("Detergente 500ml", "LIMPEZA"),
    "100005": ("Pão francês kg", "PADARIA"),
    "100006": ("Banana prata kg", "HORTIFRÚTI"),
}
BIN_EDGES = [0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0]
# Percentiles are t-digest estimates (compression 100 by default): near the median a centroid
# holds about n/100 values, i.e. one percentile point of rank; allow two.
RANK_TOLERANCE = 0.02


def make_events(
    n: int,
    start: datetime,
    end: datetime,
    *,
    seed: int,
    weights: list[float] | None = None,
    promo_rate: float = 0.2,
    shift: float = 0.0,
    prefix: str = "mon",
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    items = list(PRODUCTS)
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    span_ms = int((end - start).total_seconds() * 1000)
    offsets = np.sort(rng.integers(0, span_ms, size=n))
    chosen = rng.choice(items, size=n, p=p)
    frame = pd.DataFrame(
        {
            "@timestamp": [start + timedelta(milliseconds=int(o)) for o in offsets],
            "prediction_id": [f"{prefix}-{seed}-{i:06d}" for i in range(n)],
            "model_version": rng.choice(["v1", "v2"], size=n, p=[0.7, 0.3]),
            "channel": rng.choice(["http", "simulator", "widget", "batch"], size=n),
            "date": [
                (datetime(2026, 1, 1) + timedelta(days=int(d))).date()
                for d in rng.integers(0, 120, size=n)
            ],
            "item_nbr": chosen,
            "product": [PRODUCTS[i][0] for i in chosen],
            "family": [PRODUCTS[i][1] for i in chosen],
            "onpromotion": rng.random(n) < promo_rate,
            "prediction": np.round(rng.lognormal(2.2 + shift, 0.5, size=n), 4),
            "latency_ms": np.round(rng.gamma(2.0, 0.8, size=n), 4),
        }
    )
    return frame


def to_actions(frame: pd.DataFrame) -> list[dict]:
    actions = []
    for row in frame.to_dict("records"):
        ts: datetime = row["@timestamp"]
        source = {
            **row,
            "@timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "date": row["date"].isoformat(),
            "onpromotion": bool(row["onpromotion"]),
            "prediction": float(row["prediction"]),
            "latency_ms": float(row["latency_ms"]),
        }
        actions.append(
            {
                "_index": f"model-{ts:%Y.%m.%d}",
                "_id": row["prediction_id"],
                "_source": source,
            }
        )
    return actions


def pandas_profile(frame: pd.DataFrame, edges: list[float]) -> dict:
    """The registry card's profile shape, computed with pandas from known rows."""
    weekday = pd.to_datetime(frame["date"]).dt.day_of_week.value_counts(normalize=True)
    clipped = frame["prediction"].astype("float32").clip(edges[0], np.nextafter(edges[-1], 0))
    bins = pd.cut(clipped, edges, right=False).value_counts(normalize=True, sort=False)
    return {
        "product_share": frame["item_nbr"].value_counts(normalize=True).to_dict(),
        "family_share": frame["family"].value_counts(normalize=True).to_dict(),
        "weekday_share": {str(k): float(v) for k, v in weekday.items()},
        "promotion_rate": float(frame["onpromotion"].mean()),
        "prediction_bins": edges,
        "prediction_share": [float(v) for v in bins],
        "prediction_sample": frame["prediction"].tolist(),
    }


@pytest.fixture(scope="module")
def known(es) -> Iterator[pd.DataFrame]:
    es.indices.delete(index="model-2033.*", ignore_unavailable=True)
    frame = make_events(3_000, START, END, seed=6, weights=[5, 3, 2, 2, 1, 1])
    helpers.bulk(es, to_actions(frame), refresh=True)
    yield frame
    es.indices.delete(index="model-2033.*", ignore_unavailable=True)


@pytest.fixture(scope="module")
def shifted(es, known) -> pd.DataFrame:
    """Same products, but one family over-asked, many promotions, higher predictions."""
    frame = make_events(
        2_000,
        SHIFTED_START,
        SHIFTED_END,
        seed=7,
        weights=[1, 1, 12, 12, 1, 1],
        promo_rate=0.7,
        shift=0.8,
    )
    helpers.bulk(es, to_actions(frame), refresh=True)
    return frame


def assert_percentile(values: pd.Series, percent: float, estimate: float) -> None:
    """The engine's estimate must sit at the requested rank, give or take RANK_TOLERANCE."""
    x = values.astype("float32").astype(float).to_numpy()
    below, at_or_below = np.mean(x < estimate), np.mean(x <= estimate)
    q = percent / 100
    assert below - RANK_TOLERANCE <= q <= at_or_below + RANK_TOLERANCE, (
        f"p{percent}: estimate {estimate} has rank [{below:.4f}, {at_or_below:.4f}]"
    )


# --------------------------------------------------------------------------- events


def test_events_returns_every_event_of_the_window_across_pages(es, known) -> None:
    frame = monitoring.events(START, END, es=es, page_size=700)
    assert frame.attrs["pages"] == math.ceil(len(known) / 700)
    assert frame.attrs["pagination"] in {"pit", "search_after"}
    assert len(frame) == len(known)
    assert frame["prediction_id"].is_unique
    assert frame["@timestamp"].is_monotonic_increasing
    merged = known.merge(frame, on="prediction_id", suffixes=("", "_es"))
    assert len(merged) == len(known)
    assert (merged["item_nbr"] == merged["item_nbr_es"]).all()
    assert (merged["onpromotion"] == merged["onpromotion_es"]).all()
    assert np.allclose(merged["prediction"], merged["prediction_es"], rtol=1e-6)
    assert (pd.to_datetime(merged["@timestamp"], utc=True) == merged["@timestamp_es"]).all()


def test_events_window_bounds_are_half_open(es, known) -> None:
    middle = known["@timestamp"].iloc[1500]
    left = monitoring.events(START, middle, es=es, columns=["prediction_id"])
    right = monitoring.events(middle, END, es=es, columns=["prediction_id"])
    assert len(left) == (known["@timestamp"] < middle).sum()
    assert len(left) + len(right) == len(known)
    assert set(left["prediction_id"]).isdisjoint(right["prediction_id"])


def test_events_filters_and_count(es, known) -> None:
    frame = monitoring.events(START, END, es=es, filters={"channel": "http"})
    expected = (known["channel"] == "http").sum()
    assert len(frame) == expected
    assert monitoring.count_events(START, END, es=es, filters={"channel": "http"}) == expected
    both = monitoring.count_events(START, END, es=es, filters={"channel": ["http", "widget"]})
    assert both == known["channel"].isin(["http", "widget"]).sum()


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize("field", ["product", "channel", "model_version", "family"])
def test_counts_equal_pandas_value_counts(es, known, field) -> None:
    frame = monitoring.counts(field, START, END, es=es)
    expected = known[field].value_counts()
    assert dict(zip(frame[field], frame[monitoring.COUNT], strict=True)) == expected.to_dict()
    assert frame[monitoring.COUNT].is_monotonic_decreasing
    assert frame[monitoring.SHARE].sum() == pytest.approx(1.0)


def test_named_count_helpers(es, known) -> None:
    for helper, field in [
        (monitoring.counts_by_product, "product"),
        (monitoring.counts_by_channel, "channel"),
        (monitoring.counts_by_model_version, "model_version"),
    ]:
        frame = helper(START, END, es=es)
        assert frame.set_index(field)[monitoring.COUNT].to_dict() == (
            known[field].value_counts().to_dict()
        )


def test_counts_with_size_keeps_the_rest_in_outros(es, known) -> None:
    frame = monitoring.counts("product", START, END, es=es, size=2)
    assert frame[monitoring.COUNT].sum() == len(known)
    assert frame["product"].iloc[-1] == "(outros)"
    assert frame[monitoring.COUNT].iloc[:2].tolist() == known["product"].value_counts()[:2].tolist()


def test_counts_over_time_fixed_interval(es, known) -> None:
    frame = monitoring.counts_over_time(START, END, fixed_interval="1h", es=es)
    expected = known.groupby(known["@timestamp"].dt.floor("1h")).size()
    assert len(frame) == 72  # three days of hours, empty ones included
    observed = frame[monitoring.COUNT]
    assert observed[observed > 0].to_dict() == expected.to_dict()
    assert observed.sum() == len(known)


def test_counts_over_time_calendar_interval_split_by_channel(es, known) -> None:
    frame = monitoring.counts_over_time(
        START, END, calendar_interval="day", split_by="channel", es=es
    )
    expected = pd.crosstab(known["@timestamp"].dt.floor("D"), known["channel"])
    assert list(frame.index) == list(expected.index)
    for channel in expected.columns:
        assert frame[channel].tolist() == expected[channel].tolist()


def test_counts_over_time_needs_exactly_one_valid_interval(es) -> None:
    with pytest.raises(InvalidInputError, match="exatamente um intervalo"):
        monitoring.counts_over_time(START, END, es=es)
    with pytest.raises(InvalidInputError, match="fixed_interval inválido"):
        monitoring.counts_over_time(START, END, fixed_interval="1 hora", es=es)
    with pytest.raises(InvalidInputError, match="pequeno demais para esta janela"):
        monitoring.counts_over_time(START, END, fixed_interval="1s", es=es)
    with pytest.raises(InvalidInputError, match="pequeno demais"):
        monitoring.counts_over_time(START, END, fixed_interval="0m", es=es)
    with pytest.raises(InvalidInputError, match="calendar_interval inválido"):
        monitoring.counts_over_time(START, END, calendar_interval="7d", es=es)


# --------------------------------------------------------------------------- distributions


def test_prediction_percentiles_per_product(es, known) -> None:
    frame = monitoring.prediction_percentiles(START, END, es=es)
    groups = known.groupby("product")["prediction"]
    assert frame[monitoring.COUNT].to_dict() == groups.size().to_dict()
    means = groups.mean()
    for product, row in frame.iterrows():
        assert row["média"] == pytest.approx(means[product], rel=1e-5)
        values = known.loc[known["product"] == product, "prediction"]
        for p in monitoring.DEFAULT_PERCENTS:
            assert_percentile(values, p, row[f"p{p:g}"])


def test_percentiles_overall_and_filtered(es, known) -> None:
    frame = monitoring.percentiles(
        "prediction", START, END, percents=[10, 90], es=es, filters={"onpromotion": True}
    )
    values = known.loc[known["onpromotion"], "prediction"]
    assert frame.index.tolist() == ["todos"]
    assert frame[monitoring.COUNT].iloc[0] == len(values)
    assert_percentile(values, 10, frame["p10"].iloc[0])
    assert_percentile(values, 90, frame["p90"].iloc[0])


def test_latency_percentiles(es, known) -> None:
    summary = monitoring.latency(START, END, es=es)
    assert summary.count == len(known)
    for p, value in [(50, summary.p50), (95, summary.p95), (99, summary.p99)]:
        assert_percentile(known["latency_ms"], p, value)
    assert summary.mean == pytest.approx(known["latency_ms"].mean(), rel=1e-5)
    assert summary.max == pytest.approx(known["latency_ms"].max(), rel=1e-6)
    assert summary.to_dict()["p95_ms"] == summary.p95
    assert summary.to_frame()[monitoring.COUNT].iloc[0] == len(known)


def test_latency_histogram(es, known) -> None:
    frame = monitoring.histogram("latency_ms", 0.5, START, END, es=es)
    bucket = (known["latency_ms"].astype("float32") // 0.5) * 0.5
    expected = bucket.value_counts()
    observed = frame.set_index("início")[monitoring.COUNT]
    assert observed.sum() == len(known)
    assert observed[observed > 0].to_dict() == {float(k): v for k, v in expected.items()}


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


def test_bad_window_is_a_pt_br_error(es) -> None:
    with pytest.raises(monitoring.InvalidWindowError, match="Janela de tempo inválida"):
        monitoring.counts_by_product("ontem", es=es)
    with pytest.raises(monitoring.InvalidWindowError, match="precisa ser anterior ao fim"):
        monitoring.latency(END, START, es=es)


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
    monkeypatch.setattr(monitoring, "training_profile", lambda version=None: ("v1", profile))
    report = monitoring.drift_report(START, END, es=es, reference="v1")
    assert report.version == "v1"
    assert report.reference == "treino do modelo v1"
    assert report.features["prediction"].n == len(v1)
    assert report.features["prediction"].psi == pytest.approx(0.0, abs=1e-9)
    assert report.ks is not None and report.ks.n_window == len(v1)
    assert report.features["product"].n == len(known)  # inputs: every event of the window


# --------------------------------------------------------------------------- figures


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
