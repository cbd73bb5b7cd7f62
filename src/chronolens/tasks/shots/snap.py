"""Snapping moments to shot boundaries (``--snap shots``).

The rule: each edge of a moment (its start, its end) moves to the nearest shot boundary (a cut,
or the video's start or end) when one lies within ``tolerance`` seconds of it, and stays where it
is otherwise. Edges snap independently; ties go to the earlier boundary. A moment whose snapped
edges would meet or cross (both edges on the same boundary) keeps its original edges. Scores and
order are unchanged, so a ranked list stays ranked. The default tolerance is one sampling step
of the default 1 fps library: a moment found from 1 fps samples is uncertain by about that much.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from chronolens.tasks.shots.base import ShotResult
from chronolens.timebase import Moment, Span

__all__ = ["SNAP_TOLERANCE_S", "shot_boundaries", "snap_to_shots"]

SNAP_TOLERANCE_S = 1.0  # seconds an edge may move to reach a shot boundary


def shot_boundaries(shots: ShotResult | Sequence[Span]) -> list[float]:
    """Increasing boundary times of consecutive shots: each start, and the last shot's end."""
    spans = shots.shots if isinstance(shots, ShotResult) else tuple(shots)
    if not spans:
        return []
    return sorted({*(s.start for s in spans), spans[-1].end})


def _nearest(boundaries: list[float], t: float, tolerance: float) -> float:
    """The boundary nearest ``t`` within ``tolerance`` (the earlier on a tie), else ``t``."""
    i = bisect.bisect_left(boundaries, t)
    near = [b for b in boundaries[max(i - 1, 0) : i + 1] if abs(b - t) <= tolerance]
    return min(near, key=lambda b: (abs(b - t), b)) if near else t


def snap_to_shots(
    moments: Sequence[Moment],
    shots: ShotResult | Sequence[Span],
    *,
    tolerance: float = SNAP_TOLERANCE_S,
    duration: float | None = None,
) -> list[Moment]:
    """Move the edges of ``moments`` to the nearest shot boundary within ``tolerance`` (module rule).

    Args:
        moments: scored spans in seconds (any order; the order is kept).
        shots: a ``ShotResult`` or its consecutive shot spans.
        tolerance: seconds an edge may move, >= 0.
        duration: clamp snapped edges to ``[0, duration]`` (e.g. a result's own duration).

    Returns:
        One moment per input moment, same scores, same order.
    """
    if tolerance < 0:
        raise ValueError(f"snap_to_shots: tolerance must be >= 0, got {tolerance!r}")
    boundaries = shot_boundaries(shots)
    if not boundaries:
        return list(moments)
    out: list[Moment] = []
    for m in moments:
        start = _nearest(boundaries, m.start, tolerance)
        end = _nearest(boundaries, m.end, tolerance)
        if duration is not None:
            start, end = min(max(start, 0.0), duration), min(max(end, 0.0), duration)
        out.append(Moment(start, end, m.score) if start < end else m)
    return out
