"""Cut precision/recall/F1: a maximum one-to-one matching within a tolerance, micro-averaged."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chronolens.metrics.shots import CutCounts, cut_counts, match_cuts


def _naive_max_matching(predicted: list[float], truth: list[float], tolerance: float) -> int:
    """Maximum bipartite matching by trying every injective assignment (tiny inputs only)."""
    best = 0
    for k in range(min(len(predicted), len(truth)), 0, -1):
        for ps in itertools.combinations(range(len(predicted)), k):
            for gs in itertools.permutations(range(len(truth)), k):
                if all(abs(predicted[p] - truth[g]) <= tolerance + 1e-6 for p, g in zip(ps, gs, strict=True)):
                    return k
    return best


def test_matching_is_maximum_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        predicted = sorted(np.round(rng.uniform(0, 5, size=rng.integers(0, 5)), 1).tolist())
        truth = sorted(np.round(rng.uniform(0, 5, size=rng.integers(0, 5)), 1).tolist())
        tolerance = float(rng.choice([0.0, 0.3, 1.0]))
        assert match_cuts(predicted, truth, tolerance) == _naive_max_matching(predicted, truth, tolerance)


def test_each_cut_matches_once_and_order_does_not_matter() -> None:
    assert match_cuts([1.0, 1.02], [1.01], 0.04) == 1
    assert match_cuts([3.0, 1.0], [1.04, 2.96], 0.04) == 2
    assert match_cuts([1.0], [1.05], 0.04) == 0
    with pytest.raises(ValueError, match="tolerance"):
        match_cuts([1.0], [1.0], -0.1)


def test_scores_and_empty_conventions() -> None:
    counts = CutCounts(matched=3, predicted=4, truth=6)
    assert (counts.precision, counts.recall) == (0.75, 0.5) and counts.f1 == pytest.approx(0.6)
    assert CutCounts(0, 0, 0).to_json()["f1"] == 1.0  # nothing to find, nothing claimed
    assert CutCounts(0, 0, 2).precision == 1.0 and CutCounts(0, 0, 2).f1 == 0.0
    assert CutCounts(0, 3, 0).recall == 1.0 and CutCounts(0, 3, 0).precision == 0.0


def test_micro_average_sums_counts_before_dividing() -> None:
    total = cut_counts([([1.0], [1.0], 0.04), ([2.0, 5.0, 6.0], [9.0], 0.04)])
    assert (total.matched, total.predicted, total.truth) == (1, 4, 2)
    assert total.precision == 0.25 and total.recall == 0.5
