"""Greedy temporal non-maximum suppression over scored windows.

Windows are visited best score first (ties: earlier start, then earlier end); a window is kept
unless its IoU (``chronolens.metrics.temporal.temporal_iou``) with an already kept window
exceeds the threshold. Large candidate sets are processed in score-ordered chunks: greedy NMS on
the best ``n`` candidates keeps exactly the first windows that greedy NMS on all of them keeps,
so the chunk only grows when it runs out before ``max_keep`` windows are found.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chronolens.metrics.temporal import temporal_iou

__all__ = ["NMS_FIRST_CHUNK", "temporal_nms"]

NMS_FIRST_CHUNK = 1024  # candidates sorted in the first pass; doubled while too few are kept


def _greedy(windows: np.ndarray, iou_threshold: float, max_keep: int) -> list[int]:
    """Greedy NMS over windows already in visiting order; returns kept positions."""
    n = windows.shape[0]
    suppressed = np.zeros(n, dtype=bool)
    keep: list[int] = []
    pos = 0
    while pos < n and len(keep) < max_keep:
        if suppressed[pos]:
            rest = np.flatnonzero(~suppressed[pos:])
            if rest.size == 0:
                break
            pos += int(rest[0])
        keep.append(pos)
        iou = temporal_iou(windows[pos + 1 :], windows[pos : pos + 1])[:, 0]  # (n - pos - 1,)
        suppressed[pos + 1 :] |= iou > iou_threshold  # NaN (two empty windows) never suppresses
        pos += 1
    return keep


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
    chunk = min(n, NMS_FIRST_CHUNK)
    while True:
        if chunk < n:
            # Every candidate scoring at least the chunk-th best joins (ties at the cut included).
            cut = np.partition(s, n - chunk)[n - chunk]
            members = np.flatnonzero(s >= cut)
        else:
            members = np.arange(n)
        w = np.asarray(windows_of(members), dtype=np.float64).reshape(-1, 2)  # (M, 2)
        order = np.lexsort((w[:, 1], w[:, 0], -s[members]))
        keep = _greedy(w[order], iou_threshold, limit)
        if len(keep) >= limit or members.size == n:
            return members[order[keep]].astype(np.int64)
        chunk = min(n, chunk * 2)
