"""Curation: labelled events become training rows, and the merge with the store's history.

:func:`fetch_labelled` (or :func:`fetch_events`) reads the events as a DataFrame; :func:`curate`
keeps one row per ``(date, item_nbr, onpromotion)`` with a passed target date, whose label is the
ACTUAL, never the prediction (provenance ``source = "feedback"``); :func:`merge_with_history`
shows the training set the retrain builds from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from elasticsearch import Elasticsearch

from workshop import dataset, formatting
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError
from workshop.feedback.indices import refresh, scan
from workshop.feedback.labels import KEY, labelled_query
from workshop.feedback.scenario import parse_day
from workshop.stack import connect

FEEDBACK_SOURCE = "feedback"
HISTORY_SOURCE = "history"


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
    refresh(es, settings)
    query = labelled_query() if labelled_only else {"match_all": {}}
    rows = [
        hit["_source"] for hits in scan(es, settings, query, EVENT_COLUMNS, page) for hit in hits
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
        n = formatting.integer
        return (
            f"{n(self.events)} eventos → {n(len(self.rows))} linhas de treino "
            f"(descartados: {n(self.future)} com data-alvo a partir de "
            f"{formatting.day(self.as_of)}, "
            f"{n(self.unlabelled)} sem rótulo, {n(self.duplicates)} repetidos"
            + (
                f", {n(self.in_history)} de dias que o histórico já cobre (até "
                f"{formatting.day(self.since)})"
                if self.since is not None
                else ""
            )
            + (
                f", {n(self.unknown_product)} de produto desconhecido"
                if self.unknown_product
                else ""
            )
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
