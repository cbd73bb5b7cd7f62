"""Trivial moment-retrieval baselines, scored in the same run so the real numbers mean something.

Each baseline maps one query (its video's duration) to QVHighlights-style predicted windows
``[[start, end, score], ...]`` sorted best first, plus per-2-s-clip saliency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chronolens.timebase.grid import CLIP_LENGTH, n_clips

__all__ = ["BASELINES", "BaselineConfig", "baseline_prediction"]

BASELINES = ("random", "whole-video", "uniform-window")


@dataclass(frozen=True, kw_only=True)
class BaselineConfig:
    """Settings of the trivial baselines."""

    n_windows: int = 10  # random: windows per query; uniform-window: equal windows per video
    min_fraction: float = 0.05  # random: shortest window, as a fraction of the duration
    max_fraction: float = 0.5  # random: longest window, as a fraction of the duration
    clip_length: float = CLIP_LENGTH  # seconds per saliency clip (QVHighlights convention)

    def __post_init__(self) -> None:
        if self.n_windows < 1:
            raise ValueError(f"BaselineConfig.n_windows must be >= 1, got {self.n_windows}")
        if not 0 < self.min_fraction <= self.max_fraction <= 1:
            raise ValueError("BaselineConfig: need 0 < min_fraction <= max_fraction <= 1")
        if self.clip_length <= 0:
            raise ValueError(f"BaselineConfig.clip_length must be > 0, got {self.clip_length}")


def baseline_prediction(
    name: str, duration: float, rng: np.random.Generator, config: BaselineConfig | None = None
) -> tuple[list[list[float]], list[float]]:
    """Predict windows and clip saliency for one query without looking at the video.

    Args:
        name: one of ``BASELINES``: ``random`` (random windows, random scores), ``whole-video``
            (one window covering everything), ``uniform-window`` (the video cut into
            ``n_windows`` equal windows, ranked in a random order).
        duration: video duration in seconds.
        rng: seeded generator (the caller seeds it once per run).
        config: baseline settings.

    Returns:
        ``(windows, saliency)``: windows ``[[start, end, score], ...]`` best first, and one random
        saliency score per ``clip_length`` clip.
    """
    cfg = config or BaselineConfig()
    saliency = rng.random(n_clips(duration, cfg.clip_length)).tolist()
    if name == "whole-video":
        return [[0.0, float(duration), 1.0]], saliency
    if name == "random":
        lengths = rng.uniform(cfg.min_fraction, cfg.max_fraction, cfg.n_windows) * duration
        starts = rng.random(cfg.n_windows) * (duration - lengths)
        scores = rng.random(cfg.n_windows)
        order = np.argsort(-scores, kind="stable")
        return [[float(starts[i]), float(starts[i] + lengths[i]), float(scores[i])] for i in order], saliency
    if name == "uniform-window":
        edges = np.linspace(0.0, duration, cfg.n_windows + 1)
        order = rng.permutation(cfg.n_windows)
        n = cfg.n_windows
        windows = [[float(edges[i]), float(edges[i + 1]), float(n - r) / n] for r, i in enumerate(order)]
        return windows, saliency
    raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
