"""timebase.clock: the m:ss.s form the CLI prints times in."""

from __future__ import annotations

from chronolens.timebase import clock


def test_clock_minutes_and_tenths() -> None:
    assert clock(0.0) == "0:00.0"
    assert clock(9.94) == "0:09.9"
    assert clock(75.25) == "1:15.2"
    assert clock(3600.0) == "60:00.0"
