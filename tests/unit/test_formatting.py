"""workshop.formatting: the one Babel (pt_BR) helper for what a participant reads."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from workshop import formatting as fmt
from workshop.dataset import FORECAST_END, FORECAST_START
from workshop.errors import InvalidInputError
from workshop.service.prediction import parse_forecast_date


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (fmt.number(183.16, 1), "183,2"),
        (fmt.number(12345.678), "12.345,68"),
        (fmt.number(-0.5, 2), "-0,50"),
        (fmt.integer(15351), "15.351"),
        (fmt.scientific(3.4e-26), "3,4 × 10⁻²⁶"),
        (fmt.scientific(0.25), "0,25"),
        (fmt.p_value(3.4e-26), "p < 0,001"),
        (fmt.p_value(0.0123), "p = 0,012"),
        (fmt.day(date(2026, 12, 1)), "01/12/2026"),
        (fmt.day("2026-12-01T10:00:00Z"), "01/12/2026"),
        (fmt.moment(datetime(2026, 12, 1, 9, 30, 59, 123456, tzinfo=UTC)), "01/12/2026 09:30:59"),
    ],
)
def test_pt_br_forms(got: str, expected: str) -> None:
    assert got == expected


def test_percent_uses_a_decimal_comma() -> None:
    assert fmt.percent(0.3).replace("\xa0", " ") == "30,0 %"


def test_nan_is_a_dash_not_nan() -> None:
    assert fmt.number(float("nan")) == "—"


def test_the_forecast_horizon_is_the_history_to_three_years_past_it() -> None:
    assert (date(2024, 1, 1), date(2028, 12, 31)) == (FORECAST_START, FORECAST_END)
    assert parse_forecast_date("2028-12-31") == FORECAST_END
    for outside in ("2100-12-31", "1900-01-01", "2023-12-31", "9999-12-31"):
        with pytest.raises(InvalidInputError, match="fora do horizonte do modelo"):
            parse_forecast_date(outside)


def test_readable_tables_have_pt_br_headers_rounded_values_and_seconds() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "@timestamp": "2026-12-01T09:30:59.123456Z",
                "prediction": 183.16789,
                "onpromotion": True,
                "nwrmsle_old": 0.51234567,
                "period": "antes",
            }
        ]
    )
    shown = fmt.readable(frame)
    assert list(shown.columns) == [
        "quando (UTC)",
        "previsão",
        "em promoção",
        "NWRMSLE (versão antiga)",
        "período",
    ]
    assert shown.iloc[0].tolist() == ["01/12/2026 09:30:59", "183,17", "sim", "0,51", "antes"]


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (fmt.short(0.25), "0,25"),
        (fmt.short(100.0), "100"),
        (fmt.short(1.5), "1,5"),
        (fmt.month("2025-10"), "10/2025"),
        (fmt.month(date(2026, 1, 31)), "01/2026"),
        (fmt.seconds(0.84), "0,8 s"),
        (fmt.milliseconds(0.1874), "0,19 ms"),
    ],
)
def test_units_and_short_forms(got: str, expected: str) -> None:
    assert got == expected


def test_readable_formats_the_index_percent_columns_days_and_codes() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "product": ["Leite integral 1L"],
            "proporção": [0.065],
            "class": [2112],
            "eventos": [15351],
            "date": pd.to_datetime(["2026-01-05"]),
            "period": ["2025-12-15"],
        }
    )
    shown = fmt.readable(frame, 3, percent_columns=("proporção",))
    row = [v.replace("\xa0", " ") for v in shown.iloc[0].tolist()]
    assert row == ["Leite integral 1L", "6,5 %", "2112", "15.351", "05/01/2026", "15/12/2025"]
    hourly = pd.DataFrame(
        {"http": [3]}, index=pd.DatetimeIndex(["2026-12-01 09:00:00+00:00"], name="@timestamp")
    )
    assert fmt.readable(hourly).index.tolist() == ["01/12/2026 09:00:00"]
    assert fmt.readable(hourly).index.name == "quando (UTC)"
    raw = fmt.readable(pd.DataFrame({"unit_sales": [64.0], "perishable": [True]}), 0, labels=False)
    assert list(raw.columns) == ["unit_sales", "perishable"]
    assert raw.iloc[0].tolist() == ["64", "sim"]


def test_readable_formats_floats_in_mixed_columns_and_series() -> None:
    import pandas as pd

    mixed = pd.DataFrame({"threshold": [0.25, None], "transition": [float("nan"), "firing"]})
    assert fmt.readable(mixed).values.tolist() == [["0,25", "—"], ["—", "firing"]]
    series = fmt.readable(pd.Series({"Leite integral 1L": 219.63}, name="predição média"), 1)
    assert series.iloc[0, 0] == "219,6"
