"""``workshop monitor report``'s shares are written as every other percentage of the kit."""

from __future__ import annotations

from workshop import formatting
from workshop.cli.monitor import _counts_line


def test_shares_use_the_kits_percent_format() -> None:
    line = _counts_line({"http": 3, "simulator": 1}, 4)
    assert line == f"http 3 ({formatting.percent(0.75)}) · simulator 1 ({formatting.percent(0.25)})"
    assert "(75,0 %)" in line.replace("\xa0", " ")  # Babel's pt-BR percent: decimal comma
    assert _counts_line({"http": 7}, 7) == f"http 7 ({formatting.percent(1.0)})"
    assert "(100,0 %)" in _counts_line({"http": 7}, 7).replace("\xa0", " ")
    assert _counts_line({}, 0) == "—"
