"""The ONE feature function, shared by training and serving.

:func:`make_features` turns rows ``(date, item_nbr, onpromotion)`` into the model's features:

* calendar: ``dayofweek`` (Monday=0), ``day``, ``month``, ``dayofyear``, ``payday`` (15th or last
  day of the month), ``after_payday``, ``holiday`` / ``holiday_eve`` (Brazilian national holidays)
  and ``days_since_start`` (days since :data:`workshop.dataset.TREND_EPOCH`: lets the trees follow
  the slow trend and, after a retrain, a level change such as a regime change);
* product: ``item`` and ``family`` (catalogue positions), ``class``, ``perishable``;
* the input flag ``onpromotion``.

Serving one row must take well under a millisecond, and a DataFrame round-trip does not.
:class:`RowFeaturizer` therefore precomputes, *with* :func:`make_features`, one calendar vector
per day and one product vector per item and assembles a row by lookup; a unit test proves it gives
exactly what :func:`make_features` gives.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from workshop.dataset import (
    CATALOGUE,
    FAMILIES,
    TREND_EPOCH,
    Product,
    holiday_flags,
    parse_date,
    product_by_item,
)
from workshop.errors import InvalidInputError

CALENDAR_FEATURES = [
    "dayofweek",
    "day",
    "month",
    "dayofyear",
    "payday",
    "after_payday",
    "holiday",
    "holiday_eve",
    "days_since_start",
]
PRODUCT_FEATURES = ["item", "family", "class", "perishable"]
INPUT_FEATURES = ["onpromotion"]
FEATURE_NAMES = PRODUCT_FEATURES + INPUT_FEATURES + CALENDAR_FEATURES

_ITEM_CODE = {p.item_nbr: i for i, p in enumerate(CATALOGUE)}
_FAMILY_CODE = {f: i for i, f in enumerate(FAMILIES)}


def parse_dates(values: pd.Series) -> pd.DatetimeIndex:
    """Parse a date column (ISO strings, dates, datetimes) to normalised datetimes.

    Unparseable, impossible or out-of-range (2000–2100) values raise a pt-BR error.
    """
    raw = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
    else:
        stripped = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
        parsed = pd.Series(pd.to_datetime(stripped, format="ISO8601", errors="coerce"))
    bad = parsed.isna()
    if bad.any():
        example = raw[bad].iloc[0]
        raise InvalidInputError(
            f"Data inválida em {int(bad.sum())} linha(s), por exemplo {example!r} "
            "(use o formato AAAA-MM-DD)."
        )
    days = pd.DatetimeIndex(parsed).normalize()
    low, high = pd.Timestamp("2000-01-01"), pd.Timestamp("2100-12-31")
    outside = (days < low) | (days > high)
    if outside.any():
        example = days[outside][0].date().isoformat()
        raise InvalidInputError(f"Data fora do intervalo aceito (2000–2100): {example}.")
    return days


def _flags(values: pd.Series) -> np.ndarray:
    raw = pd.Series(values).reset_index(drop=True)
    if raw.isna().any():
        raise InvalidInputError("Valor ausente em 'onpromotion' (use verdadeiro/falso).")
    if pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype=bool)
    if pd.api.types.is_numeric_dtype(raw) and raw.isin([0, 1]).all():
        return raw.to_numpy(dtype=bool)
    mapping = {"true": True, "1": True, "sim": True, "false": False, "0": False, "não": False}
    mapped = raw.astype(str).str.strip().str.casefold().map(mapping)
    if mapped.isna().any():
        example = raw[mapped.isna()].iloc[0]
        raise InvalidInputError(f"Valor inválido para 'onpromotion': {example!r} (use sim/não).")
    return mapped.to_numpy(dtype=bool)


def make_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Model features for rows with columns ``date, item_nbr, onpromotion``.

    Returns a DataFrame with :data:`FEATURE_NAMES` columns (all numeric) and the input's index.
    Bad dates, unknown products or bad flags raise :class:`InvalidInputError` (pt-BR).
    """
    missing = [c for c in ("date", "item_nbr", "onpromotion") if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"Coluna(s) obrigatória(s) ausente(s): {', '.join(missing)}")
    days = parse_dates(frame["date"])
    items = pd.Series(frame["item_nbr"]).reset_index(drop=True).astype(str).str.strip()
    unknown = sorted(set(items) - set(_ITEM_CODE))
    if unknown:
        product_by_item(unknown[0])  # raises the pt-BR "Produto desconhecido" error
    products = [product_by_item(i) for i in items]
    holiday, holiday_eve = holiday_flags(days)
    dom = np.asarray(days.day)
    epoch = pd.Timestamp(TREND_EPOCH)
    out = pd.DataFrame(
        {
            "item": [_ITEM_CODE[p.item_nbr] for p in products],
            "family": [_FAMILY_CODE[p.family] for p in products],
            "class": [p.class_ for p in products],
            "perishable": [int(p.perishable) for p in products],
            "onpromotion": _flags(frame["onpromotion"]).astype(np.int64),
            "dayofweek": np.asarray(days.day_of_week),
            "day": dom,
            "month": np.asarray(days.month),
            "dayofyear": np.asarray(days.day_of_year),
            "payday": ((dom == 15) | np.asarray(days.is_month_end)).astype(np.int64),
            "after_payday": ((dom == 16) | (dom == 1)).astype(np.int64),
            "holiday": holiday.astype(np.int64),
            "holiday_eve": holiday_eve.astype(np.int64),
            "days_since_start": np.asarray((days - epoch).days),
        },
        index=frame.index,
    )
    return out[FEATURE_NAMES].astype(np.float64)


