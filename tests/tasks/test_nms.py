"""Temporal NMS: greedy order, thresholds, chunked selection equals the full greedy pass."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.metrics.temporal import temporal_iou
from chronolens.tasks.ground import nms
from chronolens.tasks.ground.nms import temporal_nms


def _reference(windows: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], windows[i, 0], windows[i, 1]))
    keep: list[int] = []
    for i in order:
        if all(temporal_iou(windows[i : i + 1], windows[q : q + 1])[0, 0] <= thr for q in keep):
            keep.append(i)
    return keep


def test_basic_suppression() -> None:
    w = np.array([[0, 10], [1, 10], [20, 30], [0, 4]], dtype=float)
    s = np.array([0.9, 0.8, 0.7, 0.6])
    assert temporal_nms(w, s, iou_threshold=0.5).tolist() == [0, 2, 3]
    assert temporal_nms(w, s, iou_threshold=0.5, max_keep=2).tolist() == [0, 2]
    assert temporal_nms(w, s, iou_threshold=1.0).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("seed", [0, 1])
def test_chunked_equals_reference(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    monkeypatch.setattr(nms, "NMS_FIRST_CHUNK", 8)  # force several doublings
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, 100, 400)
    w = np.stack([starts, starts + rng.uniform(1, 20, 400)], axis=1)
    s = np.round(rng.uniform(0, 1, 400), 2)  # ties included
    expected = _reference(w, s, 0.3)
    assert temporal_nms(w, s, iou_threshold=0.3).tolist() == expected
    assert temporal_nms(lambda idx: w[idx], s, iou_threshold=0.3, max_keep=5).tolist() == expected[:5]


def test_validation() -> None:
    with pytest.raises(ValueError, match="iou_threshold"):
        temporal_nms(np.zeros((1, 2)), np.zeros(1), iou_threshold=2.0)
    with pytest.raises(ValueError, match="same length"):
        temporal_nms(np.zeros((2, 2)), np.zeros(1), iou_threshold=0.5)
    assert temporal_nms(np.zeros((0, 2)), np.zeros(0), iou_threshold=0.5).size == 0
