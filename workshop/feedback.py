"""Closing the data feedback loop: label events, measure live error, curate, retrain, promote.

The flow, top to bottom:

1. :func:`label_events` — prediction events whose target ``date`` has passed (relative to an
   ``as_of`` day) get the actual sales of the simulated store
   (:func:`workshop.dataset.actuals_frame`, with the world's
   :class:`~workshop.dataset.RegimeChange`) written onto the SAME documents with bulk partial
   updates (``_op_type: update`` + ``doc``; no scripts: the embedded engine has none).
2. :func:`live_error` — MAE and NWRMSLE of the labelled events, computed by Elasticsearch
   aggregations, per target day/week, per family and/or per model version.
3. :func:`fetch_labelled` + :func:`curate` + :func:`merge_with_history` — labelled events become
   training rows (one per ``(date, item_nbr, onpromotion)``, only passed dates, the label is the
   ACTUAL, never the prediction; provenance ``source = "feedback"``).
4. :func:`retrain` → :func:`compare` on a LATER window of actuals neither version trained on →
   :func:`promote_if_better` (overall no worse AND affected family better), recording the
   comparison in the new version's card.

:func:`run_scenario` chains everything for ``workshop feedback demo`` and notebook 06.

Why extra fields for NWRMSLE. NWRMSLE = sqrt(Σ wᵢ·(log1p(predᵢ) − log1p(actualᵢ))² / Σ wᵢ) needs
``log1p`` of two fields per event, which Elasticsearch can only compute with scripts (not available
on the embedded engine, and slow on a real cluster). So labelling also stores, per event, the
squared log error ``sq_log_error`` and the NWRMSLE weight ``error_weight`` (1.25 for perishables,
1.0 otherwise); a ``weighted_avg`` aggregation then gives the weighted mean squared log error of any
bucket, and NWRMSLE is its square root. MAE is a plain ``avg`` of ``abs_error``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import BadRequestError, Elasticsearch, helpers
from tqdm.auto import tqdm

from workshop import dataset, modeling
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, ModelNotFoundError, StackError, WorkshopError
from workshop.modeling.metrics import PERISHABLE_WEIGHT
from workshop.stack import connect

FEEDBACK_SOURCE = "feedback"
HISTORY_SOURCE = "history"
KEY = ["date", "item_nbr", "onpromotion"]
LABEL_FIELDS = ("actual", "abs_error", "labeled_at", "sq_log_error", "error_weight")
# Types of the helper fields written by labelling (the index template fixes the other three).
LABEL_MAPPING: dict[str, dict[str, str]] = {
    "sq_log_error": {"type": "float"},
    "error_weight": {"type": "float"},
}
SCENARIO_FILE = "feedback_scenario.json"
INTERVALS = {"day": "day", "week": "week", "dia": "day", "semana": "week"}
GROUPS = {"family", "model_version", "item_nbr", "product", "channel"}


class FeedbackError(WorkshopError):
    """A step of the feedback loop cannot run (pt-BR message says what to do)."""


# --------------------------------------------------------------------------- the simulated world


@dataclass(frozen=True)
class Scenario:
    """The demo world: a change in demand and the dates of the traffic, labels and evaluation.

    ``as_of`` is the simulated "today" when labelling and retraining happen: every target date of
    the traffic has passed. The evaluation window starts on ``as_of`` (after everything either
    model trained on) and lasts ``eval_days``.
    """

    family: str = "LATICÍNIOS"
    change_start: date = date(2026, 1, 1)
    factor: float = 0.7
    traffic_start: date = date(2025, 12, 15)  # a Monday: whole calendar weeks
    traffic_days: int = 56
    eval_days: int = 28
    seed: int = dataset.DEFAULT_SEED

    def __post_init__(self) -> None:
        families = {p.family for p in dataset.CATALOGUE}
        if self.family not in families:
            raise InvalidInputError(
                f"Família desconhecida: {self.family!r}. Opções: {', '.join(sorted(families))}."
            )
        if not 0 < self.factor <= 5:
            raise InvalidInputError(f"Fator da mudança inválido: {self.factor} (use entre 0 e 5).")
        if self.traffic_days < 1 or self.eval_days < 1:
            raise InvalidInputError("Os períodos de tráfego e de avaliação precisam de ≥ 1 dia.")

    @property
    def regime(self) -> dataset.RegimeChange:
        return dataset.RegimeChange(family=self.family, start=self.change_start, factor=self.factor)

    @property
    def as_of(self) -> date:
        return self.traffic_start + timedelta(days=self.traffic_days)

    @property
    def eval_start(self) -> date:
        return self.as_of

    @property
    def eval_end(self) -> date:
        """Last day (inclusive) of the evaluation window."""
        return self.as_of + timedelta(days=self.eval_days - 1)

    def describe(self) -> str:
        """The scenario in one pt-BR paragraph."""
        change = round(abs(1 - self.factor) * 100)
        if self.factor < 1:
            what = f"vende {change}% menos (um concorrente abriu ao lado)"
        elif self.factor > 1:
            what = f"vende {change}% mais"
        else:
            what = "vende o mesmo (nenhuma mudança)"
        last = self.as_of - timedelta(days=1)
        return (
            f"Cenário: a partir de {self.change_start:%d/%m/%Y}, a família {self.family} {what}. "
            f"Tráfego para as datas de {self.traffic_start:%d/%m/%Y} a {last:%d/%m/%Y}; "
            f"'hoje' no mundo simulado: {self.as_of:%d/%m/%Y}; avaliação de "
            f"{self.eval_start:%d/%m/%Y} a {self.eval_end:%d/%m/%Y}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        values = dict(data)
        for key in ("change_start", "traffic_start"):
            if key in values:
                values[key] = date.fromisoformat(str(values[key]))
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in values.items() if k in known})


def save_scenario(scenario: Scenario, settings: Settings | None = None) -> None:
    """Remember the world's regime so that later labelling (CLI, notebooks) uses the same one."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / SCENARIO_FILE).write_text(json.dumps(scenario.to_dict(), indent=2))


