"""Indexing video files into a library: incremental, resumable, one transaction per video.

For each file: unchanged ones (same size and mtime, or same content hash after a touch) are
skipped; the rest are probed, decoded at the library's sampling policy (resized while decoding to
the encoder's input size), embedded batch by batch, written to the embeddings store (atomic
rename) and only then committed to the catalog. A kill therefore loses at most the video in
flight; its partial file is an orphan the next run deletes. A file that fails to decode is
recorded as ``failed`` with its error and ingest moves on; one that decodes only in part (its
stream ends well before the duration its header states) is indexed and reported as ``partial``.

Walking a folder never follows a symlink to a directory (so no loop can be entered) and never
opens anything but regular files: dangling symlinks, symlink loops, FIFOs, sockets and devices are
reported as ``skipped`` with the reason, and the other videos are indexed. A video is called
unchanged only when its embeddings file is intact (size and sha256 as recorded in the catalog), so
a truncated or damaged embeddings file is re-indexed by the next run.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import ChronolensError, DecodeError, LibraryError
from chronolens.ingest.discover import VIDEO_EXTENSIONS, discover
from chronolens.ingest.report import IngestReport
from chronolens.library.catalog import Catalog, VideoRecord
from chronolens.library.hashing import content_hash
from chronolens.library.store import EmbeddingStore
from chronolens.progress import progress_bar
from chronolens.video.decoder import Damage
from chronolens.video.sampling import Sampling

__all__ = ["VIDEO_EXTENSIONS", "IngestConfig", "discover", "embed_file", "ingest"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestConfig:
    """How ingest decodes and embeds."""

    batch_size: int = 32  # frames decoded and embedded per batch
    overlap_min_cpus: int = 4  # decode beside embed (in a thread) only with at least this many CPUs
    prefetch_batches: int = 2  # decoded batches buffered ahead of the encoder when overlapping
    decode_cpus: int = 2  # cores left to the decoder thread when overlapping (torch gets the rest)
    retry_failed: bool = False  # re-probe files recorded as failed even when they did not change

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
    damage: Damage = field(default_factory=Damage)  # filled while decoding: what did not decode


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def _reusable(record: VideoRecord, catalog: Catalog, store: EmbeddingStore, stored: set[str]) -> bool:
    """Whether ``record``'s embeddings can be kept: a real video (duration > 0) whose embeddings
    file is present and matches its recorded checksum.

    Rows from a schema-1 catalog carry no checksum: their file is verified by loading it, and the
    checksum is recorded then, so later runs compare checksums. Duration 0 marks a still image an
    older chronolens indexed as a video (search hung on those); re-checked now, it fails.
    """
    if record.duration <= 0:
        return False
    if record.embeddings is None or record.embeddings not in stored:
        logger.warning("embeddings of %s are missing; re-indexing it", record.path)
        return False
    if record.embeddings_sha256 is None:
        if not store.verify(record.embeddings, size=None, sha256=None):
            logger.warning("embeddings of %s do not load; re-indexing it", record.path)
            return False
        checksum = store.checksum(record.embeddings)
        if checksum is not None:
            catalog.set_embeddings_checksum(record.path, size=checksum[0], sha256=checksum[1])
        return True
    if store.verify(record.embeddings, size=record.embeddings_size, sha256=record.embeddings_sha256):
        return True
    logger.warning("embeddings of %s are damaged; re-indexing it", record.path)
    return False


def _decode_stream(
    jobs: list[_Job], sampling: Sampling, size: int, batch_size: int
) -> Iterator[tuple[_Job, Any, BaseException | None]]:
    """Yield ``(job, frames, None)`` per batch, ``(job, None, None)`` at a video's end, or an error."""
    from chronolens.video.reader import iter_frames

    for job in jobs:
        try:
            for frames in iter_frames(
                job.path, sampling, size=size, batch_size=batch_size, damage=job.damage
            ):
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
    """The indexing bar: seconds of video done, with ``videos=done/n`` and ``frames`` after it.

    The total is the exact sum of the durations (a rounded one could end below or above what the
    updates add up to; ``progress_bar`` also clamps updates to the total, so it never overshoots
    into a negative time left). The loop counts a video in ``videos=`` once it is finished.
    """
    bar = progress_bar(
        total=total_seconds,
        desc="indexing",
        unit="s",
        enabled=enabled,
        unit_scale=False,
        bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}s video [{elapsed}<{remaining}{postfix}]"
        ),
        postfix={"videos": f"0/{n_videos}", "frames": 0},
    )
    return bar


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
    skipped: dict[str, str] = {}
    files, roots = discover(paths, skipped=skipped)
    store.remove_orphans(catalog.referenced_embeddings())

    for root in roots:
        if str(root) not in skipped and not root.exists() and catalog.get(str(root)) is None:
            raise ChronolensError(f"no such file or directory: {root}")
    for path, reason in skipped.items():
        logger.info("skipped %s: %s", path, reason)  # the report lists it; the CLI prints it once
    missing = _mark_missing(catalog, files, roots, skipped)
    failed: dict[str, str] = {}
    partial: dict[str, str] = {}
    jobs, unchanged = _plan(files, catalog, store, failed, retry_failed=config.retry_failed)

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
        partial=partial,
    )
    report = IngestReport(
        indexed=indexed,
        unchanged=unchanged,
        failed=failed,
        skipped=skipped,
        partial=partial,
        missing=missing,
        n_frames=n_frames,
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "indexed %d (partial %d), unchanged %d, failed %d, skipped %d, missing %d (%d frames, %.1f s)",
        len(indexed),
        len(partial),
        len(unchanged),
        len(failed),
        len(skipped),
        len(missing),
        n_frames,
        report.seconds,
    )
    return report


