"""Samples and the time they stand for: sample intervals, the sampling step, snapping.

A sampled frame at ``t_i`` stands for the time up to halfway to its neighbours (the first from 0,
the last to the end of the video): the true boundary of an event lies somewhere between the last
sample outside it and the first inside, and the midpoint is the estimate with the smallest
worst-case error. Every moment finder turns sample windows into seconds through
:func:`sample_intervals`.
"""

from __future__ import annotations

import math

import numpy as np

from chronolens.timebase.span import Span

__all__ = ["median", "sample_intervals", "sample_step", "snap_span"]


def sample_intervals(timestamps: np.ndarray, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval each sample stands for: halfway to its neighbours, the ends to 0 and ``duration``.

    Args:
        timestamps: ``(T,)`` increasing seconds.
        duration: video duration in seconds.

    Returns:
        ``starts`` ``(T,)`` and ``ends`` ``(T,)`` in seconds.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    mids = (ts[:-1] + ts[1:]) / 2.0
    starts = np.concatenate([[0.0], mids])
    ends = np.concatenate([mids, [max(float(duration), float(ts[-1]) if ts.size else 0.0)]])
    return starts, ends


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` of a non-empty 1-D float64 array, bit for bit, minus its overhead.

    Equal floats have equal bits except the two zeros, so when the middle value(s) of the sorted
    values are non-zero any sort gives ``np.median``'s: ``(a + b) / 2`` is its ``mean`` of two
    (its sum's ``0 + b`` is exact for ``b != 0``). A zero in the middle (its sign depends on which
    zero ``np.median``'s partition puts there) and any NaN (NaN) take ``np.median`` itself. Saves
    its dispatch and NaN machinery, which dominate on the short curves grounding sees per hit.
    """
    n = values.shape[0]
    ordered = np.sort(values)
    half = n // 2
    a = float(ordered[half - 1 + n % 2])
    b = float(ordered[half])
    if a == 0.0 or b == 0.0 or math.isnan(ordered[-1]):
        return float(np.median(values))
    return b if n % 2 else (a + b) / 2.0


FALLBACK_STEP_S = 1.0  # the default sampling period (1 fps), for a curve that states no step


def sample_step(timestamps: np.ndarray, duration: float) -> float:
    """Typical seconds between samples: the median step, or the duration for a single sample.

    With neither (one sample of a zero-length video) it is ``FALLBACK_STEP_S``: a step of ~0 s
    would make every window measured in samples (smoothing kernels) astronomically wide.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size >= 2:
        step = median(np.diff(ts))
        if step > 0:
            return step
    return float(duration) if duration > 0 else FALLBACK_STEP_S


def snap_span(span: Span, timestamps: np.ndarray) -> Span:
    """Move both ends of ``span`` to the nearest sampled-frame time (the times a model saw).

    Args:
        span: a span in seconds.
        timestamps: ``(T,)`` increasing sampled-frame times in seconds (T >= 1).

    Returns:
        The snapped span (``start <= end`` is kept: both ends move monotonically).
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.size == 0:
        return span
    start = float(ts[int(np.abs(ts - span.start).argmin())])
    end = float(ts[int(np.abs(ts - span.end).argmin())])
    return Span(start, max(start, end))
