"""Indexing on Ray: decode as CPU tasks, embed in an actor pool, commit on the driver.

The driver does what one process does before decoding (``plan.plan_run``: list, hash, plan,
mark missing) and after (``local.finish_video``: the one commit path), so a library built here
equals one built by ``chronolens.ingest.local`` — same videos, same PTS-exact timestamps (the
workers run chronolens' own PyAV reader with the library's sampling), embeddings equal up to the
encoder's float arithmetic. Only the middle moves to the cluster:

* **decode** — one Ray *generator task* per video (``num_cpus=1``) that yields its frames batch
  by batch (``(B, H, W, 3)`` uint8 at the library's decode size), then one small end record with
  the decoder's ``Damage`` and the decode error, if any. An application error (``DecodeError``:
  corrupt, truncated, no video) is caught in the task and *returned as a value*, so it is recorded
  as failed and never retried; a worker that dies (killed, OOM, a segfault inside FFmpeg) is a
  system error, which Ray retries (``RayConfig.decode_retries``; a generator is replayed and the
  batches already delivered are not delivered again). A video that still kills its worker after
  the retries is recorded as failed, not retried forever.
* **embed** — ``RayConfig.embed_actors`` actors, each loading the encoder once (``num_gpus=1``
  each when the cluster has GPUs), fed the decoded batches round-robin; a restarted actor reloads
  the model and Ray re-runs its lost calls (``max_task_retries``).
* **commit** — the driver waits on whatever finishes first (``ray.wait``), keeps each video's
  embedded batches in order, and commits a video the moment its last batch is in. The driver
  holds the library's write lock and is its only writer, so the catalog keeps its guarantees: a
  kill loses at most the videos in flight, nothing is committed twice, a rerun resumes.

Why Ray core tasks and actors, not ``ray.data``: the unit of work that must stay whole is a
*video* (its batches concatenated in order, committed once), while Ray Data's unit is a row in a
block with no order across blocks unless the whole pipeline preserves it; regrouping frames per
video needs a ``groupby`` (an all-to-all barrier, so nothing streams) or ordering tricks. Per-video
futures give all three things needed directly: streaming (``ray.wait`` on generators and embed
calls, at most ``max_in_flight`` videos decoding, each generator ``backpressure`` batches ahead of
the encoder), retries split the right way (system errors by Ray, application errors as values),
and clean cancellation (``ray.cancel`` on the videos' tasks and ``ray.kill`` on this run's actors
when the driver is interrupted — Ctrl-C, or any error — so nothing keeps running on the cluster).

Why frames travel through the object store instead of decoding inside the embed actor: decode
bounds (a 720p hour is about 2 CPU-minutes to decode, while a GPU embeds its 3,600 sampled frames
at 1 fps in seconds), so decode must spread over every CPU of the cluster while each GPU actor
stays busy; an embed actor that decoded its own videos would leave its GPU idle while it decodes.
The traffic is small next to the decode work: sampling keeps one frame of ~30, and a 224-pixel
RGB frame is 150 kB, so one decode core emits ~5 MB/s — shared memory on one machine, and far
below a network link across machines. Only embeddings (2 kB a frame) come back to the driver.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import ChronolensError, missing_dependency
from chronolens.ingest.local import IngestConfig, finish_video, progress_bar_for
from chronolens.ingest.plan import Job, RunPlan, plan_run, reason
from chronolens.ingest.report import IngestReport
from chronolens.library.catalog import Catalog
from chronolens.library.manifest import is_clip_encoder
from chronolens.library.store import EmbeddingStore
from chronolens.video.decoder import Damage
from chronolens.video.sampling import Sampling

__all__ = ["CLIPS_NOT_SUPPORTED", "EncoderLoader", "RayConfig", "import_ray", "ingest_ray"]

CLIPS_NOT_SUPPORTED = (
    "index --ray does not support clip encoders yet (this library embeds overlapping clips); "
    "index it without --ray"
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RayConfig:
    """Where and how wide the Ray pipeline runs."""

    address: str | None = None  # cluster to join ("auto", "ray://head:10001"); None: start a local runtime
    local_cpus: int | None = None  # CPUs of a local runtime this run starts (None: all of the machine's)
    decode_tasks: int | None = None  # videos decoded at once (None: the cluster's CPUs less the actors')
    embed_actors: int = 1  # encoder replicas, each loading the model once
    embed_cpus: float = 1.0  # CPUs reserved per embed actor
    embed_gpus: float | None = None  # GPUs per embed actor (None: 1 when the cluster has GPUs, else 0)
    decode_retries: int = 3  # times Ray re-runs the decode of a video whose worker died
    embed_restarts: int = 3  # times Ray restarts an embed actor that died (and re-runs its calls)
    backpressure: int = 4  # decoded batches a decode task may have waiting before it pauses

    def __post_init__(self) -> None:
        for name in ("embed_actors", "backpressure"):
            if getattr(self, name) < 1:
                raise ValueError(f"RayConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("decode_retries", "embed_restarts"):
            if getattr(self, name) < 0:
                raise ValueError(f"RayConfig.{name} must be >= 0, got {getattr(self, name)}")
        if self.decode_tasks is not None and self.decode_tasks < 1:
            raise ValueError(f"RayConfig.decode_tasks must be >= 1, got {self.decode_tasks}")
        if self.local_cpus is not None and self.local_cpus < 1:
            raise ValueError(f"RayConfig.local_cpus must be >= 1, got {self.local_cpus}")


@dataclass(frozen=True, slots=True)
class EncoderLoader:
    """Loads a library's encoder by registry name inside an embed actor, checked like the driver's.

    An encoder scheme registered by user code must be registered in the workers too (import it
    from a ``worker_process_setup_hook`` in the cluster's runtime environment).
    """

    name: str  # registry name (Manifest.encoder)
    dim: int  # the library's embedding width
    weights_sha256: str  # the library's weights hash

    def __call__(self) -> Encoder:
        from chronolens.encoders import load_encoder
        from chronolens.errors import EncoderMismatchError

        encoder = load_encoder(self.name)
        if encoder.dim != self.dim or encoder.weights_sha256 != self.weights_sha256:
            raise EncoderMismatchError(
                f"encoder {self.name!r} on this Ray worker differs from the library's "
                f"({encoder.dim}-d, weights {encoder.weights_sha256[:12]}...; the library holds "
                f"{self.dim}-d, {self.weights_sha256[:12]}...): install the same weights on every node"
            )
        return encoder


def import_ray() -> Any:
    """The ``ray`` module, or the one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError as exc:
        raise missing_dependency("ray", "ray", "indexing on Ray (--ray)") from exc
    return ray


# ---------------------------------------------------------------------------------- worker side
def decode_video(path: str, sampling: Sampling, size: int, batch_size: int) -> Iterator[tuple[str, Any, Any]]:
    """The decode task: ``("frames", images, timestamps)`` per batch, then ``("end", damage, error)``.

    ``error`` is ``None`` or ``(reason, message)`` of the ``ChronolensError`` that stopped the
    decode (returned, not raised: an application error is recorded, never retried).
    """
    from chronolens.video import reader  # looked up per call, so a test hook can wrap it

    damage = Damage()
    try:
        for frames in reader.iter_frames(path, sampling, size=size, batch_size=batch_size, damage=damage):
            yield "frames", frames.images, frames.timestamps
    except ChronolensError as exc:
        yield "end", damage, (reason(exc), str(exc))
        return
    yield "end", damage, None


class EmbedWorker:
    """The embed actor: the encoder, loaded once; batches in, ``(B, D)`` float32 embeddings out."""

    def __init__(self, encoder: Encoder | Callable[[], Encoder]) -> None:
        self.encoder = encoder if hasattr(encoder, "encode_images") else encoder()

    def embed(self, item: tuple[str, Any, Any]) -> tuple[str, Any, Any]:
        """Embed a ``"frames"`` item; pass an ``"end"`` item through unchanged."""
        kind, images, timestamps = item
        if kind != "frames":
            return item
        embeddings = np.asarray(self.encoder.encode_images(images), dtype=np.float32)  # (B, D)
        return "emb", embeddings, timestamps


# ---------------------------------------------------------------------------------- driver side
@dataclass(slots=True)
class _Video:
    """One video in flight: its decode generator and the embedded batches received so far."""

    job: Job
    generator: Any  # ray.ObjectRefGenerator of decode_video
    sent: int = 0  # items of the generator handed to an embed actor
    exhausted: bool = False  # the generator has yielded its last item
    results: dict[int, tuple[str, Any, Any]] = field(default_factory=dict)  # item number -> result
    crashed: str | None = None  # why the cluster could not decode it (workers died every time)

    def complete(self) -> bool:
        return self.crashed is not None or (self.exhausted and len(self.results) == self.sent)


def ingest_ray(
    paths: Iterable[str | os.PathLike[str]],
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    encoder: Encoder | Callable[[], Encoder],
    dim: int,
    sampling: Sampling,
    decode_size: int,
    config: IngestConfig | None = None,
    ray_config: RayConfig | None = None,
    progress: bool = True,
) -> IngestReport:
    """Index ``paths`` as ``local.ingest`` does, decoding and embedding on a Ray cluster.

    Args:
        paths: video files and/or directories (recursed), readable at the same paths on every node.
        catalog: the library catalog (the caller holds the library's write lock).
        store: the library's embeddings store.
        encoder: what each embed actor uses: an encoder (pickled to it) or a picklable function
            returning one, called once per actor (``EncoderLoader`` loads by name).
        dim: the encoder's embedding width D.
        sampling: frame sampling policy of the library.
        decode_size: shorter side, in pixels, frames are resized to while decoding.
        config: batch size and ``retry_failed`` (default ``IngestConfig()``; the overlap settings
            are for one process).
        ray_config: the cluster and the width of each stage (default ``RayConfig()``).
        progress: show a progress bar on stderr (only when it is a terminal).

    Returns:
        What was indexed, skipped, failed and marked missing (as ``local.ingest``).

    Raises:
        MissingDependencyError: Ray is not installed.
        ChronolensError: the library's encoder embeds clips (not supported on Ray yet).
    """
    _refuse_clips(encoder)
    ray = import_ray()
    config = config if config is not None else IngestConfig()
    ray_config = ray_config if ray_config is not None else RayConfig()
    run = plan_run(paths, catalog=catalog, store=store, retry_failed=config.retry_failed)
    if not run.jobs:  # nothing to decode: no cluster is started or joined
        return run.finish([], 0)
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=ray_config.address,
            num_cpus=ray_config.local_cpus if ray_config.address is None else None,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    try:
        indexed, n_frames = _run_on_cluster(
            ray,
            run,
            catalog=catalog,
            store=store,
            encoder=encoder,
            dim=dim,
            sampling=sampling,
            decode_size=decode_size,
            batch_size=config.batch_size,
            ray_config=ray_config,
            progress=progress,
        )
    finally:
        if started_here:
            ray.shutdown()
    return run.finish(indexed, n_frames)


def _refuse_clips(encoder: Encoder | Callable[[], Encoder]) -> None:
    """Refuse a clip encoder object (``chronolens.ingest.clips``): this engine embeds frames only, for
    now. ``chronolens.ingest.index`` refuses a clip library by its manifest before getting here."""
    if is_clip_encoder(encoder):
        raise ChronolensError(CLIPS_NOT_SUPPORTED)


def _widths(ray: Any, ray_config: RayConfig) -> tuple[int, float, float]:
    """``(decode tasks at once, GPUs per embed actor, CPUs per embed actor)`` for this cluster."""
    resources = ray.cluster_resources()
    gpus = ray_config.embed_gpus
    if gpus is None:
        gpus = 1.0 if resources.get("GPU", 0) >= 1 else 0.0
    cpus = ray_config.embed_cpus if gpus == 0 else 0.0  # a GPU actor's host thread needs no core
    decode = ray_config.decode_tasks
    if decode is None:
        decode = max(1, int(resources.get("CPU", 1) - ray_config.embed_actors * cpus))
    return decode, gpus, cpus


def _run_on_cluster(
    ray: Any,
    run: RunPlan,
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    encoder: Encoder | Callable[[], Encoder],
    dim: int,
    sampling: Sampling,
    decode_size: int,
    batch_size: int,
    ray_config: RayConfig,
    progress: bool,
) -> tuple[list[str], int]:
    """Stream the jobs through the cluster and commit each video; returns ``(indexed, frames)``.

    The one loop of the driver (over 80 lines because submitting, routing, committing and
    cancelling share its state): keep ``decode`` videos decoding, hand each decoded batch to the
    next embed actor, commit every video whose batches are all embedded, and on the way out (done,
    error or Ctrl-C) cancel what is still running and kill this run's actors.
    """
    decode, gpus, cpus = _widths(ray, ray_config)
    decode_task = ray.remote(decode_video).options(
        num_cpus=1,
        max_retries=ray_config.decode_retries,
        retry_exceptions=False,  # application errors come back as values; only deaths retry
        _generator_backpressure_num_objects=ray_config.backpressure,
    )
    actor_class = ray.remote(EmbedWorker).options(
        num_cpus=cpus,
        num_gpus=gpus,
        max_restarts=ray_config.embed_restarts,
        max_task_retries=ray_config.embed_restarts,
    )
    # Passed by value, not through ray.put: an actor restarted after its constructor's object-store
    # argument went out of scope could not be rebuilt (ray-project/ray#53727). The CLI passes an
    # EncoderLoader (three fields); Ray itself moves a large encoder object into the store.
    actors = [actor_class.remote(encoder) for _ in range(ray_config.embed_actors)]
    next_actor = itertools.cycle(actors)
    logger.info(
        "ray ingest: %d videos, %d decode tasks at once, %d embed actors (%g GPU, %g CPU each)",
        len(run.jobs),
        decode,
        len(actors),
        gpus,
        cpus,
    )
    pending = list(reversed(run.jobs))  # popped from the end: planning order
    decoding: dict[Any, _Video] = {}  # generator -> video
    embedding: dict[Any, tuple[_Video, int]] = {}  # embed call -> (video, item number)
    # Videos are committed in planning order (so catalog ids match the local engine's); one that
    # completes early waits here, holding only its embeddings.
    complete: dict[int, _Video] = {}
    numbers = {job.path: i for i, job in enumerate(run.jobs)}
    committed = 0
    indexed: list[str] = []
    n_frames = 0
    bar = progress_bar_for(sum(job.info.duration for job in run.jobs), len(run.jobs), progress)
    try:
        while committed < len(run.jobs):
            while pending and len(decoding) < decode:
                job = pending.pop()
                generator = decode_task.remote(job.path, sampling, decode_size, batch_size)
                decoding[generator] = _Video(job, generator)
            waitable = [v.generator for v in decoding.values() if not v.exhausted] + list(embedding)
            for ref in ray.wait(waitable, num_returns=1, timeout=1.0)[0] if waitable else []:
                if ref in embedding:
                    video, number = embedding.pop(ref)
                    n_frames += _receive(ray, video, number, ref)
                else:
                    video = decoding[ref]
                    try:
                        item = next(ref)  # ready: returns at once
                    except StopIteration:
                        video.exhausted = True
                    else:
                        embedding[next(next_actor).embed.remote(item)] = (video, video.sent)
                        video.sent += 1
                if video.complete() and decoding.get(video.generator) is video:
                    del decoding[video.generator]
                    complete[numbers[video.job.path]] = video
            while committed in complete:
                video = complete.pop(committed)
                _finish(video, dim=dim, catalog=catalog, store=store, run=run, indexed=indexed)
                committed += 1
                bar.set_postfix(videos=f"{committed}/{len(run.jobs)}", frames=n_frames, refresh=False)
                bar.update(float(video.job.info.duration))
    finally:
        bar.close()
        _cancel(ray, decoding, embedding, actors)
    return indexed, n_frames


def _receive(ray: Any, video: _Video, number: int, ref: Any) -> int:
    """Store the result of one embed call in its video; returns the frames it embedded.

    A decode whose worker died more often than ``decode_retries`` allows reaches the embed call
    as a system error: the video is marked crashed (recorded as failed), the run goes on. Any
    other exception is a bug and propagates (the run stops, its work is cancelled).
    """
    system_errors = (ray.exceptions.WorkerCrashedError, ray.exceptions.ObjectLostError)
    try:
        result = ray.get(ref)
    except system_errors as exc:
        video.crashed = f"decoding kept killing its Ray worker ({type(exc).__name__})"
        return 0
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, system_errors):
            video.crashed = f"decoding kept killing its Ray worker ({type(exc.cause).__name__})"
            return 0
        raise
    video.results[number] = result
    return len(result[2]) if result[0] == "emb" else 0


