"""Planning one indexing run: which files are unchanged, which failed before, which need work.

A video is unchanged when its size and mtime match its catalog row (or, after a touch, its
content hash does) *and* its embeddings file is intact (``EmbeddingStore.verify``: its recorded
size, and its sha256 unless the file still carries the seal set when it was written; see
``chronolens.library.store``). A no-op run therefore reads no embeddings file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronolens.errors import ChronolensError, DecodeError
from chronolens.ingest.discover import discover
from chronolens.ingest.report import IngestReport
from chronolens.library.catalog import Catalog, VideoRecord
from chronolens.library.hashing import content_hash
from chronolens.library.store import EmbeddingStore
from chronolens.video.decoder import Damage

__all__ = ["Job", "RunPlan", "mark_missing", "plan", "plan_run", "reason"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """One file to decode and embed."""

    path: str  # absolute path
    size: int
    mtime_ns: int
    content_hash: str
    info: Any  # chronolens.video.VideoInfo
    damage: Damage = field(default_factory=Damage)  # filled while decoding: what did not decode


def reusable(record: VideoRecord, catalog: Catalog, store: EmbeddingStore, stored: set[str]) -> bool:
    """Whether ``record``'s embeddings can be kept: a real video (duration > 0) whose embeddings
    file is present and intact (see the module docstring).

    Rows from a schema-1 catalog carry no checksum: their file is verified by loading it, and the
    checksum is recorded then (and the file sealed), so later runs compare checksums. Duration 0
    marks a still image an older chronolens indexed as a video (search hung on those); re-checked
    now, it fails.
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
            store.seal(record.embeddings, checksum[1])
        return True
    if store.verify(record.embeddings, size=record.embeddings_size, sha256=record.embeddings_sha256):
        return True
    logger.warning("embeddings of %s are damaged; re-indexing it", record.path)
    return False


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


def mark_missing(
    catalog: Catalog,
    records: dict[str, VideoRecord],
    files: list[Path],
    roots: list[Path],
    skipped: dict[str, str],
) -> list[str]:
    """Mark catalogued videos under ``roots`` whose files vanished (or are now skipped entries)."""
    missing = []
    present = {str(f) for f in files}
    for known in records.values():
        known_path = Path(known.path)
        if known.status == "missing" or known.path in present or not _under(known_path, roots):
            continue
        if known.path in skipped or not known_path.exists():
            catalog.set_status(known.path, "missing")
            missing.append(known.path)
    return missing


def reason(error: BaseException) -> str:
    """The one-line reason a file failed, without its path (the report is keyed by the path)."""
    cause = getattr(error, "cause", None)
    return str(cause) if cause is not None else str(error)


def plan(
    files: list[Path],
    records: dict[str, VideoRecord],
    catalog: Catalog,
    store: EmbeddingStore,
    failed: dict[str, str],
    *,
    retry_failed: bool = False,
) -> tuple[list[Job], list[str]]:
    """Split ``files`` into jobs to embed and unchanged paths; unreadable ones go to ``failed``.

    ``records`` is the catalog by path, read once for the run (the caller holds the write lock).
    A file recorded as failed whose bytes did not change (same size and mtime, or same content
    hash) fails again with its stored reason, without being re-probed, unless ``retry_failed``.
    """
    stored = store.names()
    unchanged: list[str] = []
    jobs: list[Job] = []
    for file in files:
        path = str(file)
        record = records.get(path)
        # Whether the row's embeddings can be kept: intact, and not a still image an older
        # chronolens indexed as a 0-second video (search hung on those; re-checked, they fail).
        keep: bool | None = None  # decided once, only when needed
        try:
            st = file.stat()
            if record is not None and record.size == st.st_size and record.mtime_ns == st.st_mtime_ns:
                if record.status == "failed" and not retry_failed:
                    failed[path] = record.error or "failed before"  # same bytes fail the same way
                    continue
                if record.status == "indexed":
                    keep = reusable(record, catalog, store, stored)
                    if keep:
                        unchanged.append(path)
                        continue
            digest = content_hash(file)
        except OSError as exc:  # vanished or turned unreadable since discovery: nothing recorded
            failed[path] = f"cannot read: {exc.strerror or exc}"
            logger.info("%s: %s", path, failed[path])
            continue
        if _still_failed(record, st, digest, retry_failed):
            assert record is not None
            catalog.touch(path, mtime_ns=st.st_mtime_ns)  # touched, same bytes: still failed
            failed[path] = record.error or "failed before"
            continue
        if (
            record is not None
            and record.status in ("indexed", "missing")
            and record.size == st.st_size
            and record.content_hash == digest  # never equal across hash schemes: re-indexed then
            and (keep if keep is not None else reusable(record, catalog, store, stored))
        ):
            catalog.touch(path, mtime_ns=st.st_mtime_ns)
            if record.status == "missing":
                catalog.set_status(path, "indexed")
            unchanged.append(path)
            continue
        job = _probe(file, st, digest, catalog, failed)
        if job is not None:
            jobs.append(job)
    return jobs, unchanged


