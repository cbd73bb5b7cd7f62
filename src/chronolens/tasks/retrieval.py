"""Text-to-video retrieval: which videos match a query, by pooled frame similarity.

Pooling: a video's score is the mean of its ``POOL_TOP_K`` highest frame-query cosine
similarities (all frames when it has fewer). CLIP4Clip's parameter-free mean pooling averages
*every* frame, which drowns a short event in a long video (a 5 s event in a 10 min video moves the
mean by under 1%); max pooling is the opposite extreme and lets one noisy frame win. A top-k mean
keeps the event-length robustness of max while averaging out single-frame noise.

Candidates come either from every video (exact, small libraries) or from an approximate frame index
(frames -> their videos); every candidate is then re-scored exactly on its full frame matrix, so
the ranking among candidates is exact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

__all__ = ["POOL_TOP_K", "VideoHit", "pool_similarity", "rank_videos"]

POOL_TOP_K = 5  # frames averaged for a video's score (at 1 fps: the best 5 seconds)


@dataclass(frozen=True, slots=True)
class VideoHit:
    """One scored video with its similarity curve (kept for moment finding)."""

    video_id: int  # catalog row id
    score: float  # pooled similarity
    similarity: np.ndarray  # (T,) float32 cosine similarity of each frame with the query
    timestamps: np.ndarray  # (T,) float64 seconds


def pool_similarity(similarity: np.ndarray, *, top_k: int = POOL_TOP_K) -> float:
    """Mean of the ``top_k`` largest similarities (all of them when fewer).

    Args:
        similarity: ``(T,)`` frame-query similarities, T >= 1.
        top_k: frames averaged.
    """
    if similarity.size == 0:
        raise ValueError("pool_similarity needs at least one frame")
    k = min(top_k, similarity.size)
    best = np.partition(similarity, similarity.size - k)[similarity.size - k :]
    return float(best.mean())


def rank_videos(
    query: np.ndarray,
    video_ids: Iterable[int],
    load: Callable[[int], tuple[np.ndarray, np.ndarray]],
    *,
    top_k: int,
    pool_k: int = POOL_TOP_K,
) -> list[VideoHit]:
    """Score candidate videos exactly against a query embedding and keep the best.

    Args:
        query: ``(D,)`` float32 L2-normalised text embedding.
        video_ids: candidate video ids.
        load: returns ``(embeddings (T, D) float32, timestamps (T,) float64)`` of a video id.
        top_k: number of videos returned.
        pool_k: frames averaged per video (see ``pool_similarity``).

    Returns:
        Up to ``top_k`` hits, best first (ties broken by video id for determinism).
    """
    hits = []
    for video_id in video_ids:
        embeddings, timestamps = load(video_id)
        if embeddings.shape[0] == 0:
            continue
        similarity = embeddings @ query  # (T,)
        hits.append(VideoHit(video_id, pool_similarity(similarity, top_k=pool_k), similarity, timestamps))
    hits.sort(key=lambda h: (-h.score, h.video_id))
    return hits[:top_k]
