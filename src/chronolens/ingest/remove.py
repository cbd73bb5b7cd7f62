"""Removing videos from a library: their catalog rows, then their embeddings files.

``remove(library, paths)`` takes the same paths ``index`` takes: each is made absolute the way
``chronolens.ingest.discover`` makes it (``~`` expanded, relative to the working directory, links
not resolved), and its symlink-resolved form is tried too. A path that is a catalogued video
removes that video; any other path removes every catalogued video under it (a folder). The file
itself need not exist any more, so a video the library lists as ``missing`` can be removed.

Crash safety: each row is deleted in its own committed transaction and only then is its
embeddings file deleted, so a kill in between leaves at most an unreferenced file, which
``EmbeddingStore.remove_orphans`` (run by every ``index``) deletes. Search reads the catalog on
each query and the approximate frame index is keyed on the catalog's contents, so a removed
video is never returned again.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from chronolens.library.catalog import VideoRecord
from chronolens.library.library import Library

__all__ = ["RemoveReport", "remove"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoveReport:
    """What one ``remove`` call did (or, with ``dry_run``, would do)."""

    removed: list[str] = field(default_factory=list)  # catalogued paths removed (or that would be)
    not_found: list[str] = field(default_factory=list)  # given paths matching no catalogued video
    n_frames: int = 0  # frame embeddings dropped with the removed videos
    dry_run: bool = False  # True: nothing was changed

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable summary."""
        return {
            "removed": self.removed,
            "not_found": self.not_found,
            "n_frames": self.n_frames,
            "dry_run": self.dry_run,
        }


def _forms(raw: str | os.PathLike[str]) -> list[Path]:
    """The absolute path ``index`` would record for ``raw``, and its resolved form when different."""
    absolute = Path(raw).expanduser().absolute()
    resolved = absolute.resolve()
    return [absolute] if resolved == absolute else [absolute, resolved]


def _matches(records: list[VideoRecord], raw: str | os.PathLike[str]) -> list[VideoRecord]:
    """The records ``raw`` names: the video itself, or every video under it."""
    forms = _forms(raw)
    exact = [r for r in records if Path(r.path) in forms]
    if exact:
        return exact
    return [r for r in records if any(root in Path(r.path).parents for root in forms)]


def _select(
    records: list[VideoRecord], paths: Iterable[str | os.PathLike[str]]
) -> tuple[list[VideoRecord], list[str]]:
    """``(records to remove, ordered by path and unique; given paths that matched nothing)``."""
    chosen: dict[str, VideoRecord] = {}
    not_found: list[str] = []
    for raw in paths:
        found = _matches(records, raw)
        if not found:
            not_found.append(str(Path(raw).expanduser().absolute()))
        chosen.update((r.path, r) for r in found)
    return [chosen[p] for p in sorted(chosen)], not_found


def remove(
    library: Library, paths: Iterable[str | os.PathLike[str]], *, dry_run: bool = False
) -> RemoveReport:
    """Remove videos (files, or every catalogued video under a folder) from ``library``.

    Each video's catalog row is deleted (one transaction per video), then its embeddings file;
    the manifest's ``updated`` time is refreshed and the frame table brought up to date when
    anything was removed. Indexed, failed and missing videos are all removable.

    Args:
        library: an open library (writable unless ``dry_run``).
        paths: video files and/or folders, as given to ``index`` (they need not exist on disk).
        dry_run: only report what would be removed; nothing is written and no lock is taken.

    Returns:
        The removed (or, with ``dry_run``, removable) paths and the given paths that matched no
        catalogued video.

    Raises:
        LibraryError: the library is read-only or another process is writing into it.
    """
    paths = list(paths)
    if dry_run:
        chosen, not_found = _select(library.videos(), paths)
        return RemoveReport(
            removed=[r.path for r in chosen],
            not_found=not_found,
            n_frames=sum(r.n_frames for r in chosen),
            dry_run=True,
        )
    removed: list[str] = []
    n_frames = 0
    with library.writing() as (catalog, store):
        chosen, not_found = _select(catalog.records(), paths)  # read under the lock: current rows
        leaving = {r.path for r in chosen}
        # Embeddings files are named per path, so none should be shared; never delete one that is.
        kept = {r.embeddings for r in catalog.records() if r.path not in leaving and r.embeddings}
        for record in chosen:
            gone = catalog.delete(record.path)  # committed when this returns
            if gone is None:
                continue
            if gone.embeddings is not None and gone.embeddings not in kept:
                store.delete(gone.embeddings)
            removed.append(gone.path)
            n_frames += gone.n_frames
            logger.info("removed %s from %s", gone.path, library.root)
        if removed:
            library.touch()
            library.search_view()  # the frame table (and index) for the new catalog, now
    return RemoveReport(removed=removed, not_found=not_found, n_frames=n_frames)