def load_scenario(settings: Settings | None = None) -> Scenario | None:
    """The scenario saved by :func:`save_scenario`, or ``None`` (a world without a change)."""
    settings = settings or get_settings()
    path = settings.data_dir / SCENARIO_FILE
    if not path.exists():
        return None
    try:
        return Scenario.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError) as exc:
        raise FeedbackError(f"Arquivo de cenário inválido em {path}: {exc}. Apague-o.") from None


def _world(
    scenario: Scenario | None, settings: Settings
) -> tuple[dataset.RegimeChange | None, int]:
    scenario = scenario if scenario is not None else load_scenario(settings)
    if scenario is None:
        return None, dataset.DEFAULT_SEED
    return scenario.regime, scenario.seed


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_day(value: date | str | None, *, default: date | None = None) -> date:
    """A day from a date, an ISO date/timestamp string or ``None`` (→ ``default``); pt-BR errors."""
    if value is None:
        if default is None:
            raise InvalidInputError("Informe uma data.")
        return default
    if isinstance(value, str) and len(value) > 10 and value[10] in "T ":
        value = value[:10]  # an ISO timestamp from a document: its day
    return dataset.parse_date(value)


# --------------------------------------------------------------------------- error terms


def error_weight(perishable: bool | np.ndarray | pd.Series) -> Any:
    """NWRMSLE weight of a row: 1.25 for perishable products, 1.0 otherwise (Favorita rule)."""
    return np.where(np.asarray(perishable, dtype=bool), PERISHABLE_WEIGHT, 1.0)


def sq_log_error(prediction: Any, actual: Any) -> np.ndarray:
    """(log1p(prediction) − log1p(actual))², negatives clipped to 0 as NWRMSLE does."""
    pred = np.clip(np.asarray(prediction, dtype=float), 0, None)
    act = np.clip(np.asarray(actual, dtype=float), 0, None)
    return (np.log1p(pred) - np.log1p(act)) ** 2


# --------------------------------------------------------------------------- labelling


@dataclass(frozen=True)
class LabelResult:
    """What :func:`label_events` did."""

    as_of: date
    labelled: int
    skipped_future: int
    already_labelled: int
    unknown_product: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        return data

    def summary(self) -> str:
        return (
            f"Rotulagem com data de referência {self.as_of.isoformat()}: "
            f"{self.labelled} eventos rotulados agora, {self.already_labelled} já estavam "
            f"rotulados, {self.skipped_future} ignorados (data-alvo ainda não passou)"
            + (f", {self.unknown_product} com produto desconhecido" if self.unknown_product else "")
            + "."
        )


def _search_kwargs(settings: Settings) -> dict[str, Any]:
    return {"index": settings.index_pattern, "ignore_unavailable": True, "allow_no_indices": True}


def _refresh(es: Elasticsearch, settings: Settings) -> None:
    try:
        es.indices.refresh(
            index=settings.index_pattern, ignore_unavailable=True, allow_no_indices=True
        )
    except Exception as exc:
        raise StackError(
            f"Não consegui falar com o Elasticsearch ({exc}). Confira com `workshop doctor`."
        ) from exc


def _count(es: Elasticsearch, settings: Settings, query: dict[str, Any]) -> int:
    return int(es.count(query=query, **_search_kwargs(settings))["count"])


def _labelled_query() -> dict[str, Any]:
    return {"exists": {"field": "actual"}}


def _pending_query(as_of: date, *, future: bool) -> dict[str, Any]:
    bound = {"gte": as_of.isoformat()} if future else {"lt": as_of.isoformat()}
    return {
        "bool": {
            "filter": [{"range": {"date": {**bound, "format": "yyyy-MM-dd"}}}],
            "must_not": [_labelled_query()],
        }
    }


