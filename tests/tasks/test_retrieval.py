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


def _random_videos(seed: int, n: int, dim: int = 16) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    videos = {}
    for vid in range(n):
        length = int(rng.integers(1, 40))  # lengths from 1 (below POOL_TOP_K) up
        emb = rng.normal(size=(length, dim))
        videos[vid * 3 + 1] = (
            (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
        )
    return videos


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rank_library_exact_mode_equals_scoring_every_video(seed: int) -> None:
    """Exact mode (no index) returns what scoring every video does: same ids, order and scores,
    also after videos were re-indexed (dead rows) and with top_k above the shortlist."""
    from chronolens.library.frames import FrameTable
    from chronolens.library.view import SearchView
    from chronolens.tasks.retrieval import rank_library

    videos = _random_videos(seed, 120)
    ts = {v: np.arange(e.shape[0], dtype=np.float64) for v, e in videos.items()}
    first = dict(list(videos.items())[:80])
    table = FrameTable.build(
        {v: (f"{v}.npz", e.shape[0]) for v, e in first.items()},
        lambda v: (videos[v], ts[v]),
        dim=16,
        root=None,
    )
    rng = np.random.default_rng(seed + 10)
    changed = {v: rng.normal(size=e.shape) for v, e in list(first.items())[:5]}
    for v, e in changed.items():  # unit rows, rounded to the table's float16
        videos[v] = (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
    current = {v: (f"{v}{'-new' if v in changed else ''}.npz", e.shape[0]) for v, e in videos.items()}
    table, _ = table.updated(current, lambda v: (videos[v], ts[v]), root=None)
    assert table.n_rows > table.n_live  # the re-indexed videos left dead rows behind
    view = SearchView(records={}, table=table, index=None)

    def load(video_id: int) -> tuple[np.ndarray, np.ndarray]:
        return videos[video_id], ts[video_id]

    for q in rng.normal(size=(10, 16)):
        q = (q / np.linalg.norm(q)).astype(np.float32)
        for top_k in (1, 10, 50):
            want = rank_videos(q, videos, load, top_k=top_k)
            got = rank_library(q, view, top_k=top_k, candidate_frames=64, shortlist=8)
            assert [h.video_id for h in got] == [h.video_id for h in want]
            np.testing.assert_allclose([h.score for h in got], [h.score for h in want], atol=1e-6)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(g.similarity, w.similarity, atol=1e-6)
                np.testing.assert_array_equal(g.timestamps, w.timestamps)


def test_pool_by_owner_matches_pool_similarity() -> None:
    from chronolens.tasks.retrieval import pool_by_owner

    rng = np.random.default_rng(3)
    sims = rng.normal(size=500).astype(np.float32)
    owners = rng.integers(0, 40, size=500)
    ids, sums, counts = pool_by_owner(sims, owners, top_k=5)
    assert ids.tolist() == sorted(set(owners.tolist()))
    for vid, total, count in zip(ids, sums, counts, strict=True):
        mine = sims[owners == vid]
        assert count == min(5, mine.size)
        assert total / count == pytest.approx(pool_similarity(mine, top_k=5), abs=1e-6)
