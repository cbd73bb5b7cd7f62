"""``GroundingResult``: the one output type of every grounder (training-free now, trained later).

It holds the predicted windows best first, the per-clip saliency of the query and the clip
length, and serialises to exactly the prediction record the QVHighlights evaluator
(``chronolens.metrics.qvhighlights.evaluate_qvhighlights``, moment_detr ``standalone_eval``) reads.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from chronolens.timebase import Moment

__all__ = ["GroundingResult"]


@dataclass(frozen=True, kw_only=True, slots=True)
class GroundingResult:
    """Where a query happens in one video.

    Attributes:
        windows: predicted moments in seconds, best first, inside ``[0, duration]``.
        saliency: one score per ``clip_length`` clip, clip ``i`` covering ``[i * L, (i + 1) * L)``.
        clip_length: seconds per saliency clip (QVHighlights: 2.0).
        duration: video duration in seconds.
    """

    windows: tuple[Moment, ...]  # best first
    saliency: tuple[float, ...]  # per clip, clip 0 first
    clip_length: float  # seconds per saliency clip
    duration: float  # seconds

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration) and self.duration >= 0):
            raise ValueError(f"GroundingResult.duration must be finite and >= 0, got {self.duration}")
        if not self.clip_length > 0:
            raise ValueError(f"GroundingResult.clip_length must be > 0, got {self.clip_length}")
        for m in self.windows:
            if m.start < 0 or m.end > self.duration + 1e-9:
                raise ValueError(
                    f"GroundingResult.windows must lie in [0, {self.duration}], got [{m.start}, {m.end}]"
                )
        scores = [m.score for m in self.windows]
        if any(a < b for a, b in itertools.pairwise(scores)):
            raise ValueError("GroundingResult.windows must be sorted best score first")

    @property
    def best(self) -> Moment | None:
        """The top window, or ``None`` when nothing was found."""
        return self.windows[0] if self.windows else None

    def top(self, k: int) -> list[Moment]:
        """The ``k`` best windows."""
        return list(self.windows[:k])

    def to_qvhighlights(self, qid: int | str, query: str, vid: str) -> dict[str, Any]:
        """The QVHighlights prediction record of this result.

        Returns:
            ``{"qid", "query", "vid", "pred_relevant_windows": [[s, e, score], ...],
            "pred_saliency_scores": [...]}`` with plain floats (JSON-ready).
        """
        return {
            "qid": qid,
            "query": query,
            "vid": vid,
            "pred_relevant_windows": [[float(m.start), float(m.end), float(m.score)] for m in self.windows],
            "pred_saliency_scores": [float(x) for x in self.saliency],
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict: windows ``[[s, e, score]]``, saliency, clip length, duration."""
        return {
            "windows": [m.as_list() for m in self.windows],
            "saliency": list(self.saliency),
            "clip_length": self.clip_length,
            "duration": self.duration,
        }
