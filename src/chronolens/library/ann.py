"""Approximate nearest-neighbour search over every frame vector of a library (FAISS IVF-PQ).

Small libraries are searched exactly (one matrix product per video), which is both faster and
exact below a few tens of thousands of frames. From ``AnnConfig.min_frames`` frames on, the library
builds a FAISS ``IndexIVFPQ`` (inner product) over all frame vectors: it returns a generous set of
candidate frames, their videos are re-scored exactly on their full frame matrices, so the PQ
quantisation error only affects *which* videos are candidates, never their final scores. HNSW is
deliberately not used: consecutive frames are near-duplicates, and graph indexes lose recall badly
on such clustered data, while IVF with enough probes and exact re-ranking holds.

The index is persisted under the library's ``ann/`` directory in files named by a fingerprint of
the catalog content it covers, so a stale index is never used and a rebuild is an atomic rename.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import missing_dependency

__all__ = ["AnnConfig", "FrameIndex", "exact_top_k", "import_faiss"]

logger = logging.getLogger(__name__)

MIN_NLIST = 16  # fewest IVF cells ever built
TRAIN_POINTS_PER_CELL = 39  # FAISS k-means wants at least this many training points per centroid


@dataclass(frozen=True, kw_only=True, slots=True)
class AnnConfig:
    """When and how the library uses an approximate frame index."""

    min_frames: int = 50_000  # libraries with at least this many frames use FAISS; smaller: exact
    nlist: int | None = None  # IVF cells; None: 2 * sqrt(N), capped so each cell has enough training points
    nprobe: int = 64  # IVF cells scanned per query (more: better recall, slower)
    pq_subvector_dim: int = 8  # embedding dims per PQ sub-quantizer (m = D / this, rounded to a divisor of D)
    pq_bits: int = 8  # bits per PQ code
    candidate_frames: int = 2048  # frames fetched per query before the exact re-ranking of their videos
    train_points: int = 100_000  # at most this many frame vectors train the quantizers
    seed: int = 0  # seed for the training sample and k-means
    # FAISS OpenMP threads; None: half the CPUs. OpenMP workers spin while waiting, so on a small,
    # busy machine 2 threads trained 12x slower than 1 (measured on 2 shared cores).
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"AnnConfig.threads must be >= 1 or None, got {self.threads}")
        for name in ("min_frames", "nprobe", "pq_subvector_dim", "candidate_frames", "train_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"AnnConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.nlist is not None and self.nlist < 1:
            raise ValueError(f"AnnConfig.nlist must be >= 1 or None, got {self.nlist}")
        if not 1 <= self.pq_bits <= 16:
            raise ValueError(f"AnnConfig.pq_bits must be in [1, 16], got {self.pq_bits}")


def import_faiss() -> Any:
    """Import FAISS lazily.

    Raises:
        MissingDependencyError: when faiss is not installed, naming the extra to install.
    """
    try:
        import faiss
    except ImportError as exc:
        raise missing_dependency("faiss", "faiss", "approximate search over large libraries") from exc
    return faiss


def exact_top_k(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k.

    Args:
        vectors: ``(N, D)`` float32.
        queries: ``(Q, D)`` float32.
        k: results per query (capped at N).

    Returns:
        ``scores`` ``(Q, k)`` descending and ``rows`` ``(Q, k)`` int64 indices into ``vectors``.
    """
    k = min(k, vectors.shape[0])
    sims = queries @ vectors.T  # (Q, N)
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]  # (Q, k) unordered
    part_scores = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part_scores, order, axis=1), np.take_along_axis(part, order, axis=1).astype(
        np.int64
    )


