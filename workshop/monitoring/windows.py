"""Time windows: the half-open ``[start, end)`` interval every monitoring query takes.

``start``/``end`` accept datetimes (naive = local time), dates (midnight UTC), ``timedelta``, ISO
strings and relative strings like "15m", "1h", "7d" (that long before now); :func:`time_window`
resolves them into a :class:`TimeWindow` in UTC, or raises :class:`InvalidWindowError` (pt-BR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from workshop.errors import InvalidInputError

#: Units accepted in relative windows ("15m", "1h", "7d"): seconds, minutes, hours, days, weeks.
_RELATIVE_UNITS: dict[str, str] = {
    "s": "seconds",
    "seg": "seconds",
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
    "sem": "weeks",
}
_RELATIVE = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$", re.IGNORECASE)
_WINDOW_HELP = (
    "Use um intervalo relativo como '15m', '1h' ou '7d' (unidades s, m, h, d, w) ou uma data/hora "
    "ISO como '2026-11-27T10:00:00Z'."
)

TimeLike = datetime | date | timedelta | str


class InvalidWindowError(InvalidInputError):
    """A time window that cannot be understood (pt-BR message)."""


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval ``[start, end)`` of ``@timestamp``, in UTC, millisecond resolution."""

    start: datetime
    end: datetime

    def range_query(self, field: str = "@timestamp") -> dict[str, Any]:
        """The Query DSL clause selecting the window."""
        return {
            "range": {
                field: {
                    "gte": _iso_ms(self.start),
                    "lt": _iso_ms(self.end),
                    "format": "strict_date_optional_time",
                }
            }
        }

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def label(self) -> str:
        """pt-BR description, e.g. ``27/11/2026 14:20:00 → 27/11/2026 15:20:00 UTC``."""
        fmt = "%d/%m/%Y %H:%M:%S"
        return f"{self.start:{fmt}} → {self.end:{fmt}} UTC"

    def to_dict(self) -> dict[str, str]:
        return {"start": _iso_ms(self.start), "end": _iso_ms(self.end)}


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_moment(value: TimeLike, now: datetime, what: str) -> datetime:
    """One bound: relative strings and timedeltas count back from ``now``.

    A naive datetime is taken as the machine's local time (what ``datetime.now()`` gives); a
    ``date`` is midnight UTC of that day.
    """
    if isinstance(value, datetime):  # also pandas.Timestamp
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise InvalidWindowError(
                f"Janela de tempo inválida para o {what}: a duração não pode ser negativa "
                f"({value}). {_WINDOW_HELP}"
            )
        return now - value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in {"now", "agora"}:
            return now
        match = _RELATIVE.match(text)
        if match:
            unit = _RELATIVE_UNITS.get(match.group(2).lower())
            if unit is None:
                raise InvalidWindowError(
                    f"Unidade de tempo desconhecida em {value!r} para o {what}. {_WINDOW_HELP}"
                )
            try:
                return now - timedelta(**{unit: int(match.group(1))})
            except (OverflowError, ValueError):  # e.g. 99999999999d: before year 1
                from workshop.errors import ArgumentError

                raise ArgumentError(
                    f"Janela de tempo grande demais para o {what}: {value!r}. {_WINDOW_HELP}"
                ) from None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parsed.astimezone(UTC)
    raise InvalidWindowError(f"Janela de tempo inválida para o {what}: {value!r}. {_WINDOW_HELP}")


def _floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _ceil_ms(moment: datetime) -> datetime:
    floor = _floor_ms(moment)
    return floor if floor == moment else floor + timedelta(milliseconds=1)


def time_window(
    start: TimeLike | TimeWindow = "1h", end: TimeLike | None = None, *, now: datetime | None = None
) -> TimeWindow:
    """Resolve ``start``/``end`` into a :class:`TimeWindow`.

    ``start`` and ``end`` accept datetimes (naive = local time), dates (midnight UTC),
    ``timedelta`` or relative strings ("15m", "1h", "7d", "2w": that long before now) and ISO
    strings. ``end=None`` means now. The bounds are widened to whole milliseconds (the resolution
    of Elasticsearch dates) so that no event at the edges is lost. Bad input raises
    :class:`InvalidWindowError` with a pt-BR message.
    """
    if isinstance(start, TimeWindow):
        if end is not None:
            raise InvalidWindowError("Passe uma TimeWindow sozinha, sem um fim separado.")
        return start
    now = (now or datetime.now(UTC)).astimezone(UTC)
    begin = _parse_moment(start, now, "início")
    finish = now if end is None else _parse_moment(end, now, "fim")
    if begin >= finish:
        raise InvalidWindowError(
            f"Janela de tempo vazia: o início ({_iso_ms(begin)}) precisa ser anterior ao fim "
            f"({_iso_ms(finish)})."
        )
    return TimeWindow(_floor_ms(begin), _ceil_ms(finish))
