"""Training targets of a window: moments in seconds -> normalised spans, saliency levels and clip pairs.

The saliency pairs follow moment_detr's dataset (``get_saliency_labels_*``): ``pairs`` positive
clips drawn from those inside a moment (level > 0) and as many negatives from those outside; when
every clip is inside, the lowest-level clips are the negatives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from chronolens.models.moment_detr.losses import Targets

__all__ = ["make_targets", "normalised_spans", "saliency_pairs"]


def normalised_spans(windows: Sequence[Sequence[float]], window_seconds: float) -> torch.Tensor:
    """Moments ``[[start, end], ...]`` in seconds inside a window of ``window_seconds`` seconds.

    Returns:
        (N, 2) float32 (centre, width) normalised to the window, clipped to [0, 1].
    """
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be > 0, got {window_seconds}")
    w = np.clip(np.asarray(windows, dtype=np.float64).reshape(-1, 2) / window_seconds, 0.0, 1.0)
    return torch.as_tensor(
        np.stack([(w[:, 0] + w[:, 1]) / 2, w[:, 1] - w[:, 0]], axis=1), dtype=torch.float32
    )


def saliency_pairs(levels: np.ndarray, pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``pairs`` positive and ``pairs`` negative clip indices of one window.

    Args:
        levels: (T,) saliency level per clip, 0 outside every moment.
        pairs: how many of each.
        rng: the source of the draws (seeded by the caller).

    Returns:
        ``(pos (pairs,), neg (pairs,))`` int64; drawn with replacement when too few clips qualify.
    """
    lv = np.asarray(levels, dtype=np.float64)
    inside = np.flatnonzero(lv > 0)
    outside = np.flatnonzero(lv <= 0)
    if inside.size == 0:  # no moment in this window: any clip against any clip carries no signal
        inside = np.arange(lv.size)
    if outside.size == 0:
        outside = np.flatnonzero(lv == lv.min())
    pos = rng.choice(inside, size=pairs, replace=inside.size < pairs)
    neg = rng.choice(outside, size=pairs, replace=outside.size < pairs)
    return pos.astype(np.int64), neg.astype(np.int64)


def make_targets(
    windows: Sequence[Sequence[Sequence[float]]],
    levels: Sequence[np.ndarray],
    window_seconds: Sequence[float],
    *,
    pairs: int = 2,
    rng: np.random.Generator,
) -> Targets:
    """Targets of a batch.

    Args:
        windows: per example, its moments ``[[start, end], ...]`` in seconds from the window start.
        levels: per example, (T_i,) saliency level per clip.
        window_seconds: per example, the window's duration in seconds (its clips x clip length).
        pairs: saliency pairs per example.
        rng: seeded generator for the pair draws.
    """
    if not len(windows) == len(levels) == len(window_seconds):
        raise ValueError("windows, levels and window_seconds must have one entry per example")
    t_max = max(len(lv) for lv in levels)
    padded = np.zeros((len(levels), t_max))
    pos, neg = [], []
    for i, lv in enumerate(levels):
        padded[i, : len(lv)] = lv
        p, n = saliency_pairs(lv, pairs, rng)
        pos.append(p)
        neg.append(n)
    return Targets(
        spans=[normalised_spans(w, s) for w, s in zip(windows, window_seconds, strict=True)],
        saliency_pos=torch.as_tensor(np.stack(pos)),
        saliency_neg=torch.as_tensor(np.stack(neg)),
        saliency_levels=torch.as_tensor(padded, dtype=torch.float32),
    )
