"""The shots pass of indexing: store each indexed video's shots in the library's shots table.

``index_shots(library, videos=None, detector=...)`` runs after the visual pass (``chronolens
index --shots``). It is incremental and resumable: a video whose current content already has
shots from this detector is skipped, and each video's shots are committed in their own
transaction, so a kill loses at most the video in flight. A video that fails (it cannot be
decoded any more) is reported and the pass goes on.

The detector is passed in (ingest sits below ``tasks``, where the detectors live): any object
with a ``name`` and ``rows(path, embeddings, timestamps, duration) -> [(start, end, score)]``,
e.g. ``chronolens.tasks.shots.get_detector("histogram")``. It receives the video's stored frame
embeddings (the ``embedding`` detector reads only those; frame detectors decode the file).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from chronolens.errors import ChronolensError
from chronolens.library.catalog import VideoRecord
from chronolens.library.library import Library
from chronolens.library.shots import current_runs, save_shots
from chronolens.progress import progress_bar

__all__ = ["ShotRows", "ShotsReport", "index_shots"]

logger = logging.getLogger(__name__)


class ShotRows(Protocol):
    """A shot detector as the index pass uses it."""

    name: str  # registry name, stored with the shots

    def rows(
        self, path: str, embeddings: np.ndarray, timestamps: np.ndarray, duration: float
    ) -> list[tuple[float, float, float]]: ...


@dataclass(kw_only=True, slots=True)
class ShotsReport:
    """What one ``index_shots`` call did."""

    detector: str  # detector registry name
    stored: list[str] = field(default_factory=list)  # videos whose shots were computed and stored
    unchanged: list[str] = field(default_factory=list)  # videos that already had current shots
    failed: dict[str, str] = field(default_factory=dict)  # video -> one-line reason
    n_shots: int = 0  # shots stored by this call

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable summary."""
        return {
            "detector": self.detector,
            "stored": self.stored,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "n_shots": self.n_shots,
        }


def index_shots(
    library: Library,
    videos: Iterable[str | os.PathLike[str]] | None = None,
    *,
    detector: ShotRows,
    progress: bool = True,
) -> ShotsReport:
    """Compute and store shots for the indexed videos that lack current ones.

    Args:
        library: a writable library.
        videos: only these video paths (``None``: every indexed video).
        detector: the shot detector (see the module docstring).
        progress: show a bar over the videos (on a terminal only).

    Returns:
        Which videos got shots, which already had them, which failed.

    Raises:
        LibraryError: the library is read-only or another process writes into it.
    """
    report = ShotsReport(detector=detector.name)
    with library.writing() as (catalog, _store):
        records = library.indexed_records(videos)
        done = current_runs(catalog, detector.name)
        todo: Sequence[VideoRecord] = [r for r in records if done.get(r.id) != r.content_hash]
        report.unchanged.extend(r.path for r in records if done.get(r.id) == r.content_hash)
        for record in progress_bar(todo, desc=f"shots ({detector.name})", unit="video", enabled=progress):
            try:
                embeddings, timestamps = library.load(record.id)
                rows = detector.rows(record.path, embeddings, timestamps, float(record.duration))
            except ChronolensError as exc:
                report.failed[record.path] = str(exc).splitlines()[0]
                logger.warning("no shots for %s: %s", record.path, report.failed[record.path])
                continue
            save_shots(
                catalog,
                record.id,
                detector=detector.name,
                content_hash=record.content_hash,
                duration=float(record.duration),
                rows=rows,
            )
            report.stored.append(record.path)
            report.n_shots += len(rows)
    logger.info(
        "shots (%s): %d stored, %d unchanged, %d failed",
        detector.name,
        len(report.stored),
        len(report.unchanged),
        len(report.failed),
    )
    return report
