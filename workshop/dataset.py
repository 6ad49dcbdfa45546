"""Synthetic daily sales of one grocery store, modelled on Kaggle's Corporación Favorita data.

The original course used one store of the "Corporación Favorita Grocery Sales Forecasting" data,
which cannot be downloaded here. This module generates data with the same columns
(``date, item_nbr, product, family, class, perishable, onpromotion, unit_sales``) and the effects a
retail analyst recognises. Everything is a deterministic function of ``(seed, day, product)``:

* :func:`expected_sales` — the mean demand ``μ`` of a product on a day::

      μ = base · weekday[family][dow] · payday · holiday · season · trend · promotion · regime

  - **weekday**: per-family weekly profile (Saturday peak; bread peaks on Sunday; produce has a
    "quarta verde" Wednesday);
  - **payday**: the 15th and the last day of the month (×1.12–1.35 by family) and, weaker, the day
    after (as in Favorita, where public wages are paid on those days);
  - **holiday**: Brazilian national holidays from the ``holidays`` package: ×0.7 on the holiday
    (×0.3 on Christmas and New Year's Day), ×1.25 on the eve (×1.6, ×2.0 for drinks, on Dec 24/31);
  - **season**: a December ramp up to Christmas, a January lull, and a summer peak (mid-January,
    strongest for drinks);
  - **trend**: +6 % a year since 2024-01-01 (:data:`TREND_EPOCH`);
  - **promotion**: ×1.4–2.1 by family when ``onpromotion`` is true;
  - **regime**: the optional :class:`RegimeChange` (e.g. a competitor opens: one family's demand
    is multiplied by ``factor`` from ``start`` on).
* :func:`actuals_frame` / :func:`actuals` — the ground truth ("what was really sold"): a negative
  binomial draw with mean ``μ`` (overdispersed counts, variance ``μ + μ²/30``) and an occasional
  stock-out (0 sales, probability 0.1 %). The random numbers come from a counter-based hash of
  ``(seed, day, item_nbr)``, so a day's actual does not depend on which other rows are asked for,
  and it exists for ANY day — also after the history, which the feedback loop (notebook 06) uses.
  The same uniform number is used with and without promotion, so promotion never lowers sales.
* :func:`promotion_flags` — the store's promotion calendar in the history: week-long campaigns
  ("encarte semanal") per product, 10–20 % of the weeks.
* :func:`generate_history` — two years (2024–2025 by default) of every product on every day.

Knobs: ``seed`` (another synthetic store), ``start``/``end`` (history range) and ``regime``
(a :class:`RegimeChange` or a sequence of them). Nothing here reads the environment.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import holidays
import numpy as np
import pandas as pd

from workshop.errors import InvalidInputError

DEFAULT_SEED = 2017  # the year of the Favorita competition
HISTORY_START = date(2024, 1, 1)
HISTORY_END = date(2025, 12, 31)
TREND_EPOCH = date(2024, 1, 1)
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
# What the model can honestly answer (issue 13: 2100-12-31 "predicted" 21,293 litres of milk):
# from the first day it learned from to three years past the last one. The trend term is an
# extrapolation; further out it is fiction. The API, the form and the widget refuse the rest.
FORECAST_START = HISTORY_START
FORECAST_END = date(HISTORY_END.year + 3, 12, 31)

COLUMNS = [
    "date",
    "item_nbr",
    "product",
    "family",
    "class",
    "perishable",
    "onpromotion",
    "unit_sales",
]

# Generator constants (documented in the module docstring).
DISPERSION = 30.0  # negative binomial size: variance = μ + μ²/DISPERSION
STOCKOUT_PROBABILITY = 0.001
TREND_PER_YEAR = 0.06


@dataclass(frozen=True)
class Product:
    """One catalogue item, with Favorita's attributes and a pt-BR name."""

    item_nbr: str
    product: str
    family: str
    class_: int
    perishable: bool


@dataclass(frozen=True)
class _Demand:
    base: float  # mean daily units on an ordinary weekday, before trend
    promo_rate: float  # share of weeks with a promotion campaign