def _still_failed(record: VideoRecord | None, st: os.stat_result, digest: str, retry_failed: bool) -> bool:
    return (
        record is not None
        and record.status == "failed"
        and not retry_failed
        and record.size == st.st_size
        and record.content_hash == digest
    )


def _probe(
    file: Path, st: os.stat_result, digest: str, catalog: Catalog, failed: dict[str, str]
) -> Job | None:
    """Probe a file that needs indexing: its job, or ``None`` (recorded as failed)."""
    from chronolens.video.reader import probe

    path = str(file)
    try:
        info = probe(file)
    except DecodeError as exc:
        catalog.upsert_failed(
            path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, content_hash=digest, error=exc.cause
        )
        failed[path] = reason(exc)
        logger.info("%s", exc)
        return None
    return Job(path, st.st_size, st.st_mtime_ns, digest, info)


@dataclass(slots=True)
class RunPlan:
    """What the driver of one run decided before decoding anything; both engines fill it in.

    ``failed`` and ``partial`` keep filling while videos are decoded; ``finish`` turns it into the
    run's ``IngestReport``.
    """

    jobs: list[Job]  # files to decode and embed, in order
    unchanged: list[str]
    failed: dict[str, str]  # path -> one-line error
    partial: dict[str, str]  # indexed path -> warning
    skipped: dict[str, str]
    non_video: dict[str, str]
    missing: list[str]
    started: float  # time.perf_counter() when the run began

    def finish(self, indexed: list[str], n_frames: int) -> IngestReport:
        """The run's report (logged once)."""
        report = IngestReport(
            indexed=indexed,
            unchanged=self.unchanged,
            failed=self.failed,
            skipped=self.skipped,
            non_video=self.non_video,
            partial=self.partial,
            missing=self.missing,
            n_frames=n_frames,
            seconds=time.perf_counter() - self.started,
        )
        logger.info(
            "indexed %d (partial %d), unchanged %d, failed %d, skipped %d (+%d non-video), missing %d"
            " (%d frames, %.1f s)",
            len(indexed),
            len(self.partial),
            len(self.unchanged),
            len(self.failed),
            len(self.skipped),
            len(self.non_video),
            len(self.missing),
            n_frames,
            report.seconds,
        )
        return report


def plan_run(
    paths: Iterable[str | os.PathLike[str]],
    *,
    catalog: Catalog,
    store: EmbeddingStore,
    retry_failed: bool = False,
) -> RunPlan:
    """Discover ``paths``, collect orphans, mark vanished videos missing and plan the jobs.

    The driver's part of every run, whichever engine decodes (``chronolens.ingest.ray_pipeline``
    reuses it): nothing here decodes a frame or loads a model.
    """
    started = time.perf_counter()
    skipped: dict[str, str] = {}
    non_video: dict[str, str] = {}
    files, roots = discover(paths, skipped=skipped, non_video=non_video)
    store.remove_orphans(catalog.referenced_embeddings())
    records = {record.path: record for record in catalog.records()}  # read once for the run

    for root in roots:
        if str(root) not in skipped and not root.exists() and str(root) not in records:
            raise ChronolensError(f"no such file or directory: {root}")
    for path, why in skipped.items():
        logger.info("skipped %s: %s", path, why)  # the report lists it; the CLI prints it once
    for path, why in non_video.items():
        logger.debug("skipped %s: %s", path, why)  # counted in the summary, listed by the CLI with -v
    missing = mark_missing(catalog, records, files, roots, skipped)
    failed: dict[str, str] = {}
    jobs, unchanged = plan(files, records, catalog, store, failed, retry_failed=retry_failed)
    return RunPlan(
        jobs=jobs,
        unchanged=unchanged,
        failed=failed,
        partial={},
        skipped=skipped,
        non_video=non_video,
        missing=missing,
        started=started,
    )