def _scan(
    es: Elasticsearch,
    settings: Settings,
    query: dict[str, Any],
    fields: list[str],
    page: int = 1000,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of hits (with ``_index``/``_id``), sorted by ``prediction_id`` (search_after)."""
    after: list[Any] | None = None
    while True:
        kwargs: dict[str, Any] = {
            "query": query,
            "size": page,
            "sort": [{"prediction_id": "asc"}],
            "source": fields,
            **_search_kwargs(settings),
        }
        if after is not None:
            kwargs["search_after"] = after
        try:
            hits = es.search(**kwargs)["hits"]["hits"]
        except BadRequestError as exc:
            raise StackError(
                "Os índices de eventos não têm o mapeamento esperado (prediction_id deveria ser "
                f"keyword): instale o template com `workshop setup` antes dos eventos ({exc})."
            ) from None
        if not hits:
            return
        yield hits
        after = hits[-1]["sort"]
        if len(hits) < page:
            return


def ensure_label_mapping(es: Elasticsearch, settings: Settings | None = None) -> None:
    """Declare the helper fields as ``float`` on the existing event indices (idempotent)."""
    settings = settings or get_settings()
    try:
        if es.indices.exists(index=settings.index_pattern, allow_no_indices=False):
            es.indices.put_mapping(index=settings.index_pattern, properties=LABEL_MAPPING)
    except Exception as exc:
        raise StackError(
            f"Não consegui ajustar o mapeamento dos índices de eventos: {exc}"
        ) from exc


def label_events(
    *,
    as_of: date | str | None = None,
    scenario: Scenario | None = None,
    es: Elasticsearch | None = None,
    settings: Settings | None = None,
    page: int = 1000,
    progress: bool = False,
) -> LabelResult:
    """Write the actual sales onto every logged event whose target date is before ``as_of``.

    ``as_of`` defaults to today (UTC); a target day counts as passed when it is strictly before
    ``as_of`` (the sales of a day are known only when the day is over). The actuals come from the
    simulated store with the world's regime (``scenario``, default: the saved one). Idempotent:
    events that already have ``actual`` are counted, never rewritten.
    """
    settings = settings or get_settings()
    es = es or connect(settings)
    as_of = parse_day(as_of, default=today_utc())
    regime, seed = _world(scenario, settings)
    _refresh(es, settings)
    already = _count(es, settings, _labelled_query())
    future = _count(es, settings, _pending_query(as_of, future=True))
    pending = _count(es, settings, _pending_query(as_of, future=False))
    if pending:
        ensure_label_mapping(es, settings)
    labelled = unknown = 0
    bar = tqdm(total=pending, desc="Rotulando eventos", unit=" eventos", disable=not progress)
    fields = ["date", "item_nbr", "onpromotion", "prediction"]
    for hits in _scan(es, settings, _pending_query(as_of, future=False), fields, page):
        actions, n_unknown = _label_actions(hits, regime=regime, seed=seed)
        unknown += n_unknown
        if actions:
            try:
                ok, _ = helpers.bulk(es, actions, refresh=False)
            except helpers.BulkIndexError as exc:
                raise StackError(
                    f"O Elasticsearch recusou {len(exc.errors)} atualizações de rótulo: "
                    f"{exc.errors[:1]}"
                ) from None
            labelled += int(ok)
        bar.update(len(hits))
    bar.close()
    _refresh(es, settings)
    return LabelResult(as_of, labelled, future, already, unknown)


def _label_actions(
    hits: list[dict[str, Any]], *, regime: dataset.RegimeChange | None, seed: int
) -> tuple[list[dict[str, Any]], int]:
    """Bulk partial-update actions for one page of unlabelled events."""
    rows = []
    unknown = 0
    for hit in hits:
        src = hit["_source"]
        try:
            product = dataset.product_by_item(str(src.get("item_nbr", "")))
            target = parse_day(src.get("date"))
            prediction = float(src["prediction"])
        except (WorkshopError, KeyError, TypeError, ValueError):
            unknown += 1
            continue
        rows.append(
            {
                "_index": hit["_index"],
                "_id": hit["_id"],
                "date": target,
                "item_nbr": product.item_nbr,
                "onpromotion": bool(src.get("onpromotion", False)),
                "prediction": prediction,
                "perishable": product.perishable,
            }
        )
    if not rows:
        return [], unknown
    frame = pd.DataFrame(rows)
    actual = np.asarray(
        dataset.actuals_frame(frame[KEY], seed=seed, regime=regime), dtype=float
    ).round(4)
    sqle = sq_log_error(frame["prediction"], actual)
    weight = error_weight(frame["perishable"])
    labeled_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    actions = [
        {
            "_op_type": "update",
            "_index": row["_index"],
            "_id": row["_id"],
            "doc": {
                "actual": float(act),
                "abs_error": float(abs(row["prediction"] - act)),
                "labeled_at": labeled_at,
                "sq_log_error": float(sq),
                "error_weight": float(w),
            },
        }
        for row, act, sq, w in zip(rows, actual, sqle, weight, strict=True)
    ]
    return actions, unknown


# --------------------------------------------------------------------------- live error


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
    filters: list[dict[str, Any]] = [_labelled_query()]
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
    _refresh(es, settings)
    rows: list[dict[str, Any]] = []
    if not sources:  # overall: one bucket
        resp = es.search(
            size=0,
            query={"bool": {"filter": filters}},
            aggs=metrics,
            track_total_hits=True,
            **_search_kwargs(settings),
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
            **_search_kwargs(settings),
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


# --------------------------------------------------------------------------- curation


EVENT_COLUMNS = [
    "prediction_id",
    "date",
    "item_nbr",
    "product",
    "family",
    "onpromotion",
    "prediction",
    "actual",
    "model_version",
    "channel",
    "labeled_at",
]


def fetch_events(
    *,
    labelled_only: bool = True,
    es: Elasticsearch | None = None,
    settings: Settings | None = None,
    page: int = 2000,
) -> pd.DataFrame:
    """The events as a DataFrame (one row per event; ``actual`` NaN when not labelled)."""
    settings = settings or get_settings()
    es = es or connect(settings)
    _refresh(es, settings)
    query = _labelled_query() if labelled_only else {"match_all": {}}
    rows = [
        hit["_source"] for hits in _scan(es, settings, query, EVENT_COLUMNS, page) for hit in hits
    ]
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["date"] = _date_column(frame["date"])
    frame["actual"] = pd.to_numeric(frame["actual"], errors="coerce")
    frame["prediction"] = pd.to_numeric(frame["prediction"], errors="coerce")
    frame["onpromotion"] = frame["onpromotion"].fillna(False).astype(bool)
    return frame


def fetch_labelled(
    *, es: Elasticsearch | None = None, settings: Settings | None = None
) -> pd.DataFrame:
    """Only the labelled events (see :func:`fetch_events`)."""
    return fetch_events(labelled_only=True, es=es, settings=settings)


@dataclass
class Curated:
    """Training rows made from labelled events, and what curation dropped (and why)."""

    rows: pd.DataFrame
    as_of: date
    events: int
    unlabelled: int
    future: int
    unknown_product: int
    duplicates: int
    in_history: int = 0
    since: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "events": self.events,
            "rows": len(self.rows),
            "dropped_unlabelled": self.unlabelled,
            "dropped_future": self.future,
            "dropped_unknown_product": self.unknown_product,
            "dropped_duplicates": self.duplicates,
            "dropped_in_history": self.in_history,
            "history_until": self.since.isoformat() if self.since else None,
        }

    def summary(self) -> str:
        return (
            f"{self.events} eventos → {len(self.rows)} linhas de treino "
            f"(descartados: {self.future} com data-alvo a partir de {self.as_of.isoformat()}, "
            f"{self.unlabelled} sem rótulo, {self.duplicates} repetidos"
            + (
                f", {self.in_history} de dias que o histórico já cobre (até "
                f"{self.since.isoformat()})"
                if self.since is not None
                else ""
            )
            + (f", {self.unknown_product} de produto desconhecido" if self.unknown_product else "")
            + ")."
        )


def _date_column(values: pd.Series) -> pd.Series:
    """Target dates as midnight ``datetime64`` (the dtype of ``dataset.generate_history``)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values).dt.tz_localize(None) if values.dt.tz else values
    return pd.to_datetime(values.astype("string").str[:10], format="%Y-%m-%d")