def feature_matrix(frame: pd.DataFrame) -> np.ndarray:
    """:func:`make_features` as a float64 array (the estimator's input)."""
    return make_features(frame).to_numpy(dtype=np.float64)


class RowFeaturizer:
    """Single-row features by lookup, built from :func:`make_features` (identical output).

    Calendar vectors are precomputed for ``preload`` (a date range) and computed (then cached)
    on demand for any other valid day.
    """

    def __init__(
        self, preload: tuple[date, date] | None = (date(2020, 1, 1), date(2030, 12, 31))
    ) -> None:
        n = len(FEATURE_NAMES)
        self._calendar_idx = np.array([FEATURE_NAMES.index(c) for c in CALENDAR_FEATURES])
        self._product_idx = np.array([FEATURE_NAMES.index(c) for c in PRODUCT_FEATURES])
        self._promo_idx = FEATURE_NAMES.index("onpromotion")
        self._calendar: dict[date, np.ndarray] = {}
        products = pd.DataFrame(
            {
                "date": [TREND_EPOCH] * len(CATALOGUE),
                "item_nbr": [p.item_nbr for p in CATALOGUE],
                "onpromotion": [False] * len(CATALOGUE),
            }
        )
        table = make_features(products).to_numpy()
        self._product: dict[str, np.ndarray] = {}
        for p, row in zip(CATALOGUE, table, strict=True):
            vec = np.zeros(n)
            vec[self._product_idx] = row[self._product_idx]
            self._product[p.item_nbr] = vec
        self._promo = np.zeros(n)
        self._promo[self._promo_idx] = 1.0
        if preload is not None:
            first, last = preload
            self._load_days([first + timedelta(days=i) for i in range((last - first).days + 1)])

    def _load_days(self, days: list[date]) -> None:
        frame = pd.DataFrame(
            {
                "date": days,
                "item_nbr": [CATALOGUE[0].item_nbr] * len(days),
                "onpromotion": [False] * len(days),
            }
        )
        table = make_features(frame).to_numpy()
        n = len(FEATURE_NAMES)
        for day, row in zip(days, table, strict=True):
            vec = np.zeros(n)
            vec[self._calendar_idx] = row[self._calendar_idx]
            self._calendar[day] = vec

    def row(self, day: date, product: Product, onpromotion: bool) -> np.ndarray:
        """The (1, n_features) feature row; ``day`` must already be a valid ``date``."""
        calendar = self._calendar.get(day)
        if calendar is None:
            self._load_days([parse_date(day)])
            calendar = self._calendar[day]
        vec = calendar + self._product[product.item_nbr]
        if onpromotion:
            vec = vec + self._promo
        return vec.reshape(1, -1)
