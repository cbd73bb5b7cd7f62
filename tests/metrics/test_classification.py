"""Top-k accuracy against a naive loop; ties go to the lower class index."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.metrics.classification import label_ranks, topk_accuracy


def test_matches_naive_loop() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 4, (50, 8)).astype(float)  # many ties
    labels = rng.integers(0, 8, 50)
    got = topk_accuracy(scores, labels, ks=(1, 3, 5))
    for k in (1, 3, 5):
        hits = 0
        for row, label in zip(scores, labels, strict=True):
            order = sorted(range(8), key=lambda c, row=row: (-row[c], c))
            hits += label in order[:k]
        assert got[f"top{k}"] == pytest.approx(100 * hits / 50)


def test_ties_and_one_sample() -> None:
    assert label_ranks(np.array([[1.0, 1.0, 0.0]]), [1]).tolist() == [1]
    assert topk_accuracy(np.array([[0.1, 0.9]]), [1]) == {"top1": 100.0, "top5": 100.0}
    assert topk_accuracy(np.array([[0.9, 0.1]]), [1], ks=(1,)) == {"top1": 0.0}
    with pytest.raises(ValueError, match="class indices"):
        topk_accuracy(np.zeros((1, 2)), [2])
