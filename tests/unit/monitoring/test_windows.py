"""Time-window parsing (workshop.monitoring.windows): pure functions, no servers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from workshop import monitoring
from workshop.errors import InvalidInputError

NOW = datetime(2026, 11, 27, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("15min", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        (" 2 H ", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_relative_windows(text, delta) -> None:
    window = monitoring.time_window(text, now=NOW)
    assert window.end == NOW
    assert window.start == NOW - delta
    assert window.seconds == delta.total_seconds()


def test_absolute_windows_and_types() -> None:
    window = monitoring.time_window("2026-11-27T10:00:00Z", "2026-11-27T12:00:00+01:00", now=NOW)
    assert window.start == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert window.end == datetime(2026, 11, 27, 11, tzinfo=UTC)
    by_date = monitoring.time_window(date(2026, 11, 1), date(2026, 11, 2), now=NOW)
    assert by_date.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert by_date.seconds == 86_400
    brt = timezone(timedelta(hours=-3))
    aware = monitoring.time_window(datetime(2026, 11, 27, 9, tzinfo=brt), "now", now=NOW)
    assert aware.start == datetime(2026, 11, 27, 12, tzinfo=UTC)
    by_delta = monitoring.time_window(timedelta(minutes=5), now=NOW)
    assert by_delta.start == NOW - timedelta(minutes=5)
    assert monitoring.time_window(window) is window


def test_naive_datetime_is_local_time() -> None:
    naive = datetime(2026, 11, 27, 10, 0, 0)
    window = monitoring.time_window(naive, now=NOW)
    assert window.start == naive.astimezone(UTC)


def test_window_is_widened_to_whole_milliseconds_and_renders_the_query() -> None:
    start = datetime(2026, 11, 27, 10, 0, 0, 123_456, tzinfo=UTC)
    end = datetime(2026, 11, 27, 10, 0, 1, 987_001, tzinfo=UTC)
    window = monitoring.time_window(start, end, now=NOW)
    assert window.start.microsecond == 123_000
    assert window.end.microsecond == 988_000
    clause = window.range_query()["range"]["@timestamp"]
    assert clause["gte"] == "2026-11-27T10:00:00.123Z"
    assert clause["lt"] == "2026-11-27T10:00:01.988Z"
    assert window.label() == "27/11/2026 10:00:00 → 27/11/2026 10:00:01 UTC"


@pytest.mark.parametrize("bad", ["ontem", "1 hora", "5x", "-1h", "", "2026-13-01", "1.5h", 42])
def test_bad_window_input_is_a_pt_br_error(bad) -> None:
    with pytest.raises(monitoring.InvalidWindowError) as info:
        monitoring.time_window(bad, now=NOW)  # type: ignore[arg-type]
    message = str(info.value)
    assert "Janela de tempo inválida" in message or "Unidade de tempo desconhecida" in message
    assert "'1h'" in message  # says what to write instead
    assert isinstance(info.value, InvalidInputError)


def test_start_must_precede_end() -> None:
    with pytest.raises(monitoring.InvalidWindowError, match="precisa ser anterior ao fim"):
        monitoring.time_window("1h", "2h", now=NOW)
    with pytest.raises(monitoring.InvalidWindowError, match="duração não pode ser negativa"):
        monitoring.time_window(timedelta(hours=-1), now=NOW)
