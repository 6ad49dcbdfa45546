"""Labelling: the actual sales written onto the logged prediction events.

:func:`label_events` finds the events whose target ``date`` has passed (relative to an ``as_of``
day), asks the simulated store for the actual sales (:func:`workshop.dataset.actuals_frame`, with
the world's :class:`~workshop.dataset.RegimeChange`) and writes them onto the SAME documents with
bulk partial updates (``_op_type: update`` + ``doc``; no scripts: the embedded engine has none).

Why extra fields for NWRMSLE. NWRMSLE = sqrt(Σ wᵢ·(log1p(predᵢ) − log1p(actualᵢ))² / Σ wᵢ) needs
``log1p`` of two fields per event, which Elasticsearch can only compute with scripts (not available
on the embedded engine, and slow on a real cluster). So labelling also stores, per event, the
squared log error ``sq_log_error`` and the NWRMSLE weight ``error_weight`` (1.25 for perishables,
1.0 otherwise); a ``weighted_avg`` aggregation then gives the weighted mean squared log error of any
bucket (:mod:`workshop.feedback.live_metrics`), and NWRMSLE is its square root. MAE is a plain
``avg`` of ``abs_error``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch, helpers
from tqdm.auto import tqdm

from workshop import dataset, formatting
from workshop.config import Settings, get_settings
from workshop.errors import StackError, WorkshopError
from workshop.feedback.indices import count, refresh, scan
from workshop.feedback.scenario import Scenario, parse_day, today_utc, world
from workshop.modeling.metrics import PERISHABLE_WEIGHT
from workshop.stack import connect

# One question asked of the model: its target day, product and promotion flag.
KEY = ["date", "item_nbr", "onpromotion"]
LABEL_FIELDS = ("actual", "abs_error", "labeled_at", "sq_log_error", "error_weight")
# Types of the helper fields written by labelling (the index template fixes the other three).
LABEL_MAPPING: dict[str, dict[str, str]] = {
    "sq_log_error": {"type": "float"},
    "error_weight": {"type": "float"},
}


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
        n = formatting.integer
        return (
            f"Rotulagem com data de referência {formatting.day(self.as_of)}: "
            f"{n(self.labelled)} eventos rotulados agora, {n(self.already_labelled)} já estavam "
            f"rotulados, {n(self.skipped_future)} ignorados (data-alvo ainda não passou)"
            + (
                f", {n(self.unknown_product)} com produto desconhecido"
                if self.unknown_product
                else ""
            )
            + "."
        )


def labelled_query() -> dict[str, Any]:
    return {"exists": {"field": "actual"}}


def _since(logged_since: datetime | None) -> list[dict[str, Any]]:
    if logged_since is None:
        return []
    moment = logged_since if logged_since.tzinfo else logged_since.replace(tzinfo=UTC)
    return [{"range": {"@timestamp": {"gte": moment.astimezone(UTC).isoformat()}}}]


def _pending_query(
    as_of: date, *, future: bool, logged_since: datetime | None = None
) -> dict[str, Any]:
    bound = {"gte": as_of.isoformat()} if future else {"lt": as_of.isoformat()}
    return {
        "bool": {
            "filter": [
                {"range": {"date": {**bound, "format": "yyyy-MM-dd"}}},
                *_since(logged_since),
            ],
            "must_not": [labelled_query()],
        }
    }


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
    logged_since: datetime | None = None,
) -> LabelResult:
    """Write the actual sales onto every logged event whose target date is before ``as_of``.

    ``logged_since`` limits it to events logged from that moment on (a notebook labels its own
    traffic, not every earlier notebook's: the same lesson, a fraction of the updates).

    ``as_of`` defaults to today (UTC); a target day counts as passed when it is strictly before
    ``as_of`` (the sales of a day are known only when the day is over). The actuals come from the
    simulated store with the world's regime (``scenario``, default: the saved one). Idempotent:
    events that already have ``actual`` are counted, never rewritten.
    """
    settings = settings or get_settings()
    es = es or connect(settings)
    as_of = parse_day(as_of, default=today_utc())
    regime, seed = world(scenario, settings)
    refresh(es, settings)
    since = _since(logged_since)
    already = count(es, settings, {"bool": {"filter": [labelled_query(), *since]}})
    future = count(es, settings, _pending_query(as_of, future=True, logged_since=logged_since))
    pending = count(es, settings, _pending_query(as_of, future=False, logged_since=logged_since))
    if pending:
        ensure_label_mapping(es, settings)
    labelled = unknown = 0
    bar = tqdm(total=pending, desc="Rotulando eventos", unit=" eventos", disable=not progress)
    fields = ["date", "item_nbr", "onpromotion", "prediction"]
    query = _pending_query(as_of, future=False, logged_since=logged_since)
    for hits in scan(es, settings, query, fields, page):
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
    refresh(es, settings)
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
