"""Indexing video files into a library: incremental, resumable, one transaction per video.

For each file: unchanged ones (same size and mtime, or same content hash after a touch) are
skipped; the rest are probed, decoded at the library's sampling policy (resized while decoding to
the encoder's input size), embedded batch by batch, written to the embeddings store (atomic
rename) and only then committed to the catalog. A kill therefore loses at most the video in
flight; its partial file is an orphan the next run deletes. A file that fails to decode is
recorded as ``failed`` with its error and ingest moves on.

Decoding and embedding are both CPU-bound. On a small machine running them in parallel threads
oversubscribes the cores and was measured *slower* than doing them one after the other, so they
overlap (decode one batch ahead in a thread) only when ``os.cpu_count()`` reaches
``IngestConfig.overlap_min_cpus``.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import ChronolensError, DecodeError
from chronolens.ingest.report import IngestReport
from chronolens.library.catalog import Catalog, VideoRecord
from chronolens.library.hashing import content_hash
from chronolens.library.store import EmbeddingStore
from chronolens.progress import progress_bar
from chronolens.video.sampling import Sampling

__all__ = ["VIDEO_EXTENSIONS", "IngestConfig", "discover", "embed_file", "ingest"]

logger = logging.getLogger(__name__)

# Suffixes picked up when a directory is indexed (an explicitly named file is always tried).
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".webm",
        ".avi",
        ".mpg",
        ".mpeg",
        ".ts",
        ".mts",
        ".m2ts",
        ".wmv",
        ".flv",
        ".3gp",
        ".ogv",
    }
)


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestConfig:
    """How ingest decodes and embeds."""

    batch_size: int = 32  # frames decoded and embedded per batch
    overlap_min_cpus: int = 4  # decode beside embed (in a thread) only with at least this many CPUs
    prefetch_batches: int = 2  # decoded batches buffered ahead of the encoder when overlapping
    decode_cpus: int = 2  # cores left to the decoder thread when overlapping (torch gets the rest)

    def __post_init__(self) -> None:
        for name in ("batch_size", "overlap_min_cpus", "prefetch_batches", "decode_cpus"):
            if getattr(self, name) < 1:
                raise ValueError(f"IngestConfig.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True)
class _Job:
    path: str  # absolute path
    size: int
    mtime_ns: int
    content_hash: str
    info: Any  # chronolens.video.VideoInfo


def discover(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """Expand files and directories into video files.

    Directories are walked recursively for ``VIDEO_EXTENSIONS`` (hidden entries skipped); files
    are taken as given.

    Returns:
        ``(files, roots)``: sorted unique absolute video files, and the absolute roots given (used to
        mark catalogued files under them that vanished).

    Raises:
        ChronolensError: when a given path does not exist.
    """
    files: set[Path] = set()
    roots: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        roots.append(path)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in filenames:
                    if not name.startswith(".") and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                        files.add(Path(dirpath) / name)
        elif path.is_file():
            files.add(path)
        elif not path.exists():
            continue  # may be a catalogued file that vanished; checked by the caller
        else:
            raise ChronolensError(f"not a regular file or directory: {path}")
    return sorted(files), roots


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _is_unchanged(record: VideoRecord | None, size: int, mtime_ns: int, stored: set[str]) -> bool:
    if record is None or record.size != size or record.mtime_ns != mtime_ns:
        return False
    if record.status == "failed":
        return True  # same bytes would fail the same way; touch the file to retry
    return record.status == "indexed" and record.embeddings is not None and record.embeddings in stored


def _decode_stream(
    jobs: list[_Job], sampling: Sampling, size: int, batch_size: int
) -> Iterator[tuple[_Job, Any, BaseException | None]]:
    """Yield ``(job, frames, None)`` per batch, ``(job, None, None)`` at a video's end, or an error."""
    from chronolens.video.reader import iter_frames

    for job in jobs:
        try:
            for frames in iter_frames(job.path, sampling, size=size, batch_size=batch_size):
                yield job, frames, None
        except ChronolensError as exc:
            yield job, None, exc
            continue
        yield job, None, None


_END = object()


