"""Greedy temporal non-maximum suppression over scored windows.

Windows are visited best score first (ties: earlier start, then earlier end, then the lower
candidate index); a window is kept unless its IoU (``chronolens.metrics.temporal.temporal_iou``)
with an already kept window exceeds the threshold. The visiting order is never sorted in full:
the next window visited is the first, in that order, of those not suppressed yet (a max and a
few comparisons), so keeping ``K`` windows costs ``K`` passes over the chunk and no sort (a chunk
holding a NaN or -inf score or a NaN window falls back to the sort, which places NaN last).

Large candidate sets are processed in score-ordered chunks: greedy NMS on
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

__all__ = ["NMS_CHUNK_PER_KEEP", "NMS_FIRST_CHUNK", "Chunk", "nms_over_chunks", "temporal_nms"]

NMS_FIRST_CHUNK = 1024  # candidates visited in the first pass at most; doubled while too few are kept
# First pass: this many candidates per window asked for (fewer than NMS_FIRST_CHUNK when few are
# asked for: on the grounder's curves the 3rd window kept ranks below ~300 and the 10th ~1,100).
NMS_CHUNK_PER_KEEP = 128

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


def _first_in_order(scores: np.ndarray, windows: np.ndarray, top: float) -> int:
    """Position of the first window in visiting order: best score (``top``, the max), then
    earliest start, then earliest end, then the lowest position (``np.lexsort((end, start,
    -score))`` is stable)."""
    best = np.flatnonzero(scores == top)
    if best.size > 1:
        best = best[windows[best, 0] == windows[best, 0].min()]
        if best.size > 1:
            best = best[windows[best, 1] == windows[best, 1].min()]
    return int(best[0])


def _greedy_unsorted(
    scores: np.ndarray, windows: np.ndarray, iou_threshold: float, max_keep: int, alive: np.ndarray
) -> list[int]:
    """What ``_greedy`` keeps over the windows in visiting order, without sorting them: positions
    (into ``scores`` and ``windows``, chunk order) of the kept ones, in the order kept. ``alive``
    is the increasing positions not suppressed yet; no score is NaN or -inf (-inf marks the
    suppressed ones here) and no window holds NaN."""
    keep: list[int] = []
    live = np.full(scores.shape[0], -math.inf)  # (M,) scores of the windows not suppressed yet
    live[alive] = scores[alive]
    while len(keep) < max_keep and live.size:
        top = live.max()
        if top == -math.inf:
            break
        first = _first_in_order(live, windows, top)  # suppressed ones score -inf: never the first
        keep.append(first)
        live[temporal_iou(windows, windows[first : first + 1])[:, 0] > iou_threshold] = -math.inf
        live[first] = -math.inf  # NaN never suppresses: a zero-length window is no IoU with itself
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
    chunk = min(n, NMS_FIRST_CHUNK, NMS_CHUNK_PER_KEEP * max_keep)
    kept: list[Chunk] = []
    count = 0
    previous_cut = math.inf  # every candidate scoring at least this was visited already
    while True:
        members, member_scores, w = select(chunk)  # (M,), (M,), (M, 2)
        total = members.size
        cut = float(member_scores.min())
        fresh = member_scores < previous_cut
        if not fresh.all():
            members, member_scores, w = members[fresh], member_scores[fresh], w[fresh]
        # NaN compares false (only the sort orders it: last) and -inf marks suppressed windows
        # in the unsorted pass: chunks holding either take the sort.
        special = not (member_scores > -math.inf).all() or bool(np.isnan(w).any())
        order = np.lexsort((w[:, 1], w[:, 0], -member_scores)) if special else None
        if order is not None:
            w = w[order]
        alive = np.arange(w.shape[0])
        if kept:
            before = np.concatenate([c[2] for c in kept])  # (K, 2) windows kept so far
            alive = alive[~(temporal_iou(w, before) > iou_threshold).any(axis=1)]
        if order is None:
            keep = np.asarray(
                _greedy_unsorted(member_scores, w, iou_threshold, max_keep - count, alive), dtype=np.int64
            )
            positions = keep
        else:
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
