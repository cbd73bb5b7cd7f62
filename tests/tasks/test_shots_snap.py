"""``snap_to_shots``: edges move to the nearest shot boundary within the tolerance, else stay."""

from __future__ import annotations

import pytest

from chronolens.tasks.shots import ShotResult, snap_to_shots
from chronolens.tasks.shots.base import shots_from_cuts
from chronolens.tasks.shots.snap import shot_boundaries
from chronolens.timebase import Moment

SHOTS = ShotResult(
    video="v.mp4",
    detector="histogram",
    duration=20.0,
    shots=shots_from_cuts([4.0, 10.0, 12.0], 20.0),
    cut_scores=(0.5, 0.5, 0.5),
)


def test_boundaries_include_the_start_and_the_end() -> None:
    assert shot_boundaries(SHOTS) == [0.0, 4.0, 10.0, 12.0, 20.0]


def test_edges_within_tolerance_snap_and_others_stay() -> None:
    moments = [Moment(3.4, 9.5, 0.9), Moment(5.5, 7.0, 0.8), Moment(10.6, 19.2, 0.7)]
    snapped = snap_to_shots(moments, SHOTS, tolerance=1.0)
    assert [(m.start, m.end, m.score) for m in snapped] == [
        (4.0, 10.0, 0.9),
        (5.5, 7.0, 0.8),
        (10.0, 20.0, 0.7),
    ]


def test_a_tie_goes_to_the_earlier_boundary() -> None:
    assert snap_to_shots([Moment(11.0, 15.0, 1.0)], SHOTS, tolerance=1.0)[0].start == 10.0


def test_a_moment_that_would_collapse_keeps_its_edges() -> None:
    m = Moment(9.6, 10.3, 1.0)  # both edges nearest 10.0
    assert snap_to_shots([m], SHOTS, tolerance=1.0) == [m]


def test_duration_clamps_and_zero_tolerance_is_identity() -> None:
    assert snap_to_shots([Moment(15.0, 19.5, 1.0)], SHOTS, duration=19.8)[0].end == 19.8
    moments = [Moment(3.9, 9.9, 1.0)]
    assert snap_to_shots(moments, SHOTS, tolerance=0.0) == moments
    with pytest.raises(ValueError, match="tolerance"):
        snap_to_shots(moments, SHOTS, tolerance=-1.0)


def test_plain_spans_work_too() -> None:
    assert snap_to_shots([Moment(0.3, 3.8, 1.0)], SHOTS.shots)[0].as_list() == [0.0, 4.0, 1.0]
