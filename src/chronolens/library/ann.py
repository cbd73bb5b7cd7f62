"""Approximate nearest-neighbour search over every frame vector of a library (FAISS IVF-PQ).

Small libraries are searched exactly (one product of the query with every frame), faster and
exact below a few tens of thousands of frames. From ``AnnConfig.min_frames`` frames on, the library
builds a FAISS ``IndexIVFPQ`` (inner product) over all frame vectors: it returns a generous set of
candidate frames, their videos are re-scored exactly on their full frame matrices, so the PQ
quantisation error only affects *which* videos are candidates, never their final scores. HNSW is
deliberately not used: consecutive frames are near-duplicates, and graph indexes lose recall badly
on such clustered data, while IVF with enough probes and exact re-ranking holds.

Rows of the index are the global rows of the library's frame table
(``chronolens.library.frames``), which owns the row -> video map and persists the index under
``ann/`` next to its shards; the index grows with the table (``add_rows``) and is retrained only
when the table is rebuilt.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import missing_dependency

__all__ = ["AnnConfig", "FrameIndex", "exact_top_k", "import_faiss", "set_threads"]

logger = logging.getLogger(__name__)

MIN_NLIST = 16  # fewest IVF cells ever built
TRAIN_POINTS_PER_CELL = 39  # FAISS k-means wants at least this many training points per centroid
ADD_BATCH = 65_536  # rows converted to float32 and added to the index at once (256 MB at D=1024)


@dataclass(frozen=True, kw_only=True, slots=True)
class AnnConfig:
    """When and how the library uses an approximate frame index."""

    min_frames: int = 50_000  # libraries with at least this many frames use FAISS; smaller: exact
    nlist: int | None = None  # IVF cells; None: sqrt(N), capped so each cell has enough training points
    nprobe: int = 192  # IVF cells scanned per query (more: recall, slower); 192: weak recall@10 0.96 at 1M
    pq_subvector_dim: int = 8  # embedding dims per PQ sub-quantizer (m = D / this, rounded to a divisor of D)
    pq_bits: int = 8  # bits per PQ code
    candidate_frames: int = 2048  # frames fetched per query before the exact re-ranking of their videos
    train_points: int = 100_000  # at most this many frame vectors train the quantizers
    train_per_list: int = 64  # training points per IVF cell (FAISS wants >= 39; more barely helps)
    seed: int = 0  # seed for the training sample and k-means
    # FAISS OpenMP threads; None: every CPU. Idle OpenMP workers would spin (on 2 busy cores that
    # made a 2-thread build 2x slower than 1), so chronolens imports FAISS with OMP_WAIT_POLICY
    # PASSIVE unless the environment sets it.
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"AnnConfig.threads must be >= 1 or None, got {self.threads}")
        for name in (
            "min_frames",
            "nprobe",
            "pq_subvector_dim",
            "candidate_frames",
            "train_points",
            "train_per_list",
        ):
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
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when OpenMP starts
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
    nlist = config.nlist if config.nlist is not None else int(math.sqrt(n))
    cap = max(1, min(n, config.train_points) // TRAIN_POINTS_PER_CELL)
    return max(1, min(max(nlist, MIN_NLIST), cap))


class FrameIndex:
    """A FAISS IVF-PQ index over frame vectors; rows are the library frame table's global rows.

    Build with ``FrameIndex.build`` (train on a sample, add in batches) and grow with ``add``;
    ``search`` returns approximate candidate rows, to be re-scored exactly by the caller.
    """

    def __init__(self, index: Any, nprobe: int) -> None:
        self._index = index
        self.nprobe = nprobe
        index.nprobe = nprobe
        # One query at a time: split its probed cells over the threads (the default splits
        # queries, which leaves all but one thread idle). 3.7 vs 7.1 ms at 1M frames, nprobe 128, 2 cores.
        index.parallel_mode = 1

    @property
    def ntotal(self) -> int:
        """Number of frame vectors indexed."""
        return int(self._index.ntotal)

    @classmethod
    def build(
        cls,
        gather: Callable[[np.ndarray], np.ndarray],
        *,
        dim: int,
        n_total: int,
        config: AnnConfig = AnnConfig(),
    ) -> FrameIndex:
        """Train an index on a sample of rows and add every row, in batches.

        Args:
            gather: returns the ``(k, D)`` float32 vectors of global rows ``(k,)``.
            dim: embedding width D.
            n_total: number of rows (0 .. n_total - 1 are added, in order).
            config: index parameters.
        """
        faiss = import_faiss()
        set_threads(config)
        if n_total < 1:
            raise ValueError("FrameIndex.build needs at least one frame vector")
        nlist = _auto_nlist(n_total, config)
        m = _pq_subquantizers(dim, config.pq_subvector_dim)
        # Training sample: every stride-th row (deterministic, spread over all videos).
        sample = min(config.train_points, max(config.train_per_list * nlist, 2**config.pq_bits * 39))
        stride = max(1, math.ceil(n_total / sample))
        train = np.ascontiguousarray(gather(np.arange(0, n_total, stride)), dtype=np.float32)  # (S, D)
        # A PQ codebook has 2**bits centroids and needs at least that many training points.
        bits = max(1, min(config.pq_bits, int(math.log2(train.shape[0]))))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, bits, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = config.seed
        index.pq.cp.seed = config.seed
        index.train(train)
        built = cls(index, config.nprobe)
        built.add_rows(gather, 0, n_total)
        logger.info("built IVF-PQ frame index: %d frames, nlist=%d, m=%d", n_total, nlist, m)
        return built

    def add_rows(self, gather: Callable[[np.ndarray], np.ndarray], start: int, stop: int) -> None:
        """Add global rows ``start .. stop - 1`` (they must follow the rows already indexed)."""
        if start != self.ntotal:
            raise ValueError(f"rows must be added in order: index has {self.ntotal}, got start {start}")
        for lo in range(start, stop, ADD_BATCH):
            rows = np.arange(lo, min(lo + ADD_BATCH, stop))
            self._index.add(np.ascontiguousarray(gather(rows), dtype=np.float32))

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
        return scores, rows.astype(np.int64, copy=False)

    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically."""
        faiss = import_faiss()
        tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
        faiss.write_index(self._index, str(tmp))
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, *, nprobe: int) -> FrameIndex:
        """Read an index written by ``save``."""
        faiss = import_faiss()
        return cls(faiss.read_index(str(path)), nprobe)


def set_threads(config: AnnConfig) -> None:
    """Give FAISS ``config.threads`` OpenMP threads (``None``: every CPU)."""
    import_faiss().omp_set_num_threads(config.threads or (os.cpu_count() or 1))
