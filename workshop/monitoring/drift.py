"""Drift: a window of events against a reference profile (a model's training data).

PSI per feature (product, family, weekday of the asked date, promotion, prediction bins), with
the usual reading "estável" / "atenção" / "agir", and a Kolmogorov–Smirnov test of the
predictions. The training profile is read from the model's registry card; the window's profile
is computed in one aggregation request (:func:`window_profile`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch
from scipy import stats

from workshop import formatting
from workshop.config import Settings
from workshop.errors import InvalidInputError, ModelNotFoundError, WorkshopError
from workshop.monitoring.aggregations import COUNT
from workshop.monitoring.queries import Filters, _aggregate, _context, _query_clauses, events
from workshop.monitoring.windows import TimeLike, TimeWindow

#: Floor for an empty bin's share in PSI (see :func:`psi`).
PSI_EPSILON = 1e-4
#: The usual PSI reading: below 0.1 stable, 0.1–0.25 watch, above 0.25 act.
PSI_WATCH = 0.1
PSI_ACT = 0.25
KS_ALPHA = 0.05
WEEKDAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")


def psi_reading(value: float | None) -> str:
    """pt-BR reading of a PSI: "estável" (< 0.1), "atenção" (0.1–0.25), "agir" (> 0.25)."""
    if value is None or math.isnan(value):
        return "sem dados"
    if value < PSI_WATCH:
        return "estável"
    if value <= PSI_ACT:
        return "atenção"
    return "agir"


def _as_series(values: Mapping[Any, float] | Sequence[float] | pd.Series) -> pd.Series:
    if isinstance(values, pd.Series):
        series = values
    elif isinstance(values, Mapping):
        series = pd.Series(dict(values), dtype=float)
    else:
        series = pd.Series(list(values), dtype=float)
    return series.astype(float)


def psi(
    expected: Mapping[Any, float] | Sequence[float] | pd.Series,
    actual: Mapping[Any, float] | Sequence[float] | pd.Series,
    *,
    eps: float = PSI_EPSILON,
    actual_n: int | None = None,
) -> float:
    """Population Stability Index of ``actual`` against ``expected``.

    ``PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)`` over the union of the categories (bins), where ``eᵢ`` and
    ``aᵢ`` are shares. Both inputs may be shares or counts (each is normalised to sum 1); mappings
    are aligned by key, sequences by position.

    Empty bins: ``ln(a/0)`` is infinite, so each share is floored before the formula and the
    shares renormalised. The expected (training) side is floored at ``eps`` (0.01 %), so a
    category never seen in training but present now still weighs heavily, as it should. On the
    window side, an empty bin out of ``actual_n`` events only says its share is below about
    ``1/actual_n``, so it is floored at ``max(eps, 0.5 / actual_n)`` — half an event, the usual
    continuity correction. Without this, one product nobody asked for in a small window would add
    ``eᵢ · ln(eᵢ/eps)`` (≈ 0.5 for a product with 8 % of the training rows) and read "agir" by
    itself. Returns NaN when either side is empty.
    """
    exp, act = _as_series(expected), _as_series(actual)
    keys = exp.index.union(act.index, sort=False)
    exp, act = exp.reindex(keys, fill_value=0.0), act.reindex(keys, fill_value=0.0)
    if (exp < 0).any() or (act < 0).any():
        raise InvalidInputError("PSI: as proporções não podem ser negativas.")
    if exp.sum() <= 0 or act.sum() <= 0:
        return math.nan
    floor_actual = max(eps, 0.5 / actual_n) if actual_n else eps
    e = np.maximum(exp.to_numpy() / exp.sum(), eps)
    a = np.maximum(act.to_numpy() / act.sum(), floor_actual)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class KSResult:
    """Two-sample Kolmogorov–Smirnov test (scipy ``ks_2samp``)."""

    statistic: float
    pvalue: float
    n_window: int
    n_reference: int

    @property
    def reading(self) -> str:
        if math.isnan(self.pvalue):
            return "sem dados"
        if self.pvalue < KS_ALPHA:
            return f"distribuições diferentes (p < {KS_ALPHA:g})".replace(".", ",")
        return "sem evidência de diferença"

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": self.statistic,
            "pvalue": self.pvalue,
            "n_window": self.n_window,
            "n_reference": self.n_reference,
            "reading": self.reading,
        }


def ks_test(window_values: Sequence[float], reference_values: Sequence[float]) -> KSResult:
    """KS statistic (largest gap between the two empirical CDFs) and its p-value."""
    left = np.asarray(window_values, dtype=float)
    right = np.asarray(reference_values, dtype=float)
    left, right = left[~np.isnan(left)], right[~np.isnan(right)]
    if left.size == 0 or right.size == 0:
        return KSResult(math.nan, math.nan, int(left.size), int(right.size))
    result = stats.ks_2samp(left, right)
    return KSResult(float(result.statistic), float(result.pvalue), int(left.size), int(right.size))


def training_profile(
    version: str | None = None, settings: Settings | None = None
) -> tuple[str, dict[str, Any]]:
    """``(version, profile)`` from the model registry card (production model by default)."""
    from workshop.modeling import Registry

    registry = Registry(settings)
    version = version or registry.production_version()
    if version is None:
        raise ModelNotFoundError(
            "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"
        )
    profile = registry.card(version).get("profile")
    if not profile:
        raise ModelNotFoundError(
            f"O cartão do modelo {version} não tem o perfil dos dados de treino (profile); "
            "treine de novo com `workshop train`."
        )
    return version, profile


def _bin_ranges(edges: Sequence[float]) -> list[dict[str, float]]:
    """``range`` aggregation buckets for the profile's bins: ``[eᵢ, eᵢ₊₁)``, with the first bin
    open to the left and the last open to the right, so that a prediction outside the training
    range still lands in an end bin (as it would when the profile was computed with clipping)."""
    edges = [float(e) for e in edges]
    if len(edges) < 3:
        raise InvalidInputError("O perfil precisa de pelo menos 2 faixas de predição.")
    inner = edges[1:-1]
    ranges: list[dict[str, float]] = [{"to": inner[0]}]
    ranges += [{"from": lo, "to": hi} for lo, hi in itertools.pairwise(inner)]
    ranges.append({"from": inner[-1]})
    return ranges


def window_profile(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    bins: Sequence[float] | None = None,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    prediction_filters: Filters | None = None,
) -> dict[str, Any]:
    """The same profile as the registry card's, computed from a window in ONE aggregation request.

    Keys ``n``, ``product_share`` (per ``item_nbr``), ``family_share``, ``weekday_share`` (of the
    asked ``date``, Monday = "0": a ``date_histogram`` per day on ``date``, mapped to weekdays
    here), ``promotion_rate`` (``filter`` on ``onpromotion``) and, with ``bins``,
    ``prediction_bins``, ``prediction_share`` (``range`` aggregation on those edges) and
    ``prediction_n``. Shares sum to 1; with no events they are empty and the rates NaN.
    ``prediction_filters`` narrows only the prediction bins (e.g. to one model version's answers).
    """
    aggs: dict[str, Any] = {
        "product": {"terms": {"field": "item_nbr", "size": 1000}},
        "family": {"terms": {"field": "family", "size": 200}},
        "days": {
            "date_histogram": {"field": "date", "calendar_interval": "day", "min_doc_count": 1}
        },
        "promo": {"filter": {"term": {"onpromotion": True}}},
    }
    if bins is not None:
        clauses = _query_clauses(prediction_filters)
        pred_filter = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
        aggs["prediction"] = {
            "filter": pred_filter,
            "aggs": {"bins": {"range": {"field": "prediction", "ranges": _bin_ranges(bins)}}},
        }
    _, resp = _aggregate(start, end, es, filters, aggs)
    result = resp["aggregations"]
    n = int(resp["hits"]["total"]["value"])

    def shares(buckets: list[dict[str, Any]]) -> dict[str, float]:
        total = sum(b["doc_count"] for b in buckets)
        return {str(b["key"]): b["doc_count"] / total for b in buckets} if total else {}

    weekdays = [0] * 7
    for bucket in result["days"]["buckets"]:
        day = datetime.fromtimestamp(bucket["key"] / 1000, tz=UTC)
        weekdays[day.weekday()] += bucket["doc_count"]
    dated = sum(weekdays)
    profile: dict[str, Any] = {
        "n": n,
        "product_share": shares(result["product"]["buckets"]),
        "family_share": shares(result["family"]["buckets"]),
        "weekday_share": {str(d): c / dated for d, c in enumerate(weekdays)} if dated else {},
        "promotion_rate": result["promo"]["doc_count"] / n if n else math.nan,
    }
    if bins is not None:
        counts_ = [b["doc_count"] for b in result["prediction"]["bins"]["buckets"]]
        m = sum(counts_)
        profile["prediction_bins"] = [float(e) for e in bins]
        profile["prediction_share"] = [c / m for c in counts_] if m else []
        profile["prediction_n"] = m
    return profile


#: The features compared by :func:`drift_report`: key → pt-BR label.
DRIFT_FEATURES = {
    "product": "produto",
    "family": "família",
    "weekday": "dia da semana (data pedida)",
    "promotion": "promoção",
    "prediction": "predição (faixas)",
}


@dataclass(frozen=True)
class FeatureDrift:
    """PSI of one feature: shares in the reference (training) and in the window."""

    feature: str
    label: str
    psi: float
    n: int
    expected: pd.Series
    actual: pd.Series

    @property
    def reading(self) -> str:
        return psi_reading(self.psi)


@dataclass(frozen=True)
class DriftReport:
    """Drift of a window of events against a reference profile (a model's training data)."""

    window: TimeWindow
    reference: str
    version: str | None
    n_events: int
    features: dict[str, FeatureDrift]
    ks: KSResult | None

    def table(self) -> pd.DataFrame:
        """One row per feature: PSI, pt-BR reading and how many events it rests on."""
        rows = [
            {"variável": f.label, "psi": round(f.psi, 3), "leitura": f.reading, COUNT: f.n}
            for f in self.features.values()
        ]
        return pd.DataFrame(rows).set_index("variável")

    @property
    def worst(self) -> str:
        """The most severe reading across features."""
        order = ["agir", "atenção", "estável"]
        readings = {f.reading for f in self.features.values()}
        return next((r for r in order if r in readings), "sem dados")

    def shares(self, feature: str) -> pd.DataFrame:
        """Reference vs window shares of one feature, with pt-BR category labels."""
        if feature not in self.features:
            raise InvalidInputError(
                f"Variável desconhecida: {feature!r}. Use uma de {', '.join(self.features)}."
            )
        item = self.features[feature]
        frame = pd.DataFrame({"treino": item.expected, "janela": item.actual}).fillna(0.0)
        frame.index = [_category_label(feature, key) for key in frame.index]
        frame.index.name = item.label
        return frame

    def to_dict(self) -> dict[str, Any]:
        def clean(value: float) -> float | None:
            return None if math.isnan(value) else round(value, 6)

        return {
            "window": self.window.to_dict(),
            "reference": self.reference,
            "version": self.version,
            "n_events": self.n_events,
            "worst": self.worst,
            "psi": {
                key: {"psi": clean(f.psi), "reading": f.reading, "label": f.label, "n": f.n}
                for key, f in self.features.items()
            },
            "ks": None if self.ks is None else self.ks.to_dict(),
        }


def _category_label(feature: str, key: Any) -> str:
    if feature == "weekday":
        return WEEKDAYS_PT[int(key)]
    if feature == "promotion":
        return "em promoção" if key == "true" else "sem promoção"
    if feature == "product":
        try:
            from workshop.dataset import product_by_item

            return product_by_item(str(key)).product
        except (ImportError, WorkshopError):
            return str(key)
    return str(key)


def _bin_labels(edges: Sequence[float]) -> list[str]:
    inner = [float(e) for e in edges[1:-1]]
    n = formatting.number
    labels = [f"< {n(inner[0], 1)}"]
    labels += [f"{n(lo, 1)}–{n(hi, 1)}" for lo, hi in itertools.pairwise(inner)]
    labels.append(f"≥ {n(inner[-1], 1)}")
    return labels


def drift_report(
    start: TimeLike | TimeWindow = "1h",
    end: TimeLike | None = None,
    *,
    reference: str | Mapping[str, Any] | None = None,
    es: Elasticsearch | None = None,
    filters: Filters | None = None,
    ks: bool = True,
) -> DriftReport:
    """PSI per feature (and a KS test of the predictions) of a window against a reference.

    ``reference`` is a model version (its registry card's training ``profile``), ``None`` for the
    production model, or a profile dict (same keys as the card's, e.g. another window's
    :func:`window_profile`). Input features (product, family, weekday of the asked date,
    promotion) use every event of the window; the prediction distribution only the events that
    version answered, since another version's predictions are another distribution. The KS test
    downloads the window's predictions (one field) and compares them with the card's
    ``prediction_sample``.
    """
    window, client, _ = _context(start, end, es)
    if reference is None or isinstance(reference, str):
        version, profile = training_profile(reference)
        label = f"treino do modelo {version}"
        pred_filters: dict[str, Any] = {"model_version": version}
    else:
        version, profile, label, pred_filters = None, dict(reference), "perfil informado", {}
    bins = profile.get("prediction_bins")
    current = window_profile(
        window, es=client, filters=filters, bins=bins, prediction_filters=pred_filters
    )
    n = current["n"]
    promo_ref = float(profile.get("promotion_rate", math.nan))
    promo_now = float(current["promotion_rate"])

    def promo_shares(rate: float) -> pd.Series:
        if math.isnan(rate):
            return pd.Series(dtype=float)
        return pd.Series({"false": 1.0 - rate, "true": rate})

    pairs: dict[str, tuple[pd.Series, pd.Series, int]] = {
        "product": (
            _as_series(profile.get("product_share", {})),
            _as_series(current["product_share"]),
            n,
        ),
        "family": (
            _as_series(profile.get("family_share", {})),
            _as_series(current["family_share"]),
            n,
        ),
        "weekday": (
            _as_series({str(k): v for k, v in profile.get("weekday_share", {}).items()}),
            _as_series(current["weekday_share"]),
            n,
        ),
        "promotion": (promo_shares(promo_ref), promo_shares(promo_now), n),
    }
    if bins is not None:
        labels = _bin_labels(bins)
        expected = pd.Series(list(profile.get("prediction_share", [])), index=labels, dtype=float)
        actual_values = current["prediction_share"]
        actual = pd.Series(actual_values, index=labels if actual_values else None, dtype=float)
        pairs["prediction"] = (expected, actual, int(current["prediction_n"]))
    features: dict[str, FeatureDrift] = {}
    for key, (exp, act, count) in pairs.items():
        value = psi(exp, act, actual_n=count) if count else math.nan
        features[key] = FeatureDrift(key, DRIFT_FEATURES[key], value, count, exp, act)
    ks_result = None
    sample = profile.get("prediction_sample")
    if ks and sample:
        values = events(
            window, es=client, columns=["prediction"], filters={**(filters or {}), **pred_filters}
        )
        ks_result = ks_test(values["prediction"].to_numpy(), sample)
    return DriftReport(window, label, version, n, features, ks_result)