TRAINING_COLUMNS = dataset.COLUMNS  # curated rows have exactly the history's columns


def curate(
    events: pd.DataFrame, *, as_of: date | str, history_until: date | str | None = None
) -> Curated:
    """Labelled events → training rows, one per ``(date, item_nbr, onpromotion)``.

    * only target dates strictly before ``as_of`` — nothing from the future leaks in (counted
      first, labelled or not);
    * only labelled events (``actual`` present) — an unlabelled event has no truth yet;
    * with ``history_until``, only target dates after it: the store's history already holds
      those days, and a copy would dilute what is NEW (the model uses the extra rows to
      calibrate each family's current level);
    * duplicates (the same question asked many times) collapse to one row, so popular questions
      do not weigh more than the store's real sales;
    * the label ``unit_sales`` is the ACTUAL; the model's ``prediction`` is never used (training
      on our own predictions would only teach the model what it already believes);
    * product attributes come from the catalogue; provenance ``source = "feedback"``.
    """
    as_of = parse_day(as_of)
    missing = {"date", "item_nbr", "onpromotion", "actual"} - set(events.columns)
    if missing:
        raise InvalidInputError(f"Faltam colunas nos eventos: {', '.join(sorted(missing))}.")
    frame = events.copy()
    frame["date"] = _date_column(frame["date"])
    frame["actual"] = pd.to_numeric(frame["actual"], errors="coerce")
    total = len(frame)
    before = frame[frame["date"] < pd.Timestamp(as_of)]  # the future first: never a label
    future = total - len(before)
    past = before[before["actual"].notna()]
    unlabelled = len(before) - len(past)
    since = parse_day(history_until) if history_until is not None else None
    in_history = 0
    if since is not None:
        fresh = past[past["date"] > pd.Timestamp(since)]
        in_history = len(past) - len(fresh)
        past = fresh
    catalogue = {p.item_nbr: p for p in dataset.CATALOGUE}
    known = past[past["item_nbr"].astype(str).isin(catalogue)]
    unknown_product = len(past) - len(known)
    sort_cols = [c for c in ("labeled_at", "prediction_id") if c in known.columns]
    ordered = known.sort_values([*KEY, *sort_cols], kind="stable") if len(known) else known
    unique = ordered.drop_duplicates(subset=KEY, keep="first")
    duplicates = len(known) - len(unique)
    rows = pd.DataFrame(
        {
            "date": unique["date"].to_numpy(),
            "item_nbr": unique["item_nbr"].astype(str).to_numpy(),
            "onpromotion": unique["onpromotion"].astype(bool).to_numpy(),
            "unit_sales": unique["actual"].astype(float).to_numpy(),
        }
    )
    products = [catalogue[i] for i in rows["item_nbr"]]
    rows["product"] = [p.product for p in products]
    rows["family"] = [p.family for p in products]
    rows["class"] = np.asarray([p.class_ for p in products], dtype=np.int64)
    rows["perishable"] = [p.perishable for p in products]
    rows = rows[TRAINING_COLUMNS].sort_values(["date", "item_nbr", "onpromotion"])
    rows["source"] = FEEDBACK_SOURCE
    return Curated(
        rows.reset_index(drop=True),
        as_of,
        total,
        unlabelled,
        future,
        unknown_product,
        duplicates,
        in_history,
        since,
    )