def _prefetched(stream: Iterator[Any], depth: int) -> Iterator[Any]:
    """Run ``stream`` in a daemon thread, ``depth`` items ahead of the consumer."""
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in stream:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(_END)
        except BaseException as exc:  # forwarded to the consumer, re-raised there
            items.put(exc)

    thread = threading.Thread(target=produce, name="chronolens-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _set_torch_threads(n: int | None) -> int | None:
    """Set torch's intra-op threads if torch is loaded; returns the previous value."""
    torch = sys.modules.get("torch")
    if torch is None or n is None:
        return None
    previous = int(torch.get_num_threads())
    torch.set_num_threads(max(1, n))
    return previous


def _progress(total_seconds: float, n_videos: int, enabled: bool) -> Any:
    return progress_bar(
        total=round(total_seconds, 1),
        desc="indexing",
        unit="s",
        enabled=enabled,
        unit_scale=False,
        bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s video [{elapsed}<{remaining}{postfix}]"
        ),
        postfix={"videos": f"0/{n_videos}", "frames": 0},
    )


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    encoder: Encoder,
    sampling: Sampling,
    decode_size: int,
    config: IngestConfig = IngestConfig(),
    progress: bool = True,
) -> IngestReport:
    """Index ``paths`` into the catalog and store (the caller holds the library's write lock).

    Args:
        paths: video files and/or directories (recursed).
        catalog: the library catalog.
        store: the library's embeddings store.
        encoder: image encoder matching the library manifest.
        sampling: frame sampling policy of the library.
        decode_size: shorter side, in pixels, frames are resized to while decoding.
        config: batching / overlap settings.
        progress: show a progress bar on stderr (only when it is a terminal).

    Returns:
        What was indexed, skipped, failed and marked missing.
    """
    started = time.perf_counter()
    files, roots = discover(paths)
    store.remove_orphans(catalog.referenced_embeddings())

    for root in roots:
        if not root.exists() and catalog.get(str(root)) is None:
            raise ChronolensError(f"no such file or directory: {root}")
    missing = _mark_missing(catalog, files, roots)
    failed: dict[str, str] = {}
    jobs, unchanged = _plan(files, catalog, store.names(), failed)

    indexed, n_frames = _embed_jobs(
        jobs,
        catalog=catalog,
        store=store,
        encoder=encoder,
        sampling=sampling,
        decode_size=decode_size,
        config=config,
        progress=progress,
        failed=failed,
    )
    report = IngestReport(
        indexed=indexed,
        unchanged=unchanged,
        failed=failed,
        missing=missing,
        n_frames=n_frames,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "indexed %d, unchanged %d, failed %d, missing %d (%d frames, %.1f s)",
        len(indexed),
        len(unchanged),
        len(failed),
        len(missing),
        n_frames,
        report.seconds,
    )
    return report


def _mark_missing(catalog: Catalog, files: list[Path], roots: list[Path]) -> list[str]:
    """Mark catalogued videos under ``roots`` whose files vanished; return their paths."""
    missing = []
    present = {str(f) for f in files}
    for known in catalog.records():
        known_path = Path(known.path)
        if known.status == "missing" or known.path in present or not _under(known_path, roots):
            continue
        if not known_path.exists():
            catalog.set_status(known.path, "missing")
            missing.append(known.path)
    return missing


def _plan(
    files: list[Path], catalog: Catalog, stored: set[str], failed: dict[str, str]
) -> tuple[list[_Job], list[str]]:
    """Split ``files`` into jobs to embed and unchanged paths; unreadable ones go to ``failed``."""
    from chronolens.video.reader import probe

    unchanged: list[str] = []
    jobs: list[_Job] = []
    for file in files:
        path = str(file)
        stat = file.stat()
        record = catalog.get(path)
        if _is_unchanged(record, stat.st_size, stat.st_mtime_ns, stored):
            unchanged.append(path)
            continue
        digest = content_hash(file)
        if (
            record is not None
            and record.status in ("indexed", "missing")
            and record.size == stat.st_size
            and record.content_hash == digest
            and record.embeddings in stored
        ):
            catalog.touch(path, mtime_ns=stat.st_mtime_ns)
            if record.status == "missing":
                catalog.set_status(path, "indexed")
            unchanged.append(path)
            continue
        try:
            info = probe(file)
        except DecodeError as exc:
            catalog.upsert_failed(
                path=path, size=stat.st_size, mtime_ns=stat.st_mtime_ns, content_hash=digest, error=exc.cause
            )
            failed[path] = str(exc)
            logger.warning("%s", exc)
            continue
        jobs.append(_Job(path, stat.st_size, stat.st_mtime_ns, digest, info))
    return jobs, unchanged


