"""Every number and date a participant reads, formatted for pt-BR by Babel: one helper.

Notebooks, plots, the CLI, the form and the widget call these instead of f-strings, so a figure
reads the same everywhere (``183,2``, ``1.234``, ``3,4 × 10⁻²⁶``, ``1 de dez. de 2026``)::

    >>> number(183.16, 1)
    '183,2'
    >>> integer(15351)
    '15.351'
    >>> day(date(2026, 12, 1))
    '01/12/2026'
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

LOCALE = Locale.parse("pt_BR")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def number(value: float, decimals: int = 2) -> str:
    """``1234.567`` → ``1.234,57`` (exactly ``decimals`` places)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def integer(value: float) -> str:
    """``15351`` → ``15.351``."""
    return number(value, 0)


def percent(value: float, decimals: int = 1) -> str:
    """``0.3`` → ``30,0 %`` (Babel's pt-BR percent, with its non-breaking space)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + " %"
    return format_percent(value, format=pattern, locale=LOCALE)


def scientific(value: float, digits: int = 2) -> str:
    """A very small or large number readably: ``3.4e-26`` → ``3,4 × 10⁻²⁶``; else :func:`number`."""
    if value == 0 or 1e-3 <= abs(value) < 1e6:
        return number(value, digits)
    exponent = math.floor(math.log10(abs(value)))
    mantissa = value / 10**exponent
    return f"{number(mantissa, digits - 1)} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def p_value(value: float) -> str:
    """A test's p-value: ``p = 0,012`` or ``p < 0,001`` (no exponent a participant must decode)."""
    return "p < 0,001" if value < 0.001 else f"p = {number(value, 3)}"


def day(value: date | datetime | str) -> str:
    """``2026-12-01`` → ``01/12/2026``."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, format="dd/MM/yyyy", locale=LOCALE)


def day_long(value: date | datetime) -> str:
    """``2026-12-01`` → ``1 de dez. de 2026``."""
    return format_date(value, format="medium", locale=LOCALE)


def moment(value: datetime | str) -> str:
    """A timestamp to the second, in its own zone: ``01/12/2026 09:30:59``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return format_datetime(value, format="dd/MM/yyyy HH:mm:ss", locale=LOCALE)


def axis_number(decimals: int = 1) -> Any:
    """A matplotlib formatter for a numeric axis (``0,1`` not ``0.1``)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: number(x, decimals))


#: pt-BR headers for the columns a participant sees in tables (events, reports, comparisons).
COLUMN_LABELS = {
    "@timestamp": "quando (UTC)",
    "prediction_id": "ID da predição",
    "model_version": "versão do modelo",
    "channel": "canal",
    "date": "data pedida",
    "item_nbr": "código do produto",
    "product": "produto",
    "family": "família",
    "onpromotion": "em promoção",
    "prediction": "previsão",
    "latency_ms": "latência (ms)",
    "actual": "venda real",
    "abs_error": "erro absoluto",
    "labeled_at": "rotulado em (UTC)",
    "period": "período",
    "events": "eventos",
    "labeled": "rotulados",
    "mean_prediction": "previsão média",
    "mean_actual": "venda real média",
    "mean_abs_error": "erro absoluto médio",
    "nwrmsle": "NWRMSLE",
    "nwrmsle_old": "NWRMSLE (versão antiga)",
    "nwrmsle_new": "NWRMSLE (versão nova)",
    "improvement": "melhora",
    "week": "semana",
    "n": "n",
}


def readable(frame: Any, decimals: int = 2) -> Any:
    """A copy of a DataFrame as a participant should read it: pt-BR headers, numbers with a
    decimal comma and ``decimals`` places, timestamps to the second, booleans as sim/não."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            out[column] = values.map({True: "sim", False: "não"})
        elif pd.api.types.is_float_dtype(values):
            out[column] = values.map(lambda v: number(v, decimals))
        elif pd.api.types.is_integer_dtype(values):
            out[column] = values.map(integer)
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.map(lambda v: "—" if pd.isna(v) else moment(v.to_pydatetime()))
        elif column in ("@timestamp", "labeled_at"):
            out[column] = values.map(lambda v: moment(v) if isinstance(v, str) else v)
        elif column == "date":
            out[column] = values.map(lambda v: day(v) if isinstance(v, str) else v)
    out.index.names = [COLUMN_LABELS.get(str(n), n) if n else n for n in out.index.names]
    return out.rename(columns=lambda c: COLUMN_LABELS.get(str(c), c))