def merge_with_history(history: pd.DataFrame, feedback_rows: pd.DataFrame) -> pd.DataFrame:
    """History (``source = "history"``) + feedback rows not already in it, sorted by date.

    When both have the same ``(date, item_nbr, onpromotion)``, the history row wins (it is the
    store's own record).
    """
    hist = history.copy()
    hist["source"] = HISTORY_SOURCE
    fb = feedback_rows.copy()
    fb["source"] = FEEDBACK_SOURCE
    hist["date"] = _date_column(hist["date"])
    fb["date"] = _date_column(fb["date"])
    merged = pd.concat([hist, fb[hist.columns.intersection(fb.columns)]], ignore_index=True)
    merged = merged.drop_duplicates(subset=KEY, keep="first")
    return merged.sort_values(["date", "item_nbr"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- retrain


def retrain(
    curated: Curated | pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    description: str | None = None,
    settings: Settings | None = None,
    progress: bool = False,
) -> modeling.TrainResult:
    """Train a new version on the history + curated feedback rows (registered, NOT promoted).

    The model module adds the rows to the history and uses them to calibrate each family's level
    (:class:`workshop.modeling.SalesRegressor`), so a few weeks of post-change labels move the
    affected family's predictions. The merge with the history happens inside
    :func:`workshop.modeling.train_and_register` (see :func:`merge_with_history` for the same
    merge as a DataFrame, shown in notebook 06).
    """
    settings = settings or get_settings()
    rows = curated.rows if isinstance(curated, Curated) else curated
    if len(rows) == 0:
        raise FeedbackError(
            "Nenhuma linha curada para treinar: rotule eventos com data-alvo passada primeiro "
            "(`workshop feedback label`)."
        )
    if "source" in rows.columns and (rows["source"] != FEEDBACK_SOURCE).any():
        raise FeedbackError("Só linhas curadas (source = feedback) entram como linhas extras.")
    scenario = scenario if scenario is not None else load_scenario(settings)
    return modeling.train_and_register(
        seed=scenario.seed if scenario else dataset.DEFAULT_SEED,
        regime=scenario.regime if scenario else None,
        extra_rows=rows[["date", "item_nbr", "onpromotion", "unit_sales"]],
        promote=False,
        description=description
        or f"Retreino com {len(rows)} linhas de feedback rotuladas (ciclo de feedback).",
        settings=settings,
        progress=progress,
    )


# --------------------------------------------------------------------------- compare & promote

OVERALL = "GERAL"


@dataclass
class Comparison:
    """Production vs. candidate on a window of actuals that neither version trained on.

    ``table`` has one row per family plus ``GERAL`` (overall) with ``n``, ``nwrmsle_old``,
    ``nwrmsle_new``, ``mae_old``, ``mae_new``.
    """

    old_version: str
    new_version: str
    family: str
    window_start: date
    window_end: date
    trained_until: dict[str, str]
    table: pd.DataFrame
    promoted: bool = False

    def _get(self, row: str, col: str) -> float:
        return float(self.table.loc[row, col])

    @property
    def overall_nwrmsle_old(self) -> float:
        return self._get(OVERALL, "nwrmsle_old")

    @property
    def overall_nwrmsle_new(self) -> float:
        return self._get(OVERALL, "nwrmsle_new")

    @property
    def family_nwrmsle_old(self) -> float:
        return self._get(self.family, "nwrmsle_old")

    @property
    def family_nwrmsle_new(self) -> float:
        return self._get(self.family, "nwrmsle_new")

    @property
    def better(self) -> bool:
        return is_better(
            overall_old=self.overall_nwrmsle_old,
            overall_new=self.overall_nwrmsle_new,
            family_old=self.family_nwrmsle_old,
            family_new=self.family_nwrmsle_new,
        )

    @property
    def reason(self) -> str:
        fam = (
            f"{self.family}: {self.family_nwrmsle_old:.3f} → {self.family_nwrmsle_new:.3f}".replace(
                ".", ","
            )
        )
        overall = f"geral: {self.overall_nwrmsle_old:.3f} → {self.overall_nwrmsle_new:.3f}".replace(
            ".", ","
        )
        if self.better:
            return f"a nova versão é melhor (NWRMSLE {fam}; {overall})."
        if self.overall_nwrmsle_new > self.overall_nwrmsle_old:
            return f"a nova versão é pior no geral (NWRMSLE {overall}); fica a atual."
        return f"a nova versão não melhora a família {self.family} (NWRMSLE {fam}); fica a atual."

    def to_dict(self) -> dict[str, Any]:
        t = self.table
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "family": self.family,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "eval_rows": int(t.loc[OVERALL, "n"]),
            "trained_until": dict(self.trained_until),
            "family_nwrmsle_old": round(self.family_nwrmsle_old, 4),
            "family_nwrmsle_new": round(self.family_nwrmsle_new, 4),
            "family_mae_old": round(self._get(self.family, "mae_old"), 3),
            "family_mae_new": round(self._get(self.family, "mae_new"), 3),
            "family_ratio": round(self.family_nwrmsle_new / self.family_nwrmsle_old, 4),
            "overall_nwrmsle_old": round(self.overall_nwrmsle_old, 4),
            "overall_nwrmsle_new": round(self.overall_nwrmsle_new, 4),
            "overall_mae_old": round(self._get(OVERALL, "mae_old"), 3),
            "overall_mae_new": round(self._get(OVERALL, "mae_new"), 3),
            "better": self.better,
            "promoted": self.promoted,
            "reason": self.reason,
            "per_family": {
                str(idx): {k: (round(float(v), 4)) for k, v in row.items()}
                for idx, row in t.iterrows()
            },
        }


def is_better(
    *, overall_old: float, overall_new: float, family_old: float, family_new: float
) -> bool:
    """The promotion rule: overall no worse AND the affected family strictly better."""
    values = (overall_old, overall_new, family_old, family_new)
    if not all(math.isfinite(v) for v in values):
        return False
    return overall_new <= overall_old and family_new < family_old


def trained_until(version: str, settings: Settings | None = None) -> date:
    """Last target date a version trained on (history and extra rows), from its card."""
    card = modeling.Registry(settings).card(version)
    return parse_day(card["train_end"])


def check_window(window_start: date, trained: dict[str, date]) -> None:
    """The evaluation window must start after the last training day of every version compared."""
    for version, last in trained.items():
        if window_start <= last:
            raise FeedbackError(
                f"A janela de avaliação começa em {window_start.isoformat()}, mas a versão "
                f"{version} treinou com dados até {last.isoformat()}: a comparação seria injusta "
                "(o modelo já teria visto as respostas). Escolha uma janela posterior."
            )


def evaluation_rows(
    start: date, end: date, *, regime: dataset.RegimeChange | None, seed: int
) -> pd.DataFrame:
    """Every product on every day of the window with the store's actual sales (the truth)."""
    return dataset.generate_history(seed=seed, start=start, end=end, regime=regime)


def compare(
    old_version: str,
    new_version: str,
    *,
    family: str,
    start: date | str,
    days: int = 28,
    scenario: Scenario | None = None,
    settings: Settings | None = None,
) -> Comparison:
    """Score both versions on ``days`` days of actuals from ``start`` (after both trainings)."""
    settings = settings or get_settings()
    if family not in dataset.FAMILIES:
        raise InvalidInputError(
            f"Família desconhecida: {family!r}. Opções: {', '.join(dataset.FAMILIES)}."
        )
    start = parse_day(start)
    end = start + timedelta(days=days - 1)
    trained = {v: trained_until(v, settings) for v in dict.fromkeys([old_version, new_version])}
    check_window(start, trained)
    regime, seed = _world(scenario, settings)
    rows = evaluation_rows(start, end, regime=regime, seed=seed)
    registry = modeling.Registry(settings)
    inputs = rows[KEY]
    rows["pred_old"] = registry.load(old_version).predict(inputs)
    rows["pred_new"] = registry.load(new_version).predict(inputs)
    table = _score_table(rows)
    return Comparison(
        old_version,
        new_version,
        family,
        start,
        end,
        {v: d.isoformat() for v, d in trained.items()},
        table,
    )


def _score_table(rows: pd.DataFrame) -> pd.DataFrame:
    def score(part: pd.DataFrame) -> dict[str, float]:
        y, per = part["unit_sales"], part["perishable"]
        return {
            "n": float(len(part)),
            "nwrmsle_old": modeling.nwrmsle(y, part["pred_old"], per),
            "nwrmsle_new": modeling.nwrmsle(y, part["pred_new"], per),
            "mae_old": float(np.mean(np.abs(y - part["pred_old"]))),
            "mae_new": float(np.mean(np.abs(y - part["pred_new"]))),
        }

    records = {fam: score(part) for fam, part in rows.groupby("family", sort=True)}
    records[OVERALL] = score(rows)
    table = pd.DataFrame.from_dict(records, orient="index")
    table["n"] = table["n"].astype(int)
    table.index.name = "family"
    return table


def record_comparison(
    comparison: Comparison, *, curated: Curated | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Write the comparison into the NEW version's card (key ``feedback``); return the card.

    The registry has no card-update call; the card is rewritten atomically with the registry's
    own helper, the way :meth:`workshop.modeling.Registry.register` writes it.
    """
    from workshop.modeling.registry import CARD_FILE, atomic_write_text

    registry = modeling.Registry(settings)
    card = registry.card(comparison.new_version)
    card["feedback"] = {
        "compared_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "comparison": comparison.to_dict(),
        "curation": curated.to_dict() if curated is not None else None,
        "rule": "promover só se NWRMSLE geral não piorar E a família afetada melhorar",
    }
    path = registry.path(comparison.new_version) / CARD_FILE
    atomic_write_text(path, json.dumps(card, ensure_ascii=False, indent=2, default=str))
    return card


def promote_if_better(
    comparison: Comparison, *, curated: Curated | None = None, settings: Settings | None = None
) -> bool:
    """Record the comparison in the new card, then promote the new version only if better."""
    comparison.promoted = comparison.better
    record_comparison(comparison, curated=curated, settings=settings)
    if comparison.promoted:
        modeling.Registry(settings).promote(comparison.new_version)
    return comparison.promoted


@dataclass
class LoopResult:
    """One turn of the loop: curation, the new version, the comparison (and promotion)."""

    curated: Curated
    comparison: Comparison
    train: modeling.TrainResult | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {**self.comparison.to_dict(), "curation": self.curated.to_dict()}


def worst_family(settings: Settings | None = None, es: Elasticsearch | None = None) -> str:
    """The family with the highest live NWRMSLE (labelled events), for a CLI without scenario."""
    frame = live_error(interval=None, by="family", es=es, settings=settings)
    if frame.empty:
        raise FeedbackError("Nenhum evento rotulado: rode `workshop feedback label` primeiro.")
    return str(frame.sort_values("nwrmsle", ascending=False)["family"].iloc[0])


def close_loop(
    *,
    as_of: date | str | None = None,
    family: str | None = None,
    eval_days: int = 28,
    promote: bool = False,
    scenario: Scenario | None = None,
    es: Elasticsearch | None = None,
    settings: Settings | None = None,
    progress: bool = False,
) -> LoopResult:
    """Curate the labelled events before ``as_of``, retrain, compare on ``[as_of, +eval_days)``
    and (when ``promote``) promote the new version if it is better."""
    settings = settings or get_settings()
    es = es or connect(settings)
    scenario = scenario if scenario is not None else load_scenario(settings)
    as_of = parse_day(as_of, default=default_as_of(None, settings))
    registry = modeling.Registry(settings)
    old = registry.production_version()
    if old is None:
        raise ModelNotFoundError(
            "Nenhum modelo em produção para comparar — execute o notebook 01 ou `workshop train`."
        )
    family = family or (scenario.family if scenario else worst_family(settings, es))
    # The retrain regenerates the store's history (up to dataset.HISTORY_END): feedback rows
    # of days it already covers add nothing new.
    curated = curate(
        fetch_labelled(es=es, settings=settings), as_of=as_of, history_until=dataset.HISTORY_END
    )
    train = retrain(curated, scenario=scenario, settings=settings, progress=progress)
    comparison = compare(
        old,
        train.version,
        family=family,
        start=as_of,
        days=eval_days,
        scenario=scenario,
        settings=settings,
    )
    if promote:
        promote_if_better(comparison, curated=curated, settings=settings)
    else:
        record_comparison(comparison, curated=curated, settings=settings)
    return LoopResult(curated, comparison, train)


def default_as_of(value: date | None, settings: Settings | None = None) -> date:
    """``value``, else the saved scenario's simulated today, else today (UTC)."""
    if value is not None:
        return value
    scenario = load_scenario(settings)
    return scenario.as_of if scenario is not None else today_utc()


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


# --------------------------------------------------------------------------- the scenario


def _baseline_ok(card: dict[str, Any]) -> bool:
    """A production model that knows nothing of the change: history only, no feedback rows."""
    return not card.get("extra_rows") and pd.Timestamp(card["train_end"]) <= pd.Timestamp(
        dataset.HISTORY_END
    )


def ensure_baseline(
    scenario: Scenario | None = None,
    *,
    settings: Settings | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> str:
    """The production version, trained on the history only (what the scenario starts from).

    When nothing is in production, or production already learned from feedback (a second run of
    the scenario), a history-only model is trained and promoted first.
    """
    settings = settings or get_settings()
    registry = modeling.Registry(settings)
    production = registry.production_version()
    if production is not None and _baseline_ok(registry.card(production)):
        return production
    why = (
        "não há modelo em produção"
        if production is None
        else f"a versão de produção {production} já aprendeu com feedback"
    )
    echo(f"Treinando um modelo só com o histórico 2024–2025 ({why})…")
    return modeling.train_and_register(
        seed=scenario.seed if scenario else dataset.DEFAULT_SEED,
        promote=True,
        description="Modelo inicial (histórico 2024–2025) do cenário do ciclo de feedback.",
        settings=settings,
        progress=progress,
    ).version


def wait_for_events(
    es: Elasticsearch,
    ids: list[str],
    *,
    settings: Settings | None = None,
    timeout: float = 60.0,
) -> int:
    """Wait until the events with these ``prediction_id`` are searchable; return how many are.

    The service's event logger writes in the background, so right after a simulation some
    events may still be in its queue.
    """
    settings = settings or get_settings()
    if not ids:
        return 0
    deadline = time.monotonic() + timeout
    found = 0
    while True:
        _refresh(es, settings)
        found = sum(
            _count(es, settings, {"ids": {"values": ids[i : i + 5000]}})
            for i in range(0, len(ids), 5000)
        )
        if found >= len(ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def wait_for_service_version(url: str, version: str, timeout: float = 30.0) -> str | None:
    """Poll the service's ``/health`` until it answers with ``version``; return what it serves."""
    from workshop.service_process import service_health

    deadline = time.monotonic() + timeout
    served: str | None = None
    while time.monotonic() < deadline:
        health = service_health(url)
        served = health.get("model_version") if health else None
        if served == version:
            return served
        time.sleep(0.5)
    return served


def events_by_version(
    *, es: Elasticsearch | None = None, settings: Settings | None = None
) -> dict[str, int]:
    """How many events each model version answered (terms aggregation)."""
    settings = settings or get_settings()
    es = es or connect(settings)
    _refresh(es, settings)
    resp = es.search(
        size=0,
        aggs={"v": {"terms": {"field": "model_version", "size": 100}}},
        **_search_kwargs(settings),
    )
    buckets = resp.get("aggregations", {}).get("v", {}).get("buckets", [])
    return {str(b["key"]): int(b["doc_count"]) for b in buckets}


def scenario_traffic(fast: bool) -> int:
    """Requests the scenario sends over its traffic window (fast: CI)."""
    return 700 if fast else 2000


def run_scenario(
    *,
    scenario: Scenario | None = None,
    fast: bool = False,
    n_events: int | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The whole loop on the configured stack (``workshop feedback demo``).

    Trains a history-only production model if needed, saves the scenario (the world's regime),
    simulates the traffic through the model service, labels the events as of the simulated
    today, measures live error, retrains on curated feedback, compares on the next weeks of
    actuals, promotes if better and checks that the service answers with the new version.
    """
    from workshop import simulator, stack
    from workshop.service_process import ensure_service

    settings = settings or get_settings()
    scenario = scenario or Scenario()
    echo(stack.ensure_engine(settings))
    es = connect(settings)
    stack.install_template(es)
    save_scenario(scenario, settings)
    echo(scenario.describe())

    production = ensure_baseline(scenario, settings=settings, echo=echo, progress=progress)
    echo(f"Versão em produção: {production}")

    service = ensure_service(settings)
    url = service.url if service is not None else settings.service_url
    try:
        served = wait_for_service_version(url, production)
        if served != production:
            raise FeedbackError(
                f"O serviço em {url} responde com a versão {served}, não com {production}."
            )
        n = n_events or scenario_traffic(fast)
        echo(
            f"Simulando {n} predições para {scenario.traffic_start.isoformat()} … "
            f"{(scenario.as_of - timedelta(days=1)).isoformat()} via {url}…"
        )
        summary = simulator.simulate(
            n=n,
            start=scenario.traffic_start,
            days=scenario.traffic_days,
            url=url,
            seed=scenario.seed,
            progress=progress,
        )
        if summary.ok == 0:
            raise FeedbackError(f"Nenhuma predição deu certo: {summary}")
        logged = wait_for_events(es, summary.prediction_ids, settings=settings)
        echo(f"{summary.ok} predições respondidas; {logged} eventos no Elasticsearch.")

        labels = label_events(as_of=scenario.as_of, scenario=scenario, es=es, settings=settings)
        echo(labels.summary())
        live = live_error(
            interval=None,
            by=["model_version", "family"],
            start=scenario.change_start,
            end=scenario.as_of - timedelta(days=1),
            es=es,
            settings=settings,
        )
        live_old = live[live["model_version"] == production].set_index("family")
        others = live_old.drop(index=scenario.family, errors="ignore")
        live_family = (
            float(live_old.loc[scenario.family, "nwrmsle"])
            if scenario.family in live_old.index
            else float("nan")
        )
        live_others = (
            float(np.average(others["nwrmsle"], weights=others["n"]))
            if len(others)
            else float("nan")
        )

        loop = close_loop(
            as_of=scenario.as_of,
            family=scenario.family,
            eval_days=scenario.eval_days,
            promote=True,
            scenario=scenario,
            es=es,
            settings=settings,
            progress=progress,
        )
        comparison = loop.comparison
        echo(loop.curated.summary())

        served_after = served
        new_events = 0
        if comparison.promoted:
            served_after = wait_for_service_version(url, comparison.new_version)
            after = simulator.simulate(
                n=20,
                start=scenario.eval_start,
                days=7,
                url=url,
                seed=scenario.seed + 1,
                progress=False,
            )
            wait_for_events(es, after.prediction_ids, settings=settings)
            new_events = events_by_version(es=es, settings=settings).get(comparison.new_version, 0)
    finally:
        if service is not None:
            service.stop()

    return {
        **comparison.to_dict(),
        "scenario": scenario.to_dict(),
        "as_of": scenario.as_of.isoformat(),
        "requests": summary.sent,
        "requests_ok": summary.ok,
        "events_logged": logged,
        "labelled": labels.labelled,
        "already_labelled": labels.already_labelled,
        "skipped_future": labels.skipped_future,
        "live_family_nwrmsle": round(live_family, 4),
        "live_other_families_nwrmsle": round(live_others, 4),
        "curation": loop.curated.to_dict(),
        "service_model_version": served_after,
        "events_new_version": new_events,
    }


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
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_comparison(comparison: Comparison) -> Any:
    """NWRMSLE of both versions per family and overall, on the evaluation window."""
    import matplotlib.pyplot as plt

    table = comparison.table
    labels = list(table.index)
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.38
    ax.bar(x - width / 2, table["nwrmsle_old"], width, label=f"{comparison.old_version} (produção)")
    ax.bar(x + width / 2, table["nwrmsle_new"], width, label=f"{comparison.new_version} (nova)")
    ax.set_xticks(x, labels, rotation=30, ha="right")
    for tick in ax.get_xticklabels():
        if tick.get_text() == comparison.family:
            tick.set_color("#c62828")
            tick.set_fontweight("bold")
    ax.set_ylabel("NWRMSLE (menor é melhor)")
    ax.set_title(
        f"Janela de avaliação {comparison.window_start:%d/%m} a {comparison.window_end:%d/%m/%Y}"
    )
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig
