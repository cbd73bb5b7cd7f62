"""The ``histogram`` shot detector: colour-histogram jumps between consecutive frames (numpy only).

Every frame is decoded at ``DETECTOR_FRAME_SIZE``; each gets a joint RGB histogram of
``bins`` levels per channel (``bins**3`` cells, normalised to sum 1), and the jump between two
frames is their total-variation distance ``0.5 x sum |h_a - h_b|`` in ``[0, 1]`` (0: the same
colours, 1: no colour in common). :class:`~chronolens.tasks.shots.base.CutRule` turns the jumps
into cuts. Hard cuts only: a slow dissolve spreads its change over many small jumps.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chronolens.progress import progress_bar
from chronolens.tasks.shots.base import CutRule, ShotResult, pick_cuts, register_detector, shots_from_cuts
from chronolens.tasks.shots.frames import iter_every_frame
from chronolens.timebase.intervals import sample_step

__all__ = ["HistogramConfig", "HistogramDetector", "frame_histograms", "histogram_jumps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class HistogramConfig:
    """Settings of the histogram detector (defaults tuned on bikes.mp4 and the synthetic split)."""

    bins: int = 8  # histogram levels per RGB channel (bins**3 joint cells)
    rule: CutRule = field(default_factory=lambda: CutRule(threshold=0.2))  # jumps: TV distance in [0, 1]

    def __post_init__(self) -> None:
        if not 2 <= self.bins <= 64:
            raise ValueError(f"HistogramConfig.bins must be in [2, 64], got {self.bins!r}")


def frame_histograms(images: np.ndarray, bins: int) -> np.ndarray:
    """Joint RGB histograms of frames.

    Args:
        images: ``(N, H, W, 3)`` uint8 RGB.
        bins: levels per channel.

    Returns:
        ``(N, bins**3)`` float64, each row summing to 1.
    """
    n = images.shape[0]
    q = (images.astype(np.int32) * bins) >> 8  # (N, H, W, 3) levels 0..bins-1
    cell = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]  # (N, H, W)
    offsets = np.arange(n, dtype=np.int64)[:, None] * bins**3
    counts = np.bincount((cell.reshape(n, -1) + offsets).ravel(), minlength=n * bins**3)
    hist = counts.reshape(n, bins**3).astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True)


def histogram_jumps(hists: np.ndarray) -> np.ndarray:
    """``(N - 1,)`` total-variation distance between consecutive rows of ``(N, B)`` histograms."""
    return 0.5 * np.abs(np.diff(hists, axis=0)).sum(axis=1)


class HistogramDetector:
    """Cuts where the colour histogram jumps (see the module docstring)."""

    name = "histogram"

    def __init__(self, config: HistogramConfig | None = None) -> None:
        self.config = config or HistogramConfig()

    def __call__(
        self,
        path: str,
        *,
        embeddings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        duration: float | None = None,
        progress: bool = False,
    ) -> ShotResult:
        """Decode every frame of ``path`` and cut where the histogram jumps (embeddings unused)."""
        began = time.perf_counter()
        hists: list[np.ndarray] = []
        times: list[np.ndarray] = []
        with progress_bar(desc=f"shots {Path(path).name}", unit="frame", enabled=progress) as bar:
            for batch in iter_every_frame(path):
                hists.append(frame_histograms(batch.images, self.config.bins))
                times.append(batch.timestamps)
                bar.update(len(batch))
        h = np.concatenate(hists)
        ts = np.concatenate(times)
        end = float(ts[-1]) + sample_step(ts, 0.0) if ts.size > 1 else max(float(duration or 0.0), 0.0)
        end = max(end, float(duration or 0.0))
        cuts, scores = pick_cuts(histogram_jumps(h), ts, end, self.config.rule)
        return ShotResult(
            video=str(path),
            detector=self.name,
            duration=end,
            shots=shots_from_cuts(cuts.tolist(), end),
            cut_scores=tuple(float(s) for s in scores),
            n_frames=int(ts.size),
            seconds=time.perf_counter() - began,
        )

    def rows(
        self, path: str, embeddings: np.ndarray, timestamps: np.ndarray, duration: float
    ) -> list[tuple[float, float, float]]:
        """``(start, end, score)`` per shot, for the library's shots table."""
        return self(path, duration=duration).rows()


@register_detector("histogram")
def _build(config: HistogramConfig | None = None) -> HistogramDetector:
    return HistogramDetector(config)
