"""A simple moment finder: spans where a query's frame-similarity curve stands out.

Method (documented so results can be reasoned about; the grounding task replaces it with TFVTG):

1. Smooth the similarity curve with a centred moving average of ``SMOOTH_WINDOW`` samples
   (edges average over the samples that exist: ``chronolens.tasks.ground.smoothing``), so one
   noisy frame neither makes nor breaks a span.
2. Threshold at ``mean + THRESHOLD_STD * std`` of the smoothed curve. Runs of smoothed samples
   above it are seeds; each seed then grows over neighbouring samples whose *raw* similarity is
   above the threshold (hysteresis), since smoothing erodes an event's first and last samples.
3. Each resulting run of samples is one span. A sample stands for the time
   up to halfway to its neighbours (the first from 0, the last to ``duration``): the true event
   boundary lies somewhere between the last sample outside and the first sample inside, and the
   midpoint is the estimate with the smallest worst-case error.
4. A span's score is the mean *raw* similarity of its samples; spans are returned best first.

A flat curve (std below ``FLAT_STD``: nothing stands out) yields the whole video as one moment.
"""

from __future__ import annotations

import numpy as np

from chronolens.tasks.ground.smoothing import box_kernel, smooth_curve
from chronolens.timebase import Moment, clamp_span
from chronolens.timebase.intervals import sample_intervals

__all__ = ["FLAT_STD", "SMOOTH_WINDOW", "THRESHOLD_STD", "find_moments", "smooth"]

SMOOTH_WINDOW = 3  # samples in the centred moving average (odd)
THRESHOLD_STD = 0.5  # spans are runs above mean + THRESHOLD_STD * std of the smoothed curve
FLAT_STD = 1e-3  # a curve whose smoothed std is below this (cosine units) has no distinct moment


def smooth(curve: np.ndarray, window: int = SMOOTH_WINDOW) -> np.ndarray:
    """Centred moving average that averages only over existing samples at the edges.

    Args:
        curve: ``(T,)`` values.
        window: odd number of samples averaged.

    Returns:
        ``(T,)`` float64.
    """
    return smooth_curve(curve, box_kernel(window), edges="existing")


def _grow(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Grow the True runs of ``seeds`` over adjacent ``allowed`` samples (1-D hysteresis)."""
    mask = seeds.copy()
    for i in range(1, mask.size):  # forward pass extends runs to the right
        mask[i] |= mask[i - 1] and allowed[i]
    for i in range(mask.size - 2, -1, -1):  # backward pass extends them to the left
        mask[i] |= mask[i + 1] and allowed[i]
    return mask


def find_moments(
    similarity: np.ndarray, timestamps: np.ndarray, duration: float, *, top_k: int
) -> list[Moment]:
    """Find the ``top_k`` best spans of a similarity curve (see the module docstring).

    Args:
        similarity: ``(T,)`` query-frame similarities.
        timestamps: ``(T,)`` seconds of each sampled frame, increasing.
        duration: video duration in seconds (spans are clamped to ``[0, duration]``).
        top_k: maximum number of moments returned.

    Returns:
        Up to ``top_k`` moments, best score first, non-overlapping.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    if sim.shape != ts.shape or sim.ndim != 1:
        raise ValueError(f"similarity and timestamps must both be (T,), got {sim.shape} and {ts.shape}")
    if top_k < 1 or sim.size == 0:
        return []
    starts, ends = sample_intervals(ts, duration)
    smoothed = smooth(sim)
    if smoothed.std() < FLAT_STD:
        span = clamp_span(0.0, float(ends[-1]), duration)
        return [Moment(span.start, span.end, float(sim.mean()))]
    threshold = smoothed.mean() + THRESHOLD_STD * smoothed.std()
    above = _grow(smoothed > threshold, sim > threshold)
    # Connected runs of True: boundaries where the mask changes.
    padded = np.concatenate([[False], above, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    moments = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        span = clamp_span(float(starts[first]), float(ends[stop - 1]), duration)
        moments.append(Moment(span.start, span.end, float(sim[first:stop].mean())))
    moments.sort(key=lambda m: m.score, reverse=True)
    return moments[:top_k]
