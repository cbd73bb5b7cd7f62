"""SODA_c: story-oriented dense-captioning F-measure (Fujita et al. 2020), as TimeChat computes it.

Reference: fujiso/SODA ``soda.py`` as embedded in TimeChat ``metrics/dvc/eval_dvc.py``
(``chased_dp_assignment`` and ``sodac``). For one video with S ground-truth and K predicted
events, every pair gets the score ``IoU(pred, gt) * METEOR(gt caption | pred caption)`` (IoUs
below the tIoU threshold set to 0); a dynamic programme finds the order-preserving one-to-one
alignment of ground-truth and predicted events with the highest total score; precision is that
total over K, recall over S, and SODA_c is their harmonic mean, averaged over the tIoU
thresholds (TimeChat uses the single threshold 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["SODA_IOU_THRESHOLDS", "best_alignment_score", "soda_f_measure"]

SODA_IOU_THRESHOLDS = (0.0,)  # TimeChat's eval_dvc passes (0.,): every overlap counts


def best_alignment_score(scores: np.ndarray) -> float:
    """Highest total score of an order-preserving one-to-one alignment of rows to columns.

    ``dp[i, j] = max(dp[i-1, j], dp[i, j-1], dp[i-1, j-1] + scores[i, j])`` with the first row
    and column seeded by the score itself, as the reference's memoised recursion computes it
    (scores must be >= 0, as products of IoUs and METEOR scores are).

    Args:
        scores: (S, K) non-negative pair scores, ground truth along rows.

    Returns:
        ``dp[S-1, K-1]``.
    """
    n_rows, n_cols = scores.shape
    if n_rows == 0 or n_cols == 0:
        return 0.0
    previous = np.maximum.accumulate(scores[0])  # (K,) row 0: best single pair so far
    for i in range(1, n_rows):
        take = np.empty(n_cols, dtype=np.float64)  # (K,) best without moving left
        take[0] = max(previous[0], scores[i, 0])
        take[1:] = np.maximum(previous[1:], previous[:-1] + scores[i, 1:])
        previous = np.maximum.accumulate(take)  # also allow moving left: dp[i, j-1]
    return float(previous[-1])


def soda_f_measure(
    iou: np.ndarray, caption_scores: np.ndarray, thresholds: Sequence[float] = SODA_IOU_THRESHOLDS
) -> float:
    """SODA_c of one video: mean over tIoU thresholds of the F-measure of the best alignment.

    Args:
        iou: (S, K) temporal IoU of ground-truth event i with predicted event j.
        caption_scores: (S, K) caption similarity (METEOR in TimeChat) of the same pairs.
        thresholds: IoUs below each threshold count as 0.

    Returns:
        The F-measure in [0, 1]; 0 when nothing aligns.
    """
    n_gt, n_pred = iou.shape
    values: list[float] = []
    for threshold in thresholds:
        gated = np.where(iou < threshold, 0.0, iou)  # (S, K)
        total = best_alignment_score(gated * caption_scores)
        precision = total / n_pred
        recall = total / n_gt
        values.append(2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0)
    return float(np.mean(values))