def _embed_jobs(
    jobs: list[_Job],
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    encoder: Encoder,
    sampling: Sampling,
    decode_size: int,
    config: IngestConfig,
    progress: bool,
    failed: dict[str, str],
) -> tuple[list[str], int]:
    """Decode, embed, store and commit each job; returns ``(indexed paths, frames embedded)``."""
    cpus = os.cpu_count() or 1
    overlap = cpus >= config.overlap_min_cpus
    stream = _decode_stream(jobs, sampling, decode_size, config.batch_size)
    previous_threads = None
    if overlap:
        stream = _prefetched(stream, config.prefetch_batches)
        previous_threads = _set_torch_threads(cpus - config.decode_cpus)
    logger.debug("ingest: %d videos, overlap=%s (cpus=%d)", len(jobs), overlap, cpus)

    indexed: list[str] = []
    n_frames = 0
    bar = _progress(sum(job.info.duration for job in jobs), len(jobs), progress)
    embeddings: list[np.ndarray] = []
    timestamps: list[np.ndarray] = []
    shown = 0.0  # seconds of the current video already counted on the bar
    try:
        for job, frames, error in stream:
            if frames is not None:
                embeddings.append(encoder.encode_images(frames.images))  # (B, D)
                timestamps.append(frames.timestamps)
                n_frames += len(frames)
                advance = min(float(frames.timestamps[-1]), job.info.duration) - shown
                if advance > 0:
                    bar.update(advance)
                    shown += advance
                bar.set_postfix(
                    videos=f"{len(indexed) + len(failed)}/{len(jobs)}", frames=n_frames, refresh=False
                )
                continue
            emb = np.concatenate(embeddings) if embeddings else np.zeros((0, encoder.dim), np.float32)
            ts = np.concatenate(timestamps) if timestamps else np.zeros(0, np.float64)
            embeddings, timestamps = [], []
            if error is None and ts.size == 0:
                error = DecodeError(job.path, "no frames were sampled")
            if error is not None:
                cause = getattr(error, "cause", str(error))
                catalog.upsert_failed(
                    path=job.path,
                    size=job.size,
                    mtime_ns=job.mtime_ns,
                    content_hash=job.content_hash,
                    error=cause,
                )
                failed[job.path] = str(error)
                logger.warning("%s", error)
            else:
                _commit(job, emb, ts, catalog=catalog, store=store)
                indexed.append(job.path)
            bar.update(max(0.0, job.info.duration - shown))
            shown = 0.0
    finally:
        bar.close()
        _set_torch_threads(previous_threads)
    return indexed, n_frames


def _commit(
    job: _Job, embeddings: np.ndarray, timestamps: np.ndarray, *, catalog: Catalog, store: EmbeddingStore
) -> None:
    """Write a video's embeddings, then its catalog row, then drop the file the row used before."""
    name = EmbeddingStore.file_name(job.path, job.content_hash)
    store.save(name, embeddings, timestamps)
    info = job.info
    previous = catalog.upsert_indexed(
        path=job.path,
        size=job.size,
        mtime_ns=job.mtime_ns,
        content_hash=job.content_hash,
        duration=max(float(info.duration), float(timestamps[-1])),
        fps=float(info.fps),
        codec=str(info.codec),
        width=int(info.width),
        height=int(info.height),
        n_frames=int(timestamps.shape[0]),
        embeddings=name,
    )
    if previous is not None:
        store.delete(previous)
    logger.debug("indexed %s (%d frames)", job.path, timestamps.shape[0])


def embed_file(
    path: str | os.PathLike[str],
    *,
    encoder: Encoder,
    sampling: Sampling,
    decode_size: int | None = None,
    config: IngestConfig = IngestConfig(),
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode and embed one video as indexing would, writing nothing.

    Args:
        path: a video file.
        encoder: the image encoder.
        sampling: frame sampling policy.
        decode_size: shorter side frames are resized to while decoding (default: the encoder's
            input size).
        config: batching settings.

    Returns:
        ``(embeddings (T, D) float32, timestamps (T,) float64 seconds, duration seconds)``.

    Raises:
        DecodeError: the file cannot be decoded or yields no frames.
    """
    from chronolens.video.reader import iter_frames, probe

    info = probe(path)
    size = encoder.image_size if decode_size is None else decode_size
    embeddings, timestamps = [], []
    for frames in iter_frames(path, sampling, size=size, batch_size=config.batch_size):
        embeddings.append(encoder.encode_images(frames.images))  # (B, D)
        timestamps.append(frames.timestamps)
    if not timestamps:
        raise DecodeError(path, "no frames were sampled")
    ts = np.concatenate(timestamps)
    return (
        np.concatenate(embeddings).astype(np.float32, copy=False),
        ts,
        max(float(info.duration), float(ts[-1])),
    )
