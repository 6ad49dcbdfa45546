"""The one wait loop of the kit (workshop.polling.poll): what it returns and when it stops."""

from __future__ import annotations

import pytest

from workshop import polling


def test_returns_the_first_result_that_is_done_without_sleeping_after_it() -> None:
    answers = iter([1, 2, 3, 4])
    calls: list[int] = []

    def probe() -> int:
        calls.append(1)
        return next(answers)

    assert polling.poll(probe, lambda n: n >= 3, timeout=5, interval=0) == 3
    assert len(calls) == 3  # 4 was never asked for


def test_at_the_deadline_it_returns_the_last_result(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    slept: list[float] = []
    monkeypatch.setattr(polling.time, "monotonic", lambda: now[0])

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(polling.time, "sleep", sleep)
    looks = []
    result = polling.poll(lambda: looks.append(now[0]) or len(looks), lambda n: False, timeout=0.25)
    # looks at 100.0, 100.1, 100.2 and once more at the deadline (100.25): never sleeps past it
    assert looks == pytest.approx([100.0, 100.1, 100.2, 100.25])
    assert result == 4
    assert slept == pytest.approx([0.1, 0.1, 0.05])


def test_probes_once_even_with_no_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(polling.time, "sleep", slept.append)
    assert polling.poll(lambda: "x", lambda _: False, timeout=0) == "x"
    assert slept == []  # no pause after the only look
