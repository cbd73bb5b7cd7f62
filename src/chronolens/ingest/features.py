"""Indexing precomputed features: one ``.npy`` / ``.npz`` file per video instead of the video.

Researchers often arrive with features made elsewhere (moment_detr / Lighthouse ship CLIP clip
features per video; a cluster job may have embedded an archive already). ``index_features``
reads them and commits each through ``Library.add_features`` — validated (shape, dimension
against the library's manifest, finite values, increasing times) and committed like a decoded
video, one at a time, so a kill loses at most the file in flight.

File formats:

- ``.npz`` with ``embeddings`` (or ``features``) ``(T, D)`` and optionally ``timestamps``
  ``(T,)`` seconds and ``duration`` (a scalar);
- ``.npy`` holding just the ``(T, D)`` matrix.

Without timestamps, row ``i`` is the clip ``[i * step, (i + 1) * step)`` and stands at its centre,
``(i + 0.5) * step`` seconds; ``step`` defaults to 2 s, the QVHighlights / moment_detr clip
length. Each file's catalog key is its path without the suffix (``feats/vid042.npz`` ->
``feats/vid042``), so re-indexing the same directory replaces, never duplicates; an unchanged
file (same stored content) is left alone.
"""

from __future__ import annotations

import logging
import os
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from chronolens.errors import LibraryError
from chronolens.ingest.report import IngestReport
from chronolens.library.library import Library
from chronolens.library.writes import features_hash, resolve, validate_features
from chronolens.progress import progress_bar

__all__ = ["FEATURE_SUFFIXES", "QVH_CLIP_STEP", "feature_files", "index_features", "read_features"]

logger = logging.getLogger(__name__)

FEATURE_SUFFIXES = (".npz", ".npy")
QVH_CLIP_STEP = 2.0  # seconds per feature row when a file has no timestamps (QVHighlights clips)
_EMBEDDING_KEYS = ("embeddings", "features")


def feature_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The feature files named by ``paths`` (files, or directories searched recursively), sorted.

    Raises:
        LibraryError: a path does not exist, or names a file that is not ``.npy`` / ``.npz``.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            found.extend(p for p in path.rglob("*") if p.suffix in FEATURE_SUFFIXES and p.is_file())
        elif path.is_file():
            if path.suffix not in FEATURE_SUFFIXES:
                raise LibraryError(f"{path}: features must be .npy or .npz files")
            found.append(path)
        else:
            raise LibraryError(f"{path}: no such file or directory")
    return sorted(set(found))


def read_features(path: Path, *, step: float = QVH_CLIP_STEP) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``(embeddings (T, D), timestamps (T,), duration or None)`` of one features file.

    Raises:
        LibraryError: unreadable file, or an ``.npz`` without an embeddings array.
    """
    try:
        if path.suffix == ".npy":
            embeddings = np.load(path, allow_pickle=False)
            timestamps = None
            duration = None
        else:
            with np.load(path, allow_pickle=False) as data:
                key = next((k for k in _EMBEDDING_KEYS if k in data.files), None)
                if key is None:
                    found = ", ".join(data.files) or "none"
                    raise LibraryError(f"{path}: no 'embeddings' or 'features' array (found: {found})")
                embeddings = data[key]
                timestamps = data["timestamps"] if "timestamps" in data.files else None
                duration = float(data["duration"]) if "duration" in data.files else None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise LibraryError(f"{path}: not a readable numpy file ({exc})") from exc
    if timestamps is None:
        if embeddings.ndim < 1:
            raise LibraryError(f"{path}: features must be a (T, D) matrix, got shape {embeddings.shape}")
        timestamps = (np.arange(embeddings.shape[0], dtype=np.float64) + 0.5) * step
        duration = duration if duration is not None else embeddings.shape[0] * step
    return embeddings, timestamps, duration


def index_features(
    library: Library,
    paths: Iterable[str | os.PathLike[str]],
    *,
    step: float = QVH_CLIP_STEP,
    progress: bool = True,
) -> IngestReport:
    """Add every features file under ``paths`` to ``library`` (see the module docstring).

    Args:
        library: an open, writable library.
        paths: ``.npy`` / ``.npz`` files and/or directories.
        step: seconds per row for files without timestamps.
        progress: show a bar on stderr (drawn only on a terminal).

    Returns:
        What was indexed, unchanged and failed (a bad file fails alone, with its reason).

    Raises:
        LibraryError: a path does not exist, the library is read-only or being written by another
            process.
    """
    if not step > 0:
        raise ValueError(f"step must be > 0 seconds, got {step}")
    started = time.perf_counter()
    files = feature_files(paths)
    indexed: list[str] = []
    unchanged: list[str] = []
    failed: dict[str, str] = {}
    n_frames = 0
    with (
        library.writing(),
        progress_bar(total=len(files), desc="features", unit="file", enabled=progress) as bar,
    ):
        for file in files:
            key = resolve(file.with_suffix(""))
            try:
                embeddings, timestamps, duration = read_features(file, step=step)
                emb, ts = validate_features(
                    embeddings, timestamps, dim=library.manifest.dim, source=str(file)
                )
                record = library.lookup(key)
                if (
                    record is not None
                    and record.status == "indexed"
                    and record.content_hash == features_hash(emb, ts)
                ):
                    unchanged.append(key)
                else:
                    library.add_features(key, ts, emb, duration=duration)
                    indexed.append(key)
                    n_frames += ts.shape[0]
            except LibraryError as exc:
                failed[key] = str(exc)
                logger.info("failed %s", exc)
            bar.update(1)
    if indexed:
        library.search_view()  # the frame table (and index) now, so the first search is fast
    return IngestReport(
        indexed=indexed,
        unchanged=unchanged,
        failed=failed,
        n_frames=n_frames,
        seconds=time.perf_counter() - started,
    )
