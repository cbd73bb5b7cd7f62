"""Shot-boundary (cut) detection metrics: precision, recall and F1 of cut times within a tolerance.

A predicted cut matches a true cut when they are at most ``tolerance`` seconds apart; each cut
matches at most once, and the matching is a maximum one (for points on a line with one shared
tolerance, the sorted two-pointer sweep below is maximum). Over several videos the counts are
summed before dividing (micro average), as TransNet's evaluation does. Conventions for empty
sets: precision with no predicted cut is 1.0 (nothing false was claimed), recall with no true cut
is 1.0, and F1 is 0.0 when precision + recall is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["CutCounts", "cut_counts", "match_cuts"]

TIME_EPS_S = 1e-6  # added to every tolerance: PTS x time_base and k / fps round differently


def match_cuts(predicted: Sequence[float], truth: Sequence[float], tolerance: float) -> int:
    """Number of one-to-one matches between predicted and true cut times.

    Args:
        predicted: ``(P,)`` cut times in seconds (any order).
        truth: ``(G,)`` true cut times in seconds (any order).
        tolerance: seconds a match may be off by, >= 0.

    Returns:
        Matched pairs (true positives), ``<= min(P, G)``.
    """
    if tolerance < 0:
        raise ValueError(f"match_cuts: tolerance must be >= 0, got {tolerance!r}")
    p, g = sorted(predicted), sorted(truth)
    tol = tolerance + TIME_EPS_S
    i = j = matched = 0
    while i < len(p) and j < len(g):
        if p[i] < g[j] - tol:
            i += 1
        elif p[i] > g[j] + tol:
            j += 1
        else:
            matched += 1
            i += 1
            j += 1
    return matched


@dataclass(frozen=True, slots=True)
class CutCounts:
    """Matched, predicted and true cut counts, and the scores they give."""

    matched: int  # true positives
    predicted: int  # predicted cuts
    truth: int  # true cuts

    @property
    def precision(self) -> float:
        """``matched / predicted`` (1.0 when nothing was predicted)."""
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """``matched / truth`` (1.0 when there is no true cut)."""
        return self.matched / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0.0 when both are 0)."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def __add__(self, other: CutCounts) -> CutCounts:
        return CutCounts(
            self.matched + other.matched, self.predicted + other.predicted, self.truth + other.truth
        )

    def to_json(self) -> dict[str, float | int]:
        """``{"precision", "recall", "f1", "matched", "predicted", "truth"}``."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "matched": self.matched,
            "predicted": self.predicted,
            "truth": self.truth,
        }


def cut_counts(
    videos: Iterable[tuple[Sequence[float], Sequence[float], float]],
) -> CutCounts:
    """Summed counts over videos, each given as ``(predicted, truth, tolerance)`` (micro average)."""
    total = CutCounts(0, 0, 0)
    for predicted, truth, tolerance in videos:
        total = total + CutCounts(match_cuts(predicted, truth, tolerance), len(predicted), len(truth))
    return total