@dataclass(frozen=True)
class RegimeChange:
    """From ``start`` on, the mean demand of ``family`` is multiplied by ``factor``.

    The default ``factor=0.7`` is "a competitor opened next door: this family sells 30 % less".
    Pass it as ``regime=`` to :func:`generate_history`, :func:`actuals` and
    :func:`actuals_frame`; days before ``start`` are unchanged.
    """

    family: str
    start: date
    factor: float = 0.7

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise InvalidInputError(
                f"Família desconhecida: {self.family!r} (use uma de: {', '.join(FAMILIES)})"
            )
        if not isinstance(self.start, date):
            object.__setattr__(self, "start", parse_date(self.start))
        if isinstance(self.start, datetime):
            object.__setattr__(self, "start", self.start.date())
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise InvalidInputError(
                f"Fator da mudança de regime deve ser positivo: {self.factor!r}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "start": self.start.isoformat(), "factor": self.factor}


_CATALOGUE_SPEC: tuple[tuple[Product, _Demand], ...] = (
    (Product("103520", "Leite integral 1L", "LATICÍNIOS", 2112, True), _Demand(165, 0.15)),
    (Product("103665", "Queijo muçarela 500g", "LATICÍNIOS", 2124, True), _Demand(42, 0.12)),
    (Product("105574", "Iogurte natural 170g", "LATICÍNIOS", 2136, True), _Demand(66, 0.18)),
    (Product("108079", "Manteiga 200g", "LATICÍNIOS", 2114, True), _Demand(27, 0.10)),
    (Product("114790", "Sabão em pó 1kg", "LIMPEZA", 3008, False), _Demand(48, 0.18)),
    (Product("115267", "Detergente líquido 500ml", "LIMPEZA", 3010, False), _Demand(72, 0.15)),
    (Product("116018", "Água sanitária 2L", "LIMPEZA", 3012, False), _Demand(33, 0.12)),
    (Product("119024", "Arroz branco 5kg", "MERCEARIA", 1040, False), _Demand(54, 0.15)),
    (Product("119141", "Feijão carioca 1kg", "MERCEARIA", 1042, False), _Demand(60, 0.12)),
    (Product("120312", "Café torrado 500g", "MERCEARIA", 1046, False), _Demand(45, 0.20)),
    (Product("121530", "Açúcar refinado 1kg", "MERCEARIA", 1048, False), _Demand(51, 0.10)),
    (Product("153239", "Refrigerante de cola 2L", "BEBIDAS", 1120, False), _Demand(90, 0.20)),
    (Product("153395", "Suco de laranja 1L", "BEBIDAS", 1124, False), _Demand(36, 0.15)),
    (Product("153612", "Água mineral 1,5L", "BEBIDAS", 1126, False), _Demand(78, 0.10)),
    (Product("165718", "Pão francês (kg)", "PADARIA", 2712, True), _Demand(120, 0.10)),
    (Product("165894", "Pão de forma 500g", "PADARIA", 2714, True), _Demand(39, 0.15)),
    (Product("172046", "Banana prata (kg)", "HORTIFRÚTI", 2502, True), _Demand(84, 0.12)),
    (Product("172233", "Tomate (kg)", "HORTIFRÚTI", 2504, True), _Demand(57, 0.15)),
    (Product("181001", "Sabonete 90g", "HIGIENE PESSOAL", 4102, False), _Demand(63, 0.15)),
    (
        Product("181248", "Papel higiênico 12 rolos", "HIGIENE PESSOAL", 4110, False),
        _Demand(30, 0.18),
    ),
    (Product("182107", "Creme dental 90g", "HIGIENE PESSOAL", 4104, False), _Demand(42, 0.12)),
)

CATALOGUE: tuple[Product, ...] = tuple(p for p, _ in _CATALOGUE_SPEC)
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(p.family for p in CATALOGUE))
_DEMAND = {p.item_nbr: d for p, d in _CATALOGUE_SPEC}
_BY_ITEM = {p.item_nbr: p for p in CATALOGUE}


def _name_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


_BY_NAME = {_name_key(p.product): p for p in CATALOGUE}

# Monday=0 … Sunday=6; each profile is normalised to mean 1 below.
_WEEKDAY = {
    "default": (0.80, 0.78, 0.86, 0.92, 1.10, 1.55, 1.05),
    "PADARIA": (0.90, 0.88, 0.90, 0.94, 1.05, 1.30, 1.50),
    "HORTIFRÚTI": (0.80, 0.85, 1.40, 0.88, 1.00, 1.45, 0.85),
    "BEBIDAS": (0.75, 0.72, 0.80, 0.90, 1.20, 1.70, 1.25),
}
_PAYDAY = {"LIMPEZA": 1.35, "MERCEARIA": 1.35, "HIGIENE PESSOAL": 1.30, "BEBIDAS": 1.2}
_PAYDAY_DEFAULT = 1.12  # perishables: bought every few days anyway
_PROMO_UPLIFT = {
    "LATICÍNIOS": 1.6,
    "LIMPEZA": 2.0,
    "MERCEARIA": 1.7,
    "BEBIDAS": 2.1,
    "PADARIA": 1.4,
    "HORTIFRÚTI": 1.7,
    "HIGIENE PESSOAL": 1.8,
}
_SUMMER_AMPLITUDE = {"BEBIDAS": 0.25, "HORTIFRÚTI": 0.08}
_SUMMER_DEFAULT = 0.04


