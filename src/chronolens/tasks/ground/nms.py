"""Greedy temporal non-maximum suppression over scored windows.

Windows are visited best score first (ties: earlier start, then earlier end); a window is kept
unless its IoU (``chronolens.metrics.temporal.temporal_iou``) with an already kept window
exceeds the threshold. Large candidate sets are processed in score-ordered chunks: greedy NMS on
the best ``n`` candidates keeps exactly the first windows that greedy NMS on all of them keeps,
so the chunk only grows when it runs out before ``max_keep`` windows are found.
:func:`nms_over_chunks` is that loop over any source of the chunk (the grounder finds its best
candidates without scoring them all); :func:`temporal_nms` feeds it from a full score array.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from chronolens.metrics.temporal import temporal_iou

__all__ = ["NMS_FIRST_CHUNK", "Chunk", "nms_over_chunks", "temporal_nms"]

NMS_FIRST_CHUNK = 1024  # candidates sorted in the first pass; doubled while too few are kept

# (members, scores, windows) of one chunk: (M,) int64 candidate indices in increasing order,
# (M,) float64 their scores, (M, 2) float64 their [start, end] windows.
Chunk = tuple[np.ndarray, np.ndarray, np.ndarray]


def _greedy(windows: np.ndarray, iou_threshold: float, max_keep: int, alive: np.ndarray) -> list[int]:
    """Greedy NMS over windows already in visiting order, from the positions ``alive``
    (increasing: the ones not suppressed yet); returns kept positions."""
    keep: list[int] = []
    while alive.size and len(keep) < max_keep:
        pos = int(alive[0])
        keep.append(pos)
        rest = alive[1:]
        iou = temporal_iou(windows[rest], windows[pos : pos + 1])[:, 0]  # (len(rest),)
        alive = rest[~(iou > iou_threshold)]  # NaN (two empty windows) never suppresses
    return keep


def nms_over_chunks(select: Callable[[int], Chunk], n: int, *, iou_threshold: float, max_keep: int) -> Chunk:
    """Greedy NMS over ``n`` candidates, visiting only the best ones it needs.

    A grown chunk only adds candidates scoring below every candidate of the previous one, which
    greedy NMS visits after them: the windows already kept stay kept, suppress what they overlap,
    and the greedy pass goes on over the new candidates only.

    Args:
        select: ``select(chunk)`` returns every candidate scoring at least the ``chunk``-th best
            score (ties at the cut included; all ``n`` when ``chunk >= n``), in increasing index
            order, with their scores and windows.
        n: number of candidates (> 0).
        iou_threshold: a window overlapping a kept one with IoU above this is dropped.
        max_keep: stop after this many windows (>= 1).

    Returns:
        The kept candidates' indices (K,), scores (K,) and windows (K, 2), in the order kept.
    """
    chunk = min(n, NMS_FIRST_CHUNK)
    kept: list[Chunk] = []
    count = 0
    previous_cut = math.inf  # every candidate scoring at least this was visited already
    while True:
        members, member_scores, w = select(chunk)  # (M,), (M,), (M, 2)
        total = members.size
        cut = float(member_scores.min())
        fresh = member_scores < previous_cut
        members, member_scores, w = members[fresh], member_scores[fresh], w[fresh]
        order = np.lexsort((w[:, 1], w[:, 0], -member_scores))
        w = w[order]
        alive = np.arange(w.shape[0])
        if kept:
            before = np.concatenate([c[2] for c in kept])  # (K, 2) windows kept so far
            alive = alive[~(temporal_iou(w, before) > iou_threshold).any(axis=1)]
        positions = np.asarray(_greedy(w, iou_threshold, max_keep - count, alive), dtype=np.int64)
        keep = order[positions]
        kept.append((members[keep].astype(np.int64), member_scores[keep], w[positions]))
        count += positions.size
        if count >= max_keep or total == n:
            return (
                np.concatenate([c[0] for c in kept]),
                np.concatenate([c[1] for c in kept]),
                np.concatenate([c[2] for c in kept]),
            )
        previous_cut = cut
        chunk = min(n, chunk * 2)


def temporal_nms(
    windows: np.ndarray | Callable[[np.ndarray], np.ndarray],
    scores: np.ndarray,
    *,
    iou_threshold: float,
    max_keep: int | None = None,
) -> np.ndarray:
    """Indices of the windows greedy temporal NMS keeps, best first.

    Args:
        windows: (N, 2) ``[start, end]`` in seconds, or a function mapping (n,) candidate indices to
            their (n, 2) windows (so that millions of candidates need not all be materialised).
        scores: (N,) higher is better.
        iou_threshold: a window overlapping a kept one with IoU above this is dropped, in [0, 1].
        max_keep: stop after this many windows (``None``: all survivors).

    Returns:
        (K,) int64 indices into ``windows``, in the order kept (descending score).
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    n = s.shape[0]
    if callable(windows):
        windows_of = windows
    else:
        table = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
        if table.shape[0] != n:
            raise ValueError(f"windows and scores must have the same length, got {table.shape[0]} and {n}")

        def windows_of(idx: np.ndarray) -> np.ndarray:
            return table[idx]

    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
    limit = n if max_keep is None else max_keep
    if limit < 1 or n == 0:
        return np.zeros(0, dtype=np.int64)

    def select(chunk: int) -> Chunk:
        if chunk < n:
            # Every candidate scoring at least the chunk-th best joins (ties at the cut included).
            cut = np.partition(s, n - chunk)[n - chunk]
            members = np.flatnonzero(s >= cut)
        else:
            members = np.arange(n)
        return members, s[members], np.asarray(windows_of(members), dtype=np.float64).reshape(-1, 2)

    return nms_over_chunks(select, n, iou_threshold=iou_threshold, max_keep=limit)[0]
