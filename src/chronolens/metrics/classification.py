"""Top-k classification accuracy (top-1 / top-5), e.g. for zero-shot video classification.

A sample is correct at k when its label is among the k highest scores. Ties are broken in favour
of the lower class index (a stable sort of the descending scores), so the result never depends on
the sorting algorithm: the label's rank is the number of classes scoring strictly higher plus the
number of lower-indexed classes scoring the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["TOPK", "label_ranks", "topk_accuracy"]

# The k reported by default.
TOPK: tuple[int, ...] = (1, 5)


def label_ranks(scores: np.ndarray, labels: np.ndarray | Sequence[int]) -> np.ndarray:
    """0-based rank of each sample's true label among its class scores.

    Args:
        scores: (N, C) class scores or logits, higher is better.
        labels: (N,) true class indices.

    Returns:
        (N,) int ranks (0 = top-1).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    if s.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), got {s.shape}")
    if y.shape != (s.shape[0],):
        raise ValueError(f"labels must have shape ({s.shape[0]},), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= s.shape[1]):
        raise ValueError(f"labels must be class indices in [0, {s.shape[1]})")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    label_score = s[np.arange(len(y)), y][:, None]  # (N, 1)
    higher = (s > label_score).sum(axis=1)  # (N,)
    tied_before = ((s == label_score) & (np.arange(s.shape[1])[None, :] < y[:, None])).sum(axis=1)
    return higher + tied_before


def topk_accuracy(
    scores: np.ndarray, labels: np.ndarray | Sequence[int], ks: Sequence[int] = TOPK
) -> dict[str, float]:
    """Top-k accuracy (x100) for each k.

    Args:
        scores: (N, C) class scores.
        labels: (N,) true class indices.
        ks: the k values; k larger than C counts every sample correct.

    Returns:
        ``{"top1": ..., "top5": ...}`` (keys follow ``ks``).
    """
    if any(k < 1 for k in ks):
        raise ValueError(f"every k must be >= 1, got {list(ks)}")
    ranks = label_ranks(scores, labels)
    if ranks.size == 0:
        raise ValueError("no samples to evaluate")
    return {f"top{k}": float(np.mean(ranks < k) * 100) for k in ks}