# --------------------------------------------------------------------------- lookups & parsing


def product_by_item(item_nbr: str | int) -> Product:
    """The catalogue product with this ``item_nbr`` (str or int)."""
    product = _BY_ITEM.get(str(item_nbr).strip())
    if product is None:
        raise InvalidInputError(
            f"Produto desconhecido: item_nbr {str(item_nbr).strip()!r}. Os códigos aceitos estão "
            "em dataset.CATALOGUE (a tabela do catálogo no notebook 01, "
            "dataset.catalogue_frame())."
        )
    return product


def product_by_name(name: str) -> Product:
    """The catalogue product with this pt-BR name (case and extra spaces are ignored)."""
    product = _BY_NAME.get(_name_key(str(name)))
    if product is None:
        raise InvalidInputError(
            f"Produto desconhecido: {name!r}. Produtos disponíveis: "
            + ", ".join(p.product for p in CATALOGUE)
        )
    return product


def resolve_product(value: Product | str | int) -> Product:
    """A :class:`Product`, an ``item_nbr`` (digits) or a product name → :class:`Product`."""
    if isinstance(value, Product):
        return value
    text = str(value).strip()
    if text.isdigit():
        return product_by_item(text)
    return product_by_name(text)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_date(value: date | datetime | str | Any, *, bounded: bool = True) -> date:
    """A ``datetime.date`` from a date, datetime, pandas Timestamp or ISO string ``AAAA-MM-DD``.

    Unparseable or impossible dates, and dates outside 2000–2100, raise
    :class:`InvalidInputError` with a pt-BR message.
    """
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            raise InvalidInputError("Data ausente: informe uma data no formato AAAA-MM-DD.")
        value = value.date()
    elif isinstance(value, np.datetime64):
        if np.isnat(value):
            raise InvalidInputError("Data ausente: informe uma data no formato AAAA-MM-DD.")
        value = pd.Timestamp(value).date()
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        text = value.strip()
        if not _ISO_DATE.match(text):
            raise InvalidInputError(f"Data inválida: {value!r} (use o formato AAAA-MM-DD).")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"Data inexistente: {value!r} (confira dia e mês).") from None
    else:
        raise InvalidInputError(f"Data inválida: {value!r} (use o formato AAAA-MM-DD).")
    if bounded and not MIN_DATE <= day <= MAX_DATE:
        raise InvalidInputError(
            f"Data fora do intervalo aceito ({MIN_DATE.year}–{MAX_DATE.year}): {day.isoformat()}."
        )
    return day


def parse_flag(value: Any) -> bool:
    """``onpromotion`` as a bool: bool, 0/1 or "true"/"false"/"sim"/"não"."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and int(value) in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in {"true", "1", "sim", "s", "yes"}:
            return True
        if text in {"false", "0", "não", "nao", "n", "no"}:
            return False
    raise InvalidInputError(f"Valor inválido para 'em promoção': {value!r} (use sim/não).")


@functools.lru_cache(maxsize=256)
def _holidays_of_year(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("BR", years=year, language="pt_BR").items())


def brazil_holidays(years: Iterable[int]) -> dict[date, str]:
    """Brazilian national holidays (pt-BR names) of the given years, from ``holidays``."""
    out: dict[date, str] = {}
    for year in sorted(set(years)):
        out.update(_holidays_of_year(int(year)))
    return out


# --------------------------------------------------------------------------- vectorised core


def _as_days(values: Any) -> pd.DatetimeIndex:
    """Normalised datetimes for a column of dates (date objects, strings or datetimes)."""
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(values).reset_index(drop=True)))
    return idx.normalize()


def holiday_flags(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(is_holiday, is_holiday_eve) for each day."""
    if len(days) == 0:
        empty = np.zeros(0, dtype=bool)
        return empty, empty
    years = range(int(days.year.min()), int(days.year.max()) + 2)
    table = pd.DatetimeIndex(sorted(pd.Timestamp(d) for d in brazil_holidays(years)))
    is_holiday = np.asarray(days.isin(table))
    is_eve = np.asarray((days + pd.Timedelta(days=1)).isin(table))
    return is_holiday, is_eve


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _uniform(seed: int, keys: np.ndarray, items: np.ndarray, stream: int) -> np.ndarray:
    """Counter-based uniforms in (0, 1): a pure function of (seed, key, item, stream)."""
    with np.errstate(over="ignore"):
        x = _splitmix64(np.full(len(keys), np.uint64(seed % 2**63), dtype=np.uint64))
        x = _splitmix64(x ^ keys.astype(np.int64).astype(np.uint64))
        x = _splitmix64(x ^ items.astype(np.uint64))
        x = _splitmix64(x ^ np.uint64(stream))
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) / float(2**53)


