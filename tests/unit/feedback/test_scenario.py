"""feedback.scenario: the scenario's dates, validation and file; parsing days."""

from __future__ import annotations

from datetime import date

import pytest

from workshop import dataset
from workshop.config import get_settings
from workshop.errors import InvalidInputError
from workshop.feedback.scenario import (
    Scenario,
    default_as_of,
    load_scenario,
    parse_day,
    save_scenario,
    today_utc,
)


def test_scenario_dates_and_validation(tmp_path, monkeypatch) -> None:
    scenario = Scenario()
    assert scenario.as_of == date(2026, 2, 9)
    assert scenario.traffic_start.weekday() == 0 and scenario.traffic_days % 7 == 0
    assert scenario.eval_start == scenario.as_of
    assert (scenario.eval_end - scenario.eval_start).days == scenario.eval_days - 1
    assert scenario.traffic_start < scenario.change_start < scenario.as_of
    assert scenario.regime == dataset.RegimeChange("LATICÍNIOS", date(2026, 1, 1), 0.7)
    with pytest.raises(InvalidInputError, match="Família desconhecida"):
        Scenario(family="BRINQUEDOS")
    with pytest.raises(InvalidInputError):
        Scenario(traffic_days=0)
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path))
    settings = get_settings()
    assert load_scenario(settings) is None
    assert default_as_of(None, settings) == today_utc()
    custom = Scenario(family="BEBIDAS", factor=0.6)
    save_scenario(custom, settings)
    assert load_scenario(settings) == custom
    assert default_as_of(None, settings) == custom.as_of


def test_parse_day() -> None:
    assert parse_day("2026-01-05T10:00:00Z") == date(2026, 1, 5)
    assert parse_day(None, default=date(2026, 1, 1)) == date(2026, 1, 1)
    with pytest.raises(InvalidInputError):
        parse_day("05/01/2026")
