"""Video scoring: top-k mean pooling and exact ranking of candidates."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.retrieval import POOL_TOP_K, pool_similarity, rank_videos


def test_pool_is_mean_of_top_k_frames() -> None:
    sim = np.array([0.1, 0.9, 0.2, 0.8, 0.7, 0.0, 0.6, 0.5])
    assert pool_similarity(sim, top_k=3) == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert pool_similarity(sim[:2], top_k=POOL_TOP_K) == pytest.approx(0.5)  # fewer frames than k
    with pytest.raises(ValueError, match="at least one frame"):
        pool_similarity(np.zeros(0))


def test_short_event_in_long_video_beats_mediocre_short_video() -> None:
    """Top-k pooling keeps a short strong event visible where CLIP4Clip mean pooling would not."""
    q = np.array([1.0, 0.0], np.float32)
    long_video = np.tile([[0.0, 1.0]], (600, 1)).astype(np.float32)
    long_video[100:105] = [1.0, 0.0]  # a 5-frame event in 600 frames
    mediocre = np.tile([[0.6, 0.8]], (20, 1)).astype(np.float32)
    videos = {0: long_video, 1: mediocre}

    def load(video_id: int) -> tuple[np.ndarray, np.ndarray]:
        return videos[video_id], np.arange(len(videos[video_id]), dtype=np.float64)

    hits = rank_videos(q, [1, 0], load, top_k=2)
    assert [h.video_id for h in hits] == [0, 1]
    assert hits[0].score == pytest.approx(1.0) and hits[1].score == pytest.approx(0.6)
    assert hits[0].similarity.shape == (600,)
    assert float(long_video @ q @ np.ones(600) / 600) < 0.6  # mean pooling would have ranked it last
    assert len(rank_videos(q, [0, 1], load, top_k=1)) == 1
