"""Committing a video into a library: its embeddings file, then its catalog row.

One sequence for every writer (decoded videos in ``chronolens.ingest``, precomputed features
through ``Library.add_features``): the embeddings file is written atomically and checksummed,
then the row is upserted in one transaction, then the file the row used before (if any) is
deleted. A kill between the steps leaves at most an orphan file, which
``EmbeddingStore.remove_orphans`` collects; a row never points to a missing file.

Precomputed features (one ``(T, D)`` matrix and ``(T,)`` timestamps per video, as Lighthouse and
moment_detr users bring them) are validated like any input before they are committed:
dimension against the library's manifest, finite values, no zero rows, increasing times.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from chronolens.errors import LibraryError
from chronolens.library.catalog import Catalog
from chronolens.library.store import STORAGE_DTYPE, EmbeddingStore
from chronolens.timebase.intervals import sample_step

__all__ = [
    "FEATURES_CODEC",
    "commit_video",
    "features_duration",
    "features_hash",
    "file_identity",
    "resolve",
    "validate_features",
]

logger = logging.getLogger(__name__)

FEATURES_CODEC = "features"  # the catalog's codec for a video added from precomputed features


def commit_video(
    catalog: Catalog,
    store: EmbeddingStore,
    *,
    path: str,
    size: int,
    mtime_ns: int,
    content_hash: str,
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    fps: float,
    codec: str,
    width: int,
    height: int,
    warning: str | None = None,
) -> str:
    """Write one video's embeddings, then its catalog row, then drop the file the row used before.

    Returns:
        The embeddings file name now referenced by the row.
    """
    name = EmbeddingStore.file_name(path, content_hash)
    store.save(name, embeddings, timestamps)
    checksum = store.checksum(name)  # just written: read back from the page cache
    if checksum is None:
        raise LibraryError(f"embeddings file {store.root / name} vanished right after it was written")
    store.seal(name, checksum[1])  # later runs trust it from stat (see chronolens.library.store)
    previous = catalog.upsert_indexed(
        path=path,
        size=size,
        mtime_ns=mtime_ns,
        content_hash=content_hash,
        duration=duration,
        fps=fps,
        codec=codec,
        width=width,
        height=height,
        n_frames=int(timestamps.shape[0]),
        embeddings=name,
        embeddings_size=checksum[0],
        embeddings_sha256=checksum[1],
        warning=warning,
    )
    if previous is not None:
        store.delete(previous)
    logger.debug("committed %s (%d frames)", path, timestamps.shape[0])
    return name


def validate_features(
    embeddings: np.ndarray, timestamps: np.ndarray, *, dim: int, source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Check precomputed features and return them L2-normalised (float32) with float64 times.

    Args:
        embeddings: ``(T, D)`` frame (or clip) features.
        timestamps: ``(T,)`` seconds of each row.
        dim: the library's embedding width D.
        source: what the features came from, named in errors (a file or video path).

    Raises:
        LibraryError: wrong shape or dimension, non-finite or zero rows, times not increasing.
    """
    emb = np.asarray(embeddings)
    ts = np.asarray(timestamps)
    if emb.ndim != 2 or emb.shape[0] < 1:
        raise LibraryError(f"{source}: features must be a (T, D) matrix with T >= 1, got shape {emb.shape}")
    if emb.shape[1] != dim:
        raise LibraryError(f"{source}: features are {emb.shape[1]}-d, the library's encoder is {dim}-d")
    if ts.shape != (emb.shape[0],):
        raise LibraryError(f"{source}: {emb.shape[0]} feature rows but timestamps of shape {ts.shape}")
    if not np.issubdtype(emb.dtype, np.number) or not np.issubdtype(ts.dtype, np.number):
        raise LibraryError(
            f"{source}: features and timestamps must be numeric, got {emb.dtype} and {ts.dtype}"
        )
    emb = emb.astype(np.float32)
    ts = ts.astype(np.float64)
    if not np.isfinite(emb).all():
        raise LibraryError(f"{source}: features contain NaN or infinite values (row {_first_bad_row(emb)})")
    if not np.isfinite(ts).all() or (ts < 0).any():
        raise LibraryError(f"{source}: timestamps must be finite seconds >= 0")
    if ts.size > 1 and not (np.diff(ts) > 0).all():
        at = int(np.flatnonzero(np.diff(ts) <= 0)[0]) + 1
        raise LibraryError(f"{source}: timestamps must increase, row {at} is {ts[at]} after {ts[at - 1]}")
    norms = np.linalg.norm(emb, axis=1, keepdims=True)
    if (norms == 0).any():
        raise LibraryError(f"{source}: feature row {int(np.flatnonzero(norms[:, 0] == 0)[0])} is all zeros")
    return emb / norms, ts


def features_hash(embeddings: np.ndarray, timestamps: np.ndarray) -> str:
    """The content hash of a video added from features: sha256 of what is stored."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(embeddings, dtype=STORAGE_DTYPE).tobytes())
    digest.update(np.ascontiguousarray(timestamps, dtype=np.float64).tobytes())
    return f"features-sha256:{digest.hexdigest()}"


def features_duration(timestamps: np.ndarray, duration: float | None) -> float:
    """The video's duration: given, or one sampling step past the last row."""
    if duration is not None:
        if not np.isfinite(duration) or duration < float(timestamps[-1]):
            raise LibraryError(
                f"duration {duration} s ends before the last feature row at {timestamps[-1]} s"
            )
        return float(duration)
    return float(timestamps[-1]) + sample_step(timestamps, 0.0)


def file_identity(path: str) -> tuple[int, int]:
    """``(size, mtime_ns)`` of the video file when it exists, else ``(0, 0)``."""
    try:
        st = Path(path).stat()
    except OSError:
        return 0, 0
    return st.st_size, st.st_mtime_ns


def _first_bad_row(emb: np.ndarray) -> int:
    return int(np.flatnonzero(~np.isfinite(emb).all(axis=1))[0])


def resolve(video: str | os.PathLike[str]) -> str:
    """The catalog key of a video path (absolute, resolved, like ingest's)."""
    return str(Path(video).expanduser().resolve())
