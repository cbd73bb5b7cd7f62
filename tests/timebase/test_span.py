"""timebase.clock: the one ``h:mm:ss.s`` form every human-readable output prints times in."""

from __future__ import annotations

import pytest

from chronolens.timebase import clock


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0:00:00.0"),
        (5.5, "0:00:05.5"),
        (9.94, "0:00:09.9"),
        (75.25, "0:01:15.2"),
        (3600.0, "1:00:00.0"),
        (3723.46, "1:02:03.5"),
        (36000.0, "10:00:00.0"),
    ],
)
def test_clock_hours_minutes_seconds_tenths(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_clock_rounds_before_carrying() -> None:
    # 59.96 s is 1:00.0 rounded to tenths, never "0:00:60.0"; 3599.96 s carries into the hour.
    assert clock(59.96) == "0:01:00.0"
    assert clock(3599.96) == "1:00:00.0"


def test_clock_negative_and_non_finite() -> None:
    assert clock(-1.25) == "-0:00:01.2"
    assert clock(float("nan")) == "?"
