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
reported as ``skipped`` with the reason, and the other videos are indexed; files in a folder
without a video extension are counted as ``non_video``. A video is called unchanged only when its
embeddings file is intact (its recorded size, and its sha256 unless the file is still sealed as
written: ``chronolens.ingest.plan``), so a truncated or damaged embeddings file is re-indexed by
the next run, while a run with nothing new reads no embeddings file and loads no model.

Decoding and embedding are both CPU-bound. On a small machine running them in parallel threads
oversubscribes the cores and was measured *slower* than doing them one after the other, so they
overlap (decode one batch ahead in a thread) only when ``os.cpu_count()`` reaches
``IngestConfig.overlap_min_cpus``.

A library whose encoder is a clip encoder stores one row per overlapping clip instead of one per
frame, timed at the clip's centre (``chronolens.ingest.clips``); decoding, committing and
incrementality are the same.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from chronolens.errors import ChronolensError, DecodeError
from chronolens.ingest.clips import AnyEncoder, rows_for
from chronolens.ingest.discover import VIDEO_EXTENSIONS, discover
from chronolens.ingest.plan import Job, plan_run, reason
from chronolens.ingest.report import IngestReport
from chronolens.library.catalog import Catalog
from chronolens.library.manifest import is_clip_encoder
from chronolens.library.store import EmbeddingStore
from chronolens.library.writes import commit_video
from chronolens.progress import progress_bar
from chronolens.video.decoder import Damage
from chronolens.video.sampling import Sampling

__all__ = [
    "VIDEO_EXTENSIONS",
    "IngestConfig",
    "discover",
    "embed_file",
    "finish_video",
    "ingest",
    "progress_bar_for",
]

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


def _decode_stream(
    jobs: list[Job], sampling: Sampling, size: int, batch_size: int
) -> Iterator[tuple[Job, Any, BaseException | None]]:
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