def _finish(
    video: _Video, *, dim: int, catalog: Catalog, store: EmbeddingStore, run: RunPlan, indexed: list[str]
) -> None:
    """Commit (or record as failed) one video whose items are all in, through ``finish_video``."""
    items = [video.results[i] for i in range(len(video.results))]
    embeddings = [emb for kind, emb, _ in items if kind == "emb"]
    timestamps = [ts for kind, _, ts in items if kind == "emb"]
    damage, error = Damage(), None
    if video.crashed is not None:
        error = ChronolensError(video.crashed)
        embeddings, timestamps = [], []
    elif items and items[-1][0] == "end":
        damage = items[-1][1]
        if items[-1][2] is not None:
            error = _AppError(*items[-1][2])
    else:  # cannot happen: a finished generator always ends with its end record
        error = ChronolensError("decoding ended without its end record")
    finish_video(
        video.job,
        embeddings,
        timestamps,
        damage=damage,
        error=error,
        dim=dim,
        catalog=catalog,
        store=store,
        indexed=indexed,
        failed=run.failed,
        partial=run.partial,
    )


class _AppError(ChronolensError):
    """A decode error carried back from a worker: its one-line reason and its full message."""

    def __init__(self, cause: str, message: str) -> None:
        self.cause = cause  # read by ingest.plan.reason
        super().__init__(message)


def _cancel(ray: Any, decoding: dict[Any, _Video], embedding: dict[Any, Any], actors: list[Any]) -> None:
    """Stop this run's work on the cluster: cancel the decode tasks and embed calls, kill the actors."""
    for generator in decoding:
        try:
            ray.cancel(generator, force=True)
        except Exception:  # already finished, or the cluster is gone: nothing left to stop
            logger.debug("could not cancel a decode task", exc_info=True)
    for ref in embedding:
        try:
            ray.cancel(ref)
        except Exception:
            logger.debug("could not cancel an embed call", exc_info=True)
    for actor in actors:
        ray.kill(actor, no_restart=True)
    if decoding or embedding:
        logger.info("ray ingest: cancelled %d decode tasks and %d embed calls", len(decoding), len(embedding))
