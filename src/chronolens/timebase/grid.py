"""The clip grid: fixed-length clips every saliency score lives on.

Clip ``i`` covers ``[i * L, (i + 1) * L)`` seconds with ``L = CLIP_LENGTH`` (2 s, the
QVHighlights convention) unless a caller chooses another length.

**One rounding rule.** A video of ``d`` seconds has ``n_clips(d) = ceil(d / L)`` clips (at least
one): every instant in ``[0, d)`` lies in a clip, so the last, partial clip of a 9 s video is
clip 4 (``[8, 9)``) and t = 9 s (the end) belongs to it too.

moment_detr's evaluator (``standalone_eval/eval.py`` ``mk_gt_scores``) counts
``int(d / L)`` clips instead, dropping a partial last clip, and QVHighlights' ``relevant_clip_ids``
never name one. Where a file is written *for* that evaluator, :func:`n_whole_clips` gives its
count; the name says which count is meant, so the two can no longer be confused.
"""

from __future__ import annotations

import math

import numpy as np

from chronolens.timebase.span import Span

__all__ = [
    "CLIP_LENGTH",
    "clip_index",
    "clip_means",
    "n_clips",
    "n_whole_clips",
    "saliency_from_span",
]

CLIP_LENGTH = 2.0  # seconds per saliency clip (QVHighlights / moment_detr convention)
_EPS = 1e-9  # seconds: a duration within this of a multiple of L has no extra partial clip


def n_clips(duration: float, clip_length: float = CLIP_LENGTH) -> int:
    """Clips of a video: ``ceil(duration / clip_length)``, at least 1 (a partial last clip counts)."""
    return max(1, math.ceil(duration / clip_length - _EPS))


def n_whole_clips(duration: float, clip_length: float = CLIP_LENGTH) -> int:
    """Whole clips of a video, as moment_detr's evaluator counts them: ``int(d / L)``, at least 1."""
    return max(1, int(duration / clip_length + _EPS))


def clip_index(
    timestamps: np.ndarray, duration: float, clip_length: float = CLIP_LENGTH
) -> tuple[np.ndarray, int]:
    """The clip each timestamp falls in, and the number of clips.

    Args:
        timestamps: ``(T,)`` seconds.
        duration: video duration in seconds.
        clip_length: seconds per clip.

    Returns:
        ``(index (T,) int64 in [0, C), C = n_clips(duration, clip_length))``; times at or past the
        end fall in the last clip.
    """
    count = n_clips(duration, clip_length)
    ts = np.asarray(timestamps, dtype=np.float64)
    index = np.clip(np.floor(ts / clip_length).astype(np.int64), 0, count - 1)
    return index, count


def clip_means(
    values: np.ndarray, timestamps: np.ndarray, duration: float, clip_length: float = CLIP_LENGTH
) -> np.ndarray:
    """Mean of per-sample values inside each clip (empty clips: the sample nearest the centre).

    Args:
        values: (T,) or (T, D) per-sample values.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        clip_length: seconds per clip.

    Returns:
        (C,) or (C, D) float64, ``C = n_clips(duration, clip_length)``.
    """
    vals = np.asarray(values, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    if vals.shape[0] != ts.shape[0] or ts.size == 0:
        raise ValueError(
            f"values and timestamps must be non-empty with equal length, got {vals.shape}, {ts.shape}"
        )
    index, count = clip_index(ts, duration, clip_length)
    flat = vals.reshape(vals.shape[0], -1)  # (T, F)
    counts = np.bincount(index, minlength=count)
    if vals.ndim == 1:
        # bincount adds the weights in sample order, as np.add.at does: the same sums, far cheaper.
        sums: np.ndarray = np.bincount(index, weights=vals, minlength=count)[:, None]  # (C, 1)
    else:
        sums = np.zeros((count, flat.shape[1]))
        np.add.at(sums, index, flat)
    has = counts > 0
    if has.all():  # every clip has a sample (the usual case): one division, no masks
        return (sums / counts[:, None]).reshape((count, *vals.shape[1:]))
    out = np.empty_like(sums)
    out[has] = sums[has] / counts[has, None]
    if (~has).any():
        centres = (np.flatnonzero(~has) + 0.5) * clip_length
        nearest = np.abs(centres[:, None] - ts[None, :]).argmin(axis=1)
        out[~has] = flat[nearest]
    return out.reshape((count, *vals.shape[1:]))


def saliency_from_span(span: Span, duration: float, clip_length: float = CLIP_LENGTH) -> tuple[float, ...]:
    """Per-clip saliency of a single span: the fraction of each clip the span covers.

    Args:
        span: a span in seconds, inside ``[0, duration]``.
        duration: video duration in seconds.
        clip_length: seconds per clip.

    Returns:
        One value in ``[0, 1]`` per clip (``n_clips`` of them; the partial last clip is measured
        against its own width).
    """
    out = []
    for i in range(n_clips(duration, clip_length)):
        c0, c1 = i * clip_length, min((i + 1) * clip_length, max(duration, i * clip_length))
        width = c1 - c0
        cover = max(0.0, min(c1, span.end) - max(c0, span.start))
        out.append(cover / width if width > 0 else 0.0)
    return tuple(out)