def progress_bar_for(total_seconds: float, n_videos: int, enabled: bool) -> Any:
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
    encoder: AnyEncoder | Callable[[], AnyEncoder],
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
        encoder: image encoder matching the library manifest, or a function returning it, called
            only when some video needs embedding (a run with nothing new loads no model). A clip
            encoder stores one row per overlapping clip, timed at its centre (``ingest.clips``).
        sampling: frame sampling policy of the library.
        decode_size: shorter side, in pixels, frames are resized to while decoding.
        config: batching / overlap settings.
        progress: show a progress bar on stderr (only when it is a terminal).

    Returns:
        What was indexed, skipped, failed and marked missing.
    """
    run = plan_run(paths, catalog=catalog, store=store, retry_failed=config.retry_failed)
    indexed: list[str] = []
    n_frames = 0
    if run.jobs:  # the encoder is loaded (and the bar drawn) only when there is something to embed
        indexed, n_frames = _embed_jobs(
            run.jobs,
            catalog=catalog,
            store=store,
            encoder=_resolve(encoder),
            sampling=sampling,
            decode_size=decode_size,
            config=config,
            progress=progress,
            failed=run.failed,
            partial=run.partial,
        )
    return run.finish(indexed, n_frames)


def _resolve(encoder: AnyEncoder | Callable[[], AnyEncoder]) -> AnyEncoder:
    """The encoder itself, or the one a loader function returns (see ``ingest``)."""
    # not isinstance: the protocol check reads every member
    if hasattr(encoder, "encode_images") or is_clip_encoder(encoder):
        return encoder  # type: ignore[return-value]
    return encoder()  # type: ignore[operator]


def _embed_jobs(
    jobs: list[Job],
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    encoder: AnyEncoder,
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
    bar = progress_bar_for(sum(job.info.duration for job in jobs), len(jobs), progress)
    new_rows = rows_for(encoder)
    rows = new_rows()
    shown = 0.0  # seconds of the current video already counted on the bar
    done = 0  # videos of this run finished (indexed or failed)
    try:
        for job, frames, error in stream:
            if frames is not None:
                rows.add(frames.images, frames.timestamps)
                n_frames += len(frames)
                advance = min(float(frames.timestamps[-1]), job.info.duration) - shown
                if advance > 0:
                    bar.update(advance)
                    shown += advance
                bar.set_postfix(videos=f"{done}/{len(jobs)}", frames=n_frames, refresh=False)
                continue
            # a failed decode is recorded without its rows: no clip is embedded for it
            embeddings, timestamps = rows.finish() if error is None else ([], [])
            finish_video(
                job,
                embeddings,
                timestamps,
                damage=job.damage,
                error=error,
                dim=encoder.dim,
                catalog=catalog,
                store=store,
                indexed=indexed,
                failed=failed,
                partial=partial,
            )
            rows = new_rows()
            done += 1
            bar.set_postfix(videos=f"{done}/{len(jobs)}", frames=n_frames, refresh=False)
            bar.update(max(0.0, job.info.duration - shown))
            shown = 0.0
    finally:
        bar.close()
        _set_torch_threads(previous_threads)
    return indexed, n_frames


def finish_video(
    job: Job,
    embeddings: list[np.ndarray],
    timestamps: list[np.ndarray],
    *,
    damage: Damage,
    error: BaseException | None,
    dim: int,
    catalog: Catalog,
    store: EmbeddingStore,
    indexed: list[str],
    failed: dict[str, str],
    partial: dict[str, str],
) -> None:
    """Commit one decoded video, or record it as failed: the one end of every engine's video.

    Args:
        job: the planned file.
        embeddings: its ``(B, D)`` batches in time order.
        timestamps: their ``(B,)`` seconds.
        damage: what the decoder could not read (``partial()`` marks an incomplete video).
        error: the decode error, or ``None``.
        dim: the encoder's width D (for a video that gave no frame).
        catalog: the library catalog (the caller holds the write lock).
        store: the library's embeddings store.
        indexed: appended with the path when it is committed.
        failed: filled with path -> reason when it fails.
        partial: filled with path -> warning when it is committed incomplete.
    """
    emb = np.concatenate(embeddings) if embeddings else np.zeros((0, dim), np.float32)
    ts = np.concatenate(timestamps) if timestamps else np.zeros(0, np.float64)
    if error is None:
        error = _no_video(job.path, job.info, ts)
    if error is not None:
        cause = reason(error)
        catalog.upsert_failed(
            path=job.path, size=job.size, mtime_ns=job.mtime_ns, content_hash=job.content_hash, error=cause
        )
        failed[job.path] = cause
        logger.info("%s", error)  # the report lists it; the CLI prints it once
        return
    warning = damage.partial()
    _commit(job, emb, ts, catalog=catalog, store=store, warning=warning)
    indexed.append(job.path)
    if warning is not None:
        partial[job.path] = warning


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
    job: Job,
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    warning: str | None = None,
) -> None:
    """Commit a decoded video (``chronolens.library.writes.commit_video``: file, row, old file)."""
    info = job.info
    commit_video(
        catalog,
        store,
        path=job.path,
        size=job.size,
        mtime_ns=job.mtime_ns,
        content_hash=job.content_hash,
        embeddings=embeddings,
        timestamps=timestamps,
        duration=max(float(info.duration), float(timestamps[-1])),
        fps=float(info.fps),
        codec=str(info.codec),
        width=int(info.width),
        height=int(info.height),
        warning=warning,
    )
    logger.debug("indexed %s (%d frames)", job.path, timestamps.shape[0])


def embed_file(
    path: str | os.PathLike[str],
    *,
    encoder: AnyEncoder,
    sampling: Sampling,
    decode_size: int | None = None,
    config: IngestConfig = IngestConfig(),
) -> tuple[np.ndarray, np.ndarray, float]:
    """Decode and embed one video as indexing would, writing nothing.

    Args:
        path: a video file.
        encoder: the image encoder (a clip encoder gives one row per overlapping clip, timed at
            its centre, as a library of it stores).
        sampling: frame sampling policy.
        decode_size: shorter side frames are resized to while decoding (default: the encoder's
            input size).
        config: batching settings.

    Returns:
        ``(embeddings (T, D) float32, timestamps (T,) float64 seconds, duration seconds)``; for a
        clip encoder ``T`` counts clips.

    Raises:
        DecodeError: the file cannot be decoded or yields no frames.
    """
    from chronolens.video.reader import iter_frames, probe

    info = probe(path)
    size = encoder.image_size if decode_size is None else decode_size
    rows = rows_for(encoder)()
    for frames in iter_frames(path, sampling, size=size, batch_size=config.batch_size):
        rows.add(frames.images, frames.timestamps)
    embeddings, timestamps = rows.finish()
    ts = np.concatenate(timestamps) if timestamps else np.zeros(0, np.float64)
    error = _no_video(str(path), info, ts)
    if error is not None:
        raise error
    return (
        np.concatenate(embeddings).astype(np.float32, copy=False),
        ts,
        max(float(info.duration), float(ts[-1])),
    )