def _mark_missing(
    catalog: Catalog, files: list[Path], roots: list[Path], skipped: dict[str, str]
) -> list[str]:
    """Mark catalogued videos under ``roots`` whose files vanished (or are now skipped entries)."""
    missing = []
    present = {str(f) for f in files}
    for known in catalog.records():
        known_path = Path(known.path)
        if known.status == "missing" or known.path in present or not _under(known_path, roots):
            continue
        if known.path in skipped or not known_path.exists():
            catalog.set_status(known.path, "missing")
            missing.append(known.path)
    return missing


def _reason(error: BaseException) -> str:
    """The one-line reason a file failed, without its path (the report is keyed by the path)."""
    cause = getattr(error, "cause", None)
    return str(cause) if cause is not None else str(error)


def _plan(
    files: list[Path],
    catalog: Catalog,
    store: EmbeddingStore,
    failed: dict[str, str],
    *,
    retry_failed: bool = False,
) -> tuple[list[_Job], list[str]]:
    """Split ``files`` into jobs to embed and unchanged paths; unreadable ones go to ``failed``.

    A file recorded as failed whose bytes did not change (same size and mtime, or same content
    hash) fails again with its stored reason, without being re-probed, unless ``retry_failed``.
    """
    from chronolens.video.reader import probe

    stored = store.names()
    unchanged: list[str] = []
    jobs: list[_Job] = []
    for file in files:
        path = str(file)
        record = catalog.get(path)
        # Whether the row's embeddings can be kept: intact, and not a still image an older
        # chronolens indexed as a 0-second video (search hung on those; re-checked, they fail).
        reusable: bool | None = None  # decided once, only when needed (verifying reads the file)
        try:
            st = file.stat()
            if record is not None and record.size == st.st_size and record.mtime_ns == st.st_mtime_ns:
                if record.status == "failed" and not retry_failed:
                    failed[path] = record.error or "failed before"  # same bytes fail the same way
                    continue
                if record.status == "indexed":
                    reusable = _reusable(record, catalog, store, stored)
                    if reusable:
                        unchanged.append(path)
                        continue
            digest = content_hash(file)
        except OSError as exc:  # vanished or turned unreadable since discovery: nothing recorded
            failed[path] = f"cannot read: {exc.strerror or exc}"
            logger.info("%s: %s", path, failed[path])
            continue
        if (
            record is not None
            and record.status == "failed"
            and not retry_failed
            and record.size == st.st_size
            and record.content_hash == digest
        ):
            catalog.touch(path, mtime_ns=st.st_mtime_ns)  # touched, same bytes: still failed
            failed[path] = record.error or "failed before"
            continue
        if (
            record is not None
            and record.status in ("indexed", "missing")
            and record.size == st.st_size
            and record.content_hash == digest  # never equal across hash schemes: re-indexed then
            and (reusable if reusable is not None else _reusable(record, catalog, store, stored))
        ):
            catalog.touch(path, mtime_ns=st.st_mtime_ns)
            if record.status == "missing":
                catalog.set_status(path, "indexed")
            unchanged.append(path)
            continue
        try:
            info = probe(file)
        except DecodeError as exc:
            catalog.upsert_failed(
                path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=digest, error=exc.cause
            )
            failed[path] = _reason(exc)
            logger.info("%s", exc)
            continue
        jobs.append(_Job(path, st.st_size, st.st_mtime_ns, digest, info))
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
    partial: dict[str, str],
) -> tuple[list[str], int]:
    """Decode, embed, store and commit each job; returns ``(indexed paths, frames embedded)``.

    Fills ``failed`` (path -> error) and ``partial`` (indexed path -> warning) as it goes.
    """
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
    done = 0  # videos of this run finished (indexed or failed)
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
                bar.set_postfix(videos=f"{done}/{len(jobs)}", frames=n_frames, refresh=False)
                continue
            emb = np.concatenate(embeddings) if embeddings else np.zeros((0, encoder.dim), np.float32)
            ts = np.concatenate(timestamps) if timestamps else np.zeros(0, np.float64)
            embeddings, timestamps = [], []
            if error is None:
                error = _no_video(job.path, job.info, ts)
            if error is not None:
                cause = _reason(error)
                catalog.upsert_failed(
                    path=job.path,
                    size=job.size,
                    mtime_ns=job.mtime_ns,
                    content_hash=job.content_hash,
                    error=cause,
                )
                failed[job.path] = cause
                logger.info("%s", error)  # the report lists it; the CLI prints it once
            else:
                warning = job.damage.partial()
                _commit(job, emb, ts, catalog=catalog, store=store, warning=warning)
                indexed.append(job.path)
                if warning is not None:
                    partial[job.path] = warning
            done += 1
            bar.set_postfix(videos=f"{done}/{len(jobs)}", frames=n_frames, refresh=False)
            bar.update(max(0.0, job.info.duration - shown))
            shown = 0.0
    finally:
        bar.close()
        _set_torch_threads(previous_threads)
    return indexed, n_frames


