"""Highlights: per-clip saliency on fixed-length clips, with or without a query, and top spans.

Clips follow QVHighlights: clip ``i`` covers ``[i * clip_length, (i + 1) * clip_length)`` seconds
and there are ``ceil(duration / clip_length)`` of them, so ``saliency[i]`` lines up with
``relevant_clip_ids``. A sample belongs to the clip its timestamp falls in; a clip no sample falls
in (sampling sparser than the clips) takes the value of the sample nearest its centre.

- Query-based (:func:`query_saliency`): the mean query-frame similarity of each clip, min-max
  normalised to [0, 1] over the video (a flat curve gives all zeros).
- Query-free (:func:`novelty_saliency`): what stands out. A clip's mean embedding is compared with
  the mean of the rest of the video (global novelty) and with the mean of its neighbouring clips
  (local novelty, which catches a short change inside a long shot); novelty is ``1 - cosine``,
  the two are mixed by ``global_weight`` and normalised to [0, 1].
- Spans (:func:`highlight_spans`): runs of consecutive clips whose saliency is at least
  ``span_threshold`` of the way from the video's lowest to its highest clip, scored by their mean
  saliency, best first.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment, clamp_span
from chronolens.timebase.grid import CLIP_LENGTH, clip_means

__all__ = [
    "HighlightConfig",
    "highlight_spans",
    "highlights",
    "novelty_saliency",
    "query_saliency",
]

logger = logging.getLogger(__name__)

_EPS = 1e-12  # guards divisions by a zero norm or range


@dataclass(frozen=True, kw_only=True)
class HighlightConfig:
    """Settings of highlight detection."""

    clip_length: float = CLIP_LENGTH  # seconds per clip (QVHighlights convention)
    global_weight: float = 0.5  # query-free: weight of novelty vs the whole video (rest: vs neighbours)
    context_clips: int = 5  # query-free: neighbouring clips on each side forming a clip's local context
    span_threshold: float = 0.5  # spans: clips at least this far from min (0) to max (1) saliency
    top_k: int = 5  # spans returned

    def __post_init__(self) -> None:
        if not (math.isfinite(self.clip_length) and self.clip_length > 0):
            raise ValueError(f"HighlightConfig.clip_length must be > 0, got {self.clip_length}")
        if not 0.0 <= self.global_weight <= 1.0:
            raise ValueError(f"HighlightConfig.global_weight must be in [0, 1], got {self.global_weight}")
        if self.context_clips < 1:
            raise ValueError(f"HighlightConfig.context_clips must be >= 1, got {self.context_clips}")
        if not 0.0 <= self.span_threshold <= 1.0:
            raise ValueError(f"HighlightConfig.span_threshold must be in [0, 1], got {self.span_threshold}")
        if self.top_k < 1:
            raise ValueError(f"HighlightConfig.top_k must be >= 1, got {self.top_k}")


def _normalise(x: np.ndarray) -> np.ndarray:
    span = float(x.max() - x.min()) if x.size else 0.0
    if span < _EPS:
        return np.zeros_like(x)
    return (x - x.min()) / span


def query_saliency(
    similarity: np.ndarray, timestamps: np.ndarray, duration: float, *, clip_length: float = CLIP_LENGTH
) -> np.ndarray:
    """Query-based saliency: each clip's mean similarity, min-max normalised to [0, 1].

    Args:
        similarity: (T,) query-frame similarities.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        clip_length: seconds per clip.

    Returns:
        (C,) float64 in [0, 1].
    """
    return _normalise(clip_means(similarity, timestamps, duration, clip_length))


def novelty_saliency(
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    *,
    config: HighlightConfig | None = None,
) -> np.ndarray:
    """Query-free saliency: how much each clip differs from the video and from its neighbours.

    Args:
        embeddings: (T, D) frame embeddings.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        config: settings (``clip_length``, ``global_weight``, ``context_clips``).

    Returns:
        (C,) float64 in [0, 1].
    """
    cfg = config or HighlightConfig()
    means = clip_means(embeddings, timestamps, duration, cfg.clip_length)  # (C, D)
    count = means.shape[0]
    total = means.sum(axis=0)  # (D,)
    rest = (total[None, :] - means) / max(count - 1, 1)  # (C, D) mean of the other clips
    # Local context: the mean of up to context_clips clips on each side, the clip itself excluded.
    prefix = np.concatenate([np.zeros((1, means.shape[1])), np.cumsum(means, axis=0)])  # (C + 1, D)
    idx = np.arange(count)
    lo = np.maximum(idx - cfg.context_clips, 0)
    hi = np.minimum(idx + cfg.context_clips + 1, count)
    local_n = (hi - lo - 1).astype(np.float64)  # (C,)
    local = (prefix[hi] - prefix[lo] - means) / np.maximum(local_n, 1.0)[:, None]  # (C, D)

    def novelty(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        na = np.linalg.norm(a, axis=1)
        nb = np.linalg.norm(b, axis=1)
        return 1.0 - (a * b).sum(axis=1) / np.maximum(na * nb, _EPS)

    if count == 1:
        return np.zeros(1)
    score = cfg.global_weight * novelty(means, rest) + (1.0 - cfg.global_weight) * novelty(means, local)
    return _normalise(score)


def highlight_spans(
    saliency: np.ndarray, duration: float, *, clip_length: float, threshold: float, top_k: int
) -> list[Moment]:
    """Runs of consecutive salient clips as moments, best mean saliency first.

    Args:
        saliency: (C,) per-clip saliency.
        duration: video duration in seconds (spans are clamped to it).
        clip_length: seconds per clip.
        threshold: a clip is salient when at least this fraction of the way from the lowest to the
            highest clip (0: every clip; 1: only the maxima).
        top_k: spans returned.

    Returns:
        Up to ``top_k`` moments, best first.
    """
    sal = np.asarray(saliency, dtype=np.float64)
    if sal.size == 0 or top_k < 1:
        return []
    lo, hi = float(sal.min()), float(sal.max())
    salient = sal >= lo + threshold * (hi - lo) - _EPS
    padded = np.concatenate([[False], salient, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    spans = []
    for first, stop in zip(edges[::2], edges[1::2], strict=True):
        span = clamp_span(first * clip_length, stop * clip_length, duration)
        spans.append(Moment(span.start, span.end, float(sal[first:stop].mean())))
    spans.sort(key=lambda m: (-m.score, m.start))
    return spans[:top_k]


def highlights(
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    *,
    text_embedding: np.ndarray | None = None,
    config: HighlightConfig | None = None,
) -> GroundingResult:
    """Per-clip saliency and the top highlight spans of one video.

    Args:
        embeddings: (T, D) L2-normalised frame embeddings.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        text_embedding: (D,) query embedding for query-based highlights; ``None``: query-free.
        config: settings.

    Returns:
        A ``GroundingResult`` whose ``windows`` are the highlight spans and ``saliency`` the clips.
    """
    cfg = config or HighlightConfig()
    if text_embedding is None:
        saliency = novelty_saliency(embeddings, timestamps, duration, config=cfg)
    else:
        sim = np.asarray(embeddings, dtype=np.float32) @ np.asarray(text_embedding, dtype=np.float32)  # (T,)
        saliency = query_saliency(sim, timestamps, duration, clip_length=cfg.clip_length)
    spans = highlight_spans(
        saliency, duration, clip_length=cfg.clip_length, threshold=cfg.span_threshold, top_k=cfg.top_k
    )
    return GroundingResult(
        windows=tuple(spans),
        saliency=tuple(float(x) for x in saliency),
        clip_length=cfg.clip_length,
        duration=float(duration),
    )
