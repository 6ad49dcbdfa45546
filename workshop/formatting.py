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
