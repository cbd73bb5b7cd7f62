"""Temporal IoU between windows and Recall@k at IoU=m, the one implementation chronolens uses.

Windows are ``[start, end]`` in seconds. Two IoU conventions appear in the reference scripts and
both are here, because on degenerate windows they give different numbers:

- :func:`temporal_iou` — intersection over the *true* union ``len(a) + len(b) - inter``
  (moment_detr ``compute_temporal_iou_batch_cross``; MMAction2 / ActivityNet style). When the union
  is zero (two zero-length windows) the result is NaN, exactly as the reference divides 0 by 0;
  callers decide what NaN means.
- :func:`temporal_iou_paired` — intersection over the *hull* ``max(ends) - min(starts)``, zero when
  the hull is empty (moment_detr ``compute_temporal_iou_batch_paired``; used for its R1).

The two agree whenever the windows overlap; for reversed windows (start > end) the intersection
is clipped to zero, so the IoU is 0 (or NaN when the lengths cancel in the true union).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["recall_at_k", "temporal_iou", "temporal_iou_paired"]


def _as_windows(windows: np.ndarray | Sequence[Sequence[float]], name: str) -> np.ndarray:
    array = np.asarray(windows, dtype=np.float64)
    if array.size == 0 and array.ndim < 2:
        return array.reshape(0, 2)
    if array.ndim < 2 or array.shape[-1] < 2:
        raise ValueError(f"{name} must have shape (..., N, 2) (extra columns such as scores are ignored)")
    return array[..., :2]


def temporal_iou(
    pred: np.ndarray | Sequence[Sequence[float]], gt: np.ndarray | Sequence[Sequence[float]]
) -> np.ndarray:
    """Pairwise temporal IoU of every predicted window with every ground-truth window.

    Leading batch dimensions broadcast, so a batch of queries is one call.

    Args:
        pred: (..., N, 2) windows ``[start, end]`` (extra columns are ignored).
        gt: (..., M, 2) windows.

    Returns:
        (..., N, M) float64 IoU, ``inter / (len_pred + len_gt - inter)`` with ``inter`` clipped
        at 0; NaN where that union is 0 (matching the reference's 0/0).
    """
    p = _as_windows(pred, "pred")
    g = _as_windows(gt, "gt")
    len_p = p[..., 1] - p[..., 0]  # (..., N)
    len_g = g[..., 1] - g[..., 0]  # (..., M)
    left = np.maximum(p[..., :, None, 0], g[..., None, :, 0])  # (..., N, M)
    right = np.minimum(p[..., :, None, 1], g[..., None, :, 1])  # (..., N, M)
    # In place on fresh temporaries, the same operations: np.clip(x, 0, None) is np.maximum(x, 0).
    inter = np.maximum(np.subtract(right, left, out=right), 0, out=right)  # (..., N, M)
    union = np.add(len_p[..., :, None], len_g[..., None, :])  # (..., N, M)
    union -= inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(inter, union, out=union)


def temporal_iou_paired(
    pred: np.ndarray | Sequence[Sequence[float]], gt: np.ndarray | Sequence[Sequence[float]]
) -> np.ndarray:
    """Row-wise IoU of ``pred[i]`` with ``gt[i]`` over the hull of the two windows.

    Args:
        pred: (N, 2) windows.
        gt: (N, 2) windows.

    Returns:
        (N,) float64 ``inter / (max(ends) - min(starts))``; 0 where that hull is 0.
    """
    p = _as_windows(pred, "pred")
    g = _as_windows(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same shape, got {p.shape} and {g.shape}")
    inter = np.maximum(0.0, np.minimum(p[:, 1], g[:, 1]) - np.maximum(p[:, 0], g[:, 0]))  # (N,)
    hull = np.maximum(p[:, 1], g[:, 1]) - np.minimum(p[:, 0], g[:, 0])  # (N,)
    return np.divide(inter, hull, out=np.zeros_like(inter), where=hull != 0)


def recall_at_k(
    preds: Sequence[np.ndarray | Sequence[Sequence[float]]],
    gts: Sequence[np.ndarray | Sequence[Sequence[float]]],
    *,
    k: int = 1,
    iou_thresholds: Sequence[float] = (0.3, 0.5, 0.7),
) -> dict[float, float]:
    """Recall@k, IoU=m: the fraction of queries with a hit among their top-k predicted windows.

    A query is a hit at threshold ``m`` when any of its first ``k`` predicted windows (in the given
    order, best first) has IoU >= ``m`` with any of its ground-truth windows. NaN IoUs (two
    zero-length windows) are not hits. A query with no predictions is a miss.

    Args:
        preds: per query, (P_i, 2) predicted windows ranked best first.
        gts: per query, (M_i, 2) ground-truth windows (M_i >= 1).
        k: how many top predictions count.
        iou_thresholds: the values of ``m``.

    Returns:
        ``{m: recall}`` with recall in [0, 1] (not x100).
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(preds) != len(gts):
        raise ValueError(f"preds and gts must have the same length, got {len(preds)} and {len(gts)}")
    if not preds:
        raise ValueError("preds must not be empty")
    best = np.zeros(len(preds))  # (Q,) best IoU among the top-k
    for i, (pred, gt) in enumerate(zip(preds, gts, strict=True)):
        top = _as_windows(pred, "pred")[:k]
        gt_windows = _as_windows(gt, "gt")
        if len(top) == 0 or len(gt_windows) == 0:
            continue
        iou = temporal_iou(top, gt_windows)
        best[i] = np.nanmax(iou) if not np.all(np.isnan(iou)) else 0.0
    return {float(m): float(np.mean(best >= m)) for m in iou_thresholds}
