"""FAISS IVF-PQ frame index: recall against exact search on near-duplicate frame vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chronolens.library.ann import AnnConfig, FrameIndex, _pq_subquantizers, exact_top_k
from chronolens.library.frames import FrameTable
from chronolens.library.view import SearchView
from chronolens.tasks.retrieval import rank_library, rank_videos

N_VIDEOS, N_FRAMES, DIM = 200, 300, 64
TEST_CONFIG = AnnConfig(train_points=30_000)  # default index parameters, smaller training sample (speed)
DRIFT = 0.15  # per-frame random-walk step relative to a unit vector: consecutive frames are near-duplicates


def _drifting_videos(seed: int = 0) -> list[np.ndarray]:
    """``N_VIDEOS`` videos of ``N_FRAMES`` slowly drifting unit vectors (random walks), float16-rounded."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=DRIFT / np.sqrt(DIM), size=(N_VIDEOS, N_FRAMES, DIM))
    walks = rng.normal(size=(N_VIDEOS, 1, DIM)) / np.sqrt(DIM) + np.cumsum(steps, axis=1)
    walks /= np.linalg.norm(walks, axis=2, keepdims=True)
    return [w.astype(np.float16).astype(np.float32) for w in walks]


def _table(videos: list[np.ndarray]) -> FrameTable:
    """An in-memory frame table of ``videos`` (video id = position)."""
    current = {i: (f"v{i}.npz", v.shape[0]) for i, v in enumerate(videos)}
    return FrameTable.build(
        current, lambda i: (videos[i], np.arange(N_FRAMES, dtype=np.float64)), dim=DIM, root=None
    )


@pytest.fixture(scope="module")
def dataset() -> tuple[list[np.ndarray], FrameIndex]:
    videos = _drifting_videos()
    table = _table(videos)
    index = FrameIndex.build(table.gather, dim=DIM, n_total=table.n_rows, config=TEST_CONFIG)
    return videos, index


def _queries(videos: list[np.ndarray], n: int = 40) -> np.ndarray:
    """Perturbed library frames (text-like queries land near some frames, not on them)."""
    rng = np.random.default_rng(1)
    picks = np.stack(
        [
            videos[v][f]
            for v, f in zip(rng.integers(0, N_VIDEOS, n), rng.integers(0, N_FRAMES, n), strict=True)
        ]
    )
    q = picks + rng.normal(scale=0.6 / np.sqrt(DIM), size=picks.shape)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def test_frame_recall_at_10_with_exact_rerank(dataset: tuple[list[np.ndarray], FrameIndex]) -> None:
    videos, index = dataset
    assert index.ntotal == N_VIDEOS * N_FRAMES
    vectors = np.concatenate(videos)  # (N, D)
    queries = _queries(videos)
    _, truth = exact_top_k(vectors, queries, 10)
    _, candidates = index.search(queries, 256)
    hits = 0
    for q, cand, true_rows in zip(queries, candidates, truth, strict=True):
        cand = cand[cand >= 0]
        reranked = cand[np.argsort(-(vectors[cand] @ q), kind="stable")[:10]]  # exact re-rank
        hits += len(set(reranked.tolist()) & set(true_rows.tolist()))
    recall = hits / truth.size
    assert recall >= 0.95, recall


def test_video_recall_at_10_matches_exact_ranking(dataset: tuple[list[np.ndarray], FrameIndex]) -> None:
    videos, index = dataset

    def load(video_id: int) -> tuple[np.ndarray, np.ndarray]:
        return videos[video_id], np.arange(N_FRAMES, dtype=np.float64)

    table = _table(videos)
    view = SearchView(records={}, table=table, index=index)
    hits = total = 0
    for q in _queries(videos, 20):
        exact = [h.video_id for h in rank_videos(q, range(N_VIDEOS), load, top_k=10)]
        approx = rank_library(q, view, top_k=10, candidate_frames=TEST_CONFIG.candidate_frames)
        hits += len(set(exact) & {h.video_id for h in approx})
        total += len(exact)
        # Re-ranking is exact: a video found by both has the same score.
        exact_scores = {h.video_id: h.score for h in rank_videos(q, range(N_VIDEOS), load, top_k=N_VIDEOS)}
        for h in approx:
            assert h.score == pytest.approx(exact_scores[h.video_id], abs=1e-6)
    assert hits / total >= 0.95, hits / total


def test_save_load_round_trip(dataset: tuple[list[np.ndarray], FrameIndex], tmp_path: Path) -> None:
    videos, index = dataset
    path = tmp_path / "frames-x.faiss"
    index.save(path)
    loaded = FrameIndex.load(path, nprobe=index.nprobe)
    q = _queries(videos, 3)
    np.testing.assert_array_equal(loaded.search(q, 20)[1], index.search(q, 20)[1])
    assert loaded.ntotal == index.ntotal


def test_exact_top_k_and_pq_shape_helpers() -> None:
    vectors = np.eye(5, dtype=np.float32)
    scores, rows = exact_top_k(vectors, np.array([[0.1, 0.9, 0.0, 0.5, 0.0]], np.float32), 3)
    assert rows.tolist() == [[1, 3, 0]]
    np.testing.assert_allclose(scores, [[0.9, 0.5, 0.1]])
    assert _pq_subquantizers(512, 8) == 64
    assert _pq_subquantizers(24, 5) == 4  # 24 // 5 = 4 divides 24
    assert _pq_subquantizers(7, 8) == 1


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"AnnConfig\.nprobe"):
        AnnConfig(nprobe=0)
    with pytest.raises(ValueError, match=r"AnnConfig\.pq_bits"):
        AnnConfig(pq_bits=0)
