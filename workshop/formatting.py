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
import re
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


def short(value: float, max_decimals: int = 3) -> str:
    """As few places as the value needs, up to ``max_decimals``: ``0.25`` → ``0,25``, ``100.0`` →
    ``100``, ``1.5`` → ``1,5`` (thresholds and settings, where trailing zeros mean nothing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    pattern = "#,##0" + ("." + "#" * max_decimals if max_decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


def percent(value: float, decimals: int = 1) -> str:
    """``0.3`` → ``30,0 %`` (Babel's pt-BR percent: decimal comma, and the plain space the
    pattern below writes before the sign)."""
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


def month(value: date | datetime | str) -> str:
    """``2025-10`` (or any day of it) → ``10/2025``."""
    if isinstance(value, str):
        value = date.fromisoformat(value[:7] + "-01")
    return format_date(value, format="MM/yyyy", locale=LOCALE)


def seconds(value: float, decimals: int = 1) -> str:
    """A duration: ``0.84`` → ``0,8 s``."""
    return f"{number(value, decimals)} s"


def milliseconds(value: float, decimals: int = 2) -> str:
    """A latency: ``0.1874`` → ``0,19 ms``."""
    return f"{number(value, decimals)} ms"


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
    "mae": "MAE",
    "r2": "R²",
    "mae_old": "MAE (versão antiga)",
    "mae_new": "MAE (versão nova)",
    "psi": "PSI",
    "unit_sales": "vendas (unidades)",
    "class": "classe",
    "perishable": "perecível",
    "source": "origem",
    "kind": "tipo",
    "rule": "regra",
    "version": "versão",
    "state": "estado",
    "value": "valor",
    "threshold": "limite",
    "transition": "mudança",
}

#: Columns whose ISO-day strings (``2026-01-05``) are shown as ``05/01/2026``.
_DAY_COLUMNS = frozenset({"date", "period", "week", "train_start", "train_end"})
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")

#: Columns that hold codes, not quantities: never a thousands separator (``2112``, not ``2.112``).
CODE_COLUMNS = frozenset({"item_nbr", "class", "store_nbr"})


def readable(
    frame: Any,
    decimals: int = 2,
    percent_columns: tuple[str, ...] = (),
    labels: bool = True,
) -> Any:
    """A copy of a DataFrame (or Series) as a participant should read it: pt-BR headers, numbers
    with a decimal comma and ``decimals`` places (``percent_columns`` as percentages), timestamps
    to the second, days as ``dd/mm/aaaa``, booleans as sim/não, codes without separators.

    The index gets the same treatment, so a time-indexed table reads like the others.
    ``labels=False`` keeps the column names: for the dataset's own columns (``unit_sales``,
    ``onpromotion``…), which the notebooks name in code and text."""
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    out = frame.copy()
    for column in out.columns:
        out[column] = _readable_values(
            out[column], str(column), decimals, as_percent=column in percent_columns
        )
    if isinstance(out.index, pd.MultiIndex):
        out.index = pd.MultiIndex.from_arrays(
            [
                _readable_values(out.index.get_level_values(i).to_series(), str(name), decimals)
                for i, name in enumerate(out.index.names)
            ],
            names=out.index.names,
        )
    elif not isinstance(out.index, pd.RangeIndex):
        out.index = pd.Index(
            _readable_values(out.index.to_series(), str(out.index.name), decimals).tolist(),
            name=out.index.name,
        )
    if not labels:
        return out
    out.index.names = [COLUMN_LABELS.get(str(n), n) if n else n for n in out.index.names]
    out.columns.names = [COLUMN_LABELS.get(str(n), n) if n else n for n in out.columns.names]
    return out.rename(columns=lambda c: COLUMN_LABELS.get(str(c), c))


def _readable_values(values: Any, column: str, decimals: int, as_percent: bool = False) -> Any:
    """One column (or index level) of :func:`readable`."""
    import pandas as pd

    def cell(v: Any) -> Any:
        if isinstance(v, bool):
            return "sim" if v else "não"
        if isinstance(v, float):
            return percent_of(v) if as_percent else number(v, decimals)
        if isinstance(v, datetime):
            return moment(v)
        if isinstance(v, date):
            return day(v)
        return v

    def percent_of(v: float) -> str:
        return "—" if math.isnan(v) else percent(v, 1)

    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "sim", False: "não"})
    if pd.api.types.is_float_dtype(values):
        return values.map(lambda v: percent_of(v) if as_percent else number(v, decimals))
    if pd.api.types.is_integer_dtype(values):
        return values.map(str if column in CODE_COLUMNS else integer)
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = values.dropna()
        only_days = column == "date" or (
            len(stamps) > 0 and bool((stamps == stamps.dt.normalize()).all())
        )
        show = day if only_days else moment
        return values.map(lambda v: "—" if pd.isna(v) else show(v.to_pydatetime()))
    if column in ("@timestamp", "labeled_at"):
        return values.map(lambda v: moment(v) if isinstance(v, str) else cell(v))
    if column in _DAY_COLUMNS:
        return values.map(lambda v: day(v) if _ISO_DAY.match(str(v)) else cell(v))
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        return values.map(lambda v: "—" if v is None or v is pd.NA else cell(v)).astype(object)
    return values
