"""Temporal IoU and Recall@k,IoU=m against naive loops and hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chronolens.metrics.temporal import recall_at_k, temporal_iou, temporal_iou_paired


def _naive(a: list[float], b: list[float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return math.nan if union == 0 else inter / union


def test_pairwise_matches_naive_loop() -> None:
    rng = np.random.default_rng(0)
    pred = np.sort(rng.uniform(0, 30, (7, 2)), axis=1)
    gt = np.sort(rng.uniform(0, 30, (5, 2)), axis=1)
    got = temporal_iou(pred, gt)
    assert got.shape == (7, 5)
    for i in range(7):
        for j in range(5):
            assert got[i, j] == pytest.approx(_naive(list(pred[i]), list(gt[j])), abs=1e-12)


def test_hand_values_threshold_and_degenerate_windows() -> None:
    iou = temporal_iou([[0, 4], [3, 3], [5, 1]], [[0, 2], [2, 6], [3, 3]])
    assert iou[0, 0] == 0.5  # exactly at a threshold, bitwise
    assert iou[0, 1] == pytest.approx(2 / 6)
    assert np.isnan(iou[1, 2])  # two zero-length windows: 0/0, as the reference
    assert iou[1, 1] == 0.0  # zero-length inside a window: no area
    assert iou[2, 0] == 0.0  # a reversed window never overlaps...
    assert np.isnan(iou[2, 1])  # ...but its -4 s length cancels a 4 s window in the union (0/0)


def test_batched_leading_dims_and_extra_score_column() -> None:
    pred = np.array([[[0, 2, 0.9]], [[1, 3, 0.1]]])  # (2, 1, 3) with scores
    gt = np.array([[[0, 2]], [[0, 2]]])  # (2, 1, 2)
    got = temporal_iou(pred, gt)
    assert got.shape == (2, 1, 1)
    assert got[:, 0, 0] == pytest.approx([1.0, 1 / 3])
    assert temporal_iou(np.zeros((0, 2)), gt[0]).shape == (0, 1)


def test_paired_uses_hull_and_zero_for_empty_hull() -> None:
    got = temporal_iou_paired([[0, 2], [3, 3], [0, 1]], [[1, 3], [3, 3], [5, 6]])
    assert got == pytest.approx([1 / 3, 0.0, 0.0])
    with pytest.raises(ValueError, match="same shape"):
        temporal_iou_paired([[0, 1]], [[0, 1], [1, 2]])


def test_recall_at_k() -> None:
    preds = [[[0, 10], [20, 30]], [[50, 60], [0, 5]], []]
    gts = [[[20, 30]], [[0, 5]], [[0, 1]]]
    r1 = recall_at_k(preds, gts, k=1, iou_thresholds=(0.5,))
    r2 = recall_at_k(preds, gts, k=2, iou_thresholds=(0.5, 1.0))
    assert r1 == {0.5: 0.0}
    assert r2[0.5] == pytest.approx(2 / 3) and r2[1.0] == pytest.approx(2 / 3)
    one = recall_at_k([[[0, 2]]], [[[1, 3]]], k=1, iou_thresholds=(1 / 3, 0.34))
    assert one == {1 / 3: 1.0, 0.34: 0.0}  # IoU exactly 1/3 counts at m = 1/3
    with pytest.raises(ValueError, match="k must be"):
        recall_at_k(preds, gts, k=0)