def _no_video(path: str, info: Any, timestamps: np.ndarray) -> DecodeError | None:
    """The error for a decode that gave nothing a video index can use, else ``None``.

    No frame at all, or one frame from a stream without duration: a still image (FFmpeg opens a PNG
    or JPEG named ``.mp4`` as a one-frame stream), which must not become a 0-second video.
    """
    if timestamps.size == 0:
        return DecodeError(path, "no frames were sampled")
    if timestamps.size == 1 and float(info.duration) == 0.0:
        return DecodeError(path, f"a still image ({info.codec}, one frame, no duration), not a video")
    return None


def _commit(
    job: _Job,
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    warning: str | None = None,
) -> None:
    """Write a video's embeddings, then its catalog row, then drop the file the row used before."""
    name = EmbeddingStore.file_name(job.path, job.content_hash)
    store.save(name, embeddings, timestamps)
    checksum = store.checksum(name)  # just written: read back from the page cache
    if checksum is None:
        raise LibraryError(f"embeddings file {store.root / name} vanished right after it was written")
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
        embeddings_size=checksum[0],
        embeddings_sha256=checksum[1],
        warning=warning,
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
    ts = np.concatenate(timestamps) if timestamps else np.zeros(0, np.float64)
    error = _no_video(str(path), info, ts)
    if error is not None:
        raise error
    return (
        np.concatenate(embeddings).astype(np.float32, copy=False),
        ts,
        max(float(info.duration), float(ts[-1])),
    )