def _epoch_days(days: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(days.values.astype("datetime64[D]").astype(np.int64))


def _regimes(regime: RegimeChange | Sequence[RegimeChange] | None) -> list[RegimeChange]:
    if regime is None:
        return []
    if isinstance(regime, RegimeChange):
        return [regime]
    items = list(regime)
    for r in items:
        if not isinstance(r, RegimeChange):
            raise InvalidInputError(f"Mudança de regime inválida: {r!r}")
    return items


def _products_of(items: Any) -> list[Product]:
    return [product_by_item(i) for i in pd.Series(items).astype(str)]


def expected_sales(
    frame: pd.DataFrame, *, regime: RegimeChange | Sequence[RegimeChange] | None = None
) -> pd.Series:
    """Mean demand μ for rows with columns ``date, item_nbr, onpromotion`` (no noise)."""
    days = _as_days(frame["date"])
    products = _products_of(frame["item_nbr"])
    family = np.array([p.family for p in products], dtype=object)
    base = np.array([_DEMAND[p.item_nbr].base for p in products])
    promo = np.asarray(frame["onpromotion"], dtype=bool)

    dow = np.asarray(days.day_of_week)
    profiles = np.array([_WEEKDAY.get(f, _WEEKDAY["default"]) for f in FAMILIES])
    profiles = profiles / profiles.mean(axis=1, keepdims=True)
    family_idx = np.array([FAMILIES.index(f) for f in family], dtype=np.int64)
    weekday = profiles[family_idx, dow]

    dom = np.asarray(days.day)
    month = np.asarray(days.month)
    month_end = np.asarray(days.is_month_end)
    payday_mult = np.array([_PAYDAY.get(f, _PAYDAY_DEFAULT) for f in family])
    is_payday = (dom == 15) | month_end
    after_payday = (dom == 16) | (dom == 1)
    payday = np.where(is_payday, payday_mult, np.where(after_payday, 1 + (payday_mult - 1) / 3, 1))

    is_holiday, is_eve = holiday_flags(days)
    big_day = ((month == 12) & (dom == 25)) | ((month == 1) & (dom == 1))
    big_eve = (month == 12) & ((dom == 24) | (dom == 31))
    drinks = family == "BEBIDAS"
    holiday = np.ones(len(days))
    holiday = np.where(is_eve, 1.25, holiday)
    holiday = np.where(big_eve, np.where(drinks, 2.0, 1.6), holiday)
    holiday = np.where(is_holiday, 0.7, holiday)
    holiday = np.where(big_day, 0.3, holiday)

    doy = np.asarray(days.day_of_year)
    amplitude = np.array([_SUMMER_AMPLITUDE.get(f, _SUMMER_DEFAULT) for f in family])
    season = 1 + amplitude * np.cos(2 * np.pi * (doy - 20) / 365.25)
    december = (month == 12) & (dom <= 24)
    season = season * np.where(december, 1 + 0.45 * (dom / 24) ** 1.5, 1.0)
    season = season * np.where((month == 12) & (dom > 25), 1.15, 1.0)
    season = season * np.where((month == 1) & (dom <= 20), 0.92, 1.0)

    years = (_epoch_days(days) - _epoch_days(pd.DatetimeIndex([TREND_EPOCH]))[0]) / 365.25
    trend = (1 + TREND_PER_YEAR) ** years

    uplift = np.where(promo, np.array([_PROMO_UPLIFT[f] for f in family]), 1.0)

    mu = base * weekday * payday * holiday * season * trend * uplift
    for r in _regimes(regime):
        hit = (family == r.family) & np.asarray(days >= pd.Timestamp(r.start))
        mu = np.where(hit, mu * r.factor, mu)
    return pd.Series(mu, index=frame.index, name="expected_sales")


def actuals_frame(
    frame: pd.DataFrame,
    *,
    seed: int = DEFAULT_SEED,
    regime: RegimeChange | Sequence[RegimeChange] | None = None,
) -> pd.Series:
    """Ground-truth unit sales for rows with columns ``date, item_nbr, onpromotion``.

    Deterministic per ``(seed, day, item_nbr, onpromotion)`` whatever the other rows are.
    """
    for col in ("date", "item_nbr", "onpromotion"):
        if col not in frame.columns:
            raise InvalidInputError(f"Coluna obrigatória ausente: {col!r}")
    if len(frame) == 0:
        return pd.Series([], index=frame.index, name="unit_sales", dtype=float)
    mu = expected_sales(frame, regime=regime).to_numpy()
    days = _as_days(frame["date"])
    keys = _epoch_days(days)
    items = pd.Series(frame["item_nbr"]).astype(str).astype(np.int64).to_numpy()
    u_noise = _uniform(seed, keys, items, stream=1)
    u_stock = _uniform(seed, keys, items, stream=2)
    p = DISPERSION / (DISPERSION + mu)
    from scipy.stats import nbinom  # 0.65 s of import: only where the data is generated

    sales = nbinom.ppf(u_noise, DISPERSION, p)
    sales = np.where(u_stock < STOCKOUT_PROBABILITY, 0.0, sales)
    return pd.Series(sales.astype(np.float64), index=frame.index, name="unit_sales")


def actuals(
    date: date | str,  # the contract's parameter name (shadows the type inside)
    item_nbr: str | int,
    onpromotion: bool,
    *,
    seed: int = DEFAULT_SEED,
    regime: RegimeChange | Sequence[RegimeChange] | None = None,
) -> float:
    """The ground-truth unit sales of one product on one day (any day, also in the future)."""
    row = pd.DataFrame(
        {
            "date": [parse_date(date)],
            "item_nbr": [product_by_item(item_nbr).item_nbr],
            "onpromotion": [parse_flag(onpromotion)],
        }
    )
    return float(actuals_frame(row, seed=seed, regime=regime).iloc[0])


def promotion_flags(frame: pd.DataFrame, *, seed: int = DEFAULT_SEED) -> pd.Series:
    """The store's promotion calendar: week-long campaigns per product (ISO weeks)."""
    days = _as_days(frame["date"])
    items = pd.Series(frame["item_nbr"]).astype(str)
    rate = items.map(lambda i: _DEMAND[product_by_item(i).item_nbr].promo_rate).to_numpy()
    monday = _epoch_days(days) - np.asarray(days.day_of_week)  # one key per ISO week
    u = _uniform(seed, monday, items.astype(np.int64).to_numpy(), stream=3)
    return pd.Series(u < rate, index=frame.index, name="onpromotion")


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a DataFrame (item_nbr, product, family, class, perishable)."""
    return pd.DataFrame(
        {
            "item_nbr": [p.item_nbr for p in CATALOGUE],
            "product": [p.product for p in CATALOGUE],
            "family": [p.family for p in CATALOGUE],
            "class": [p.class_ for p in CATALOGUE],
            "perishable": [p.perishable for p in CATALOGUE],
        }
    )


def with_product_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Add/overwrite product, family, class, perishable from the catalogue (by item_nbr)."""
    out = frame.copy()
    out["item_nbr"] = out["item_nbr"].astype(str).str.strip()
    unknown = sorted(set(out["item_nbr"]) - set(_BY_ITEM))
    if unknown:
        raise InvalidInputError(f"Produto desconhecido: item_nbr {', '.join(unknown[:5])}")
    cat = catalogue_frame().set_index("item_nbr")
    for col in ("product", "family", "class", "perishable"):
        out[col] = out["item_nbr"].map(cat[col])
    out["class"] = out["class"].astype(np.int64)
    out["perishable"] = out["perishable"].astype(bool)
    return out


def generate_history(
    seed: int = DEFAULT_SEED,
    start: date = HISTORY_START,
    end: date = HISTORY_END,
    regime: RegimeChange | Sequence[RegimeChange] | None = None,
) -> pd.DataFrame:
    """Every catalogue product on every day from ``start`` to ``end`` (inclusive).

    Columns: ``date`` (datetime64), ``item_nbr``, ``product``, ``family``, ``class``,
    ``perishable``, ``onpromotion``, ``unit_sales`` (float, like Favorita's).
    """
    start, end = parse_date(start), parse_date(end)
    if end < start:
        raise InvalidInputError(
            f"Período inválido: o fim ({end.isoformat()}) é anterior ao início "
            f"({start.isoformat()})."
        )
    days = pd.date_range(start, end, freq="D")
    grid = pd.DataFrame(
        {
            "date": np.repeat(days.values, len(CATALOGUE)),
            "item_nbr": np.tile([p.item_nbr for p in CATALOGUE], len(days)),
        }
    )
    grid["onpromotion"] = promotion_flags(grid, seed=seed)
    grid["unit_sales"] = actuals_frame(grid, seed=seed, regime=regime)
    return with_product_columns(grid)[COLUMNS]
