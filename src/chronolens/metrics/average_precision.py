"""Average precision of scored items against binary labels, many rows at once."""

from __future__ import annotations

import numpy as np

__all__ = ["highlight_average_precision"]


def highlight_average_precision(
    labels: np.ndarray, scores: np.ndarray, valid: np.ndarray | None = None
) -> np.ndarray:
    """Average precision of clip scores against binary labels, rows at once (video2gif ``get_ap``).

    Tied scores form one threshold, as in scikit-learn's ``precision_recall_curve``; precision is
    interpolated (max over higher recall) and averaged over the distinct recall levels. A row with
    no positive gets 0 and a row with only positives gets 1.

    Args:
        labels: (N, C) 0/1 labels.
        scores: (N, C) predicted scores.
        valid: (N, C) mask of real clips (rows may have different lengths); all True if None.

    Returns:
        (N,) average precision.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    if valid is None:
        valid = np.ones(labels.shape, dtype=bool)
    n, c = labels.shape
    if c == 0:
        return np.zeros(n)
    # Sort by descending score with padding last (NaN sorts after every finite value).
    key = np.where(valid, -scores, np.nan)
    order = np.argsort(key, axis=1, kind="stable")
    s = np.take_along_axis(key, order, axis=1)  # (N, C) ascending -score
    y = np.take_along_axis(np.where(valid, labels, 0.0), order, axis=1)
    v = np.take_along_axis(valid, order, axis=1)
    next_valid = np.concatenate([v[:, 1:], np.zeros((n, 1), dtype=bool)], axis=1)
    next_s = np.concatenate([s[:, 1:], np.full((n, 1), np.nan)], axis=1)
    group_end = v & (~next_valid | (s != next_s))  # last clip of each run of tied scores
    tp = np.cumsum(y, axis=1)  # (N, C)
    precision = tp / np.arange(1, c + 1)  # tps / (tps + fps)
    # Positives counted up to the end of the previous tie group (0 before the first).
    tp_at_ends = np.where(group_end, tp, 0.0)
    carried = np.maximum.accumulate(tp_at_ends, axis=1)
    previous = np.concatenate([np.zeros((n, 1)), carried[:, :-1]], axis=1)
    new_recall = group_end & (tp > previous)  # a recall level reached at this threshold
    # Interpolated precision: the best precision at this or any lower threshold (higher recall).
    at_ends = np.where(group_end, precision, 0.0)
    interpolated = np.maximum.accumulate(at_ends[:, ::-1], axis=1)[:, ::-1]
    count = new_recall.sum(axis=1)
    total = np.where(new_recall, interpolated, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = total / count
    n_pos = (y > 0).sum(axis=1)
    n_valid = v.sum(axis=1)
    ap = np.where(n_pos == 0, 0.0, ap)
    return np.where((n_pos == n_valid) & (n_valid > 0), 1.0, ap)