def _pq_subquantizers(dim: int, subvector_dim: int) -> int:
    """The largest divisor of ``dim`` not above ``dim / subvector_dim`` (at least 1)."""
    target = max(1, dim // subvector_dim)
    return next(m for m in range(target, 0, -1) if dim % m == 0)


def _auto_nlist(n: int, config: AnnConfig) -> int:
    nlist = config.nlist if config.nlist is not None else int(2 * math.sqrt(n))
    cap = max(1, min(n, config.train_points) // TRAIN_POINTS_PER_CELL)
    return max(1, min(max(nlist, MIN_NLIST), cap))


class FrameIndex:
    """A FAISS IVF-PQ index over frame vectors, each row tagged with the id of its video.

    Build with ``FrameIndex.build``; ``search`` returns approximate candidates, to be re-ranked
    exactly by the caller.
    """

    def __init__(self, index: Any, owners: np.ndarray, nprobe: int) -> None:
        self._index = index
        self.owners = owners  # (N,) int64 video id of each indexed frame
        self.nprobe = nprobe
        index.nprobe = nprobe

    @property
    def ntotal(self) -> int:
        """Number of frame vectors indexed."""
        return int(self._index.ntotal)

    @classmethod
    def build(
        cls,
        chunks: Callable[[], Iterable[tuple[int, np.ndarray]]],
        *,
        dim: int,
        n_total: int,
        config: AnnConfig = AnnConfig(),
    ) -> FrameIndex:
        """Train and fill an index from per-video frame matrices.

        Args:
            chunks: called twice (train, then add); yields ``(video_id, (T, D) float32)`` pairs in
                the same order each time.
            dim: embedding width D.
            n_total: total number of frames the chunks yield.
            config: index parameters.
        """
        faiss = import_faiss()
        faiss.omp_set_num_threads(config.threads or max(1, (os.cpu_count() or 1) // 2))
        if n_total < 1:
            raise ValueError("FrameIndex.build needs at least one frame vector")
        nlist = _auto_nlist(n_total, config)
        m = _pq_subquantizers(dim, config.pq_subvector_dim)
        # Training sample: every stride-th frame (deterministic, spread over all videos).
        stride = max(1, math.ceil(n_total / config.train_points))
        offset = 0
        sample: list[np.ndarray] = []
        for _, emb in chunks():
            start = (-offset) % stride
            sample.append(emb[start::stride])
            offset += emb.shape[0]
        train = np.ascontiguousarray(np.concatenate(sample), dtype=np.float32)  # (S, D)
        # A PQ codebook has 2**bits centroids and needs at least that many training points.
        bits = max(1, min(config.pq_bits, int(math.log2(train.shape[0]))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, bits, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = config.seed
        index.pq.cp.seed = config.seed
        index.train(train)
        owners = []
        for video_id, emb in chunks():
            index.add(np.ascontiguousarray(emb, dtype=np.float32))
            owners.append(np.full(emb.shape[0], video_id, dtype=np.int64))
        logger.info("built IVF-PQ frame index: %d frames, nlist=%d, m=%d", n_total, nlist, m)
        return cls(index, np.concatenate(owners), config.nprobe)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-k frames per query.

        Args:
            queries: ``(Q, D)`` float32, L2-normalised.
            k: candidates per query.

        Returns:
            ``scores`` ``(Q, k)`` approximate inner products and ``rows`` ``(Q, k)`` int64 frame rows
            (``-1`` where fewer than k were found).
        """
        scores, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return scores, rows.astype(np.int64)

    def candidate_videos(self, query: np.ndarray, n_frames: int) -> list[int]:
        """Ids of the videos owning the ``n_frames`` best approximate frames, best first.

        Args:
            query: ``(D,)`` float32.
            n_frames: number of candidate frames to fetch.
        """
        _, rows = self.search(query[None, :], min(n_frames, self.ntotal))
        seen: dict[int, None] = {}
        for row in rows[0]:
            if row >= 0:
                seen.setdefault(int(self.owners[row]), None)
        return list(seen)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (``.faiss``) and owners beside it (``.owners.npy``), atomically."""
        faiss = import_faiss()
        owners_path = path.with_suffix(".owners.npy")
        tmp_owners = owners_path.with_name(f".{owners_path.name}.partial-{os.getpid()}")
        with tmp_owners.open("wb") as fh:
            np.save(fh, self.owners)
        os.replace(tmp_owners, owners_path)
        tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
        faiss.write_index(self._index, str(tmp))
        # The index file appears last: its presence means both files are complete.
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, nprobe: int) -> FrameIndex:
        """Read an index written by ``save``."""
        faiss = import_faiss()
        index = faiss.read_index(str(path))
        owners = np.load(path.with_suffix(".owners.npy"), allow_pickle=False)
        return cls(index, owners, nprobe)
