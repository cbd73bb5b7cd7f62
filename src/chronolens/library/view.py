"""Keeping a library's search view up to date: the frame table and the approximate index.

``SearchViews.refresh(records)`` returns the ``SearchView`` for the searchable videos given:
the one it already holds when it still matches, the one under ``ann/`` when that matches, or one
brought up to date there (incrementally when it can, see ``chronolens.library.frames``). Updates
on disk hold ``ann/lock``; a read-only library keeps its view in memory only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chronolens.errors import MissingDependencyError
from chronolens.library.ann import AnnConfig, FrameIndex, import_faiss
from chronolens.library.catalog import VideoRecord
from chronolens.library.frames import FrameTable, locked, new_name

__all__ = ["SearchView", "SearchViews"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchView:
    """What a query reads: the searchable videos, their frames, the approximate index if any."""

    records: dict[int, VideoRecord]  # searchable videos by catalog id
    table: FrameTable  # every searchable frame, per video
    index: FrameIndex | None  # approximate frame index (large libraries); None: score every video


class SearchViews:
    """The search view of one library, refreshed on demand.

    Args:
        root: the library's ``ann/`` directory, or ``None`` to keep views in memory (read-only).
        dim: embedding width D.
        ann: when and how to use the approximate index.
        load: reads a video's ``(embeddings (T, D), timestamps (T,))`` from the embedding store.
    """

    def __init__(
        self,
        root: Path | None,
        *,
        dim: int,
        ann: AnnConfig,
        load: Callable[[int], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        self.root = root
        self.dim = dim
        self.ann = ann
        self._load = load
        self.current: SearchView | None = None
        self._warned_no_faiss = False

    def refresh(self, records: dict[int, VideoRecord]) -> SearchView:
        """The view covering exactly ``records`` (the searchable videos by id)."""
        current = {r.id: (str(r.embeddings), r.n_frames) for r in records.values()}
        previous = self.current
        if previous is not None and previous.table.matches(current):
            view = SearchView(records=records, table=previous.table, index=previous.index)
        elif self.root is None:
            view = self._refresh(records, current, previous.table if previous is not None else None)
        else:
            with locked(self.root):  # one process updates ann/ at a time
                view = self._refresh(records, current, FrameTable.load(self.root, dim=self.dim))
        self.current = view
        return view

    def _refresh(
        self,
        records: dict[int, VideoRecord],
        current: dict[int, tuple[str, int]],
        table: FrameTable | None,
    ) -> SearchView:
        """Bring ``table`` (and its index) up to ``current``, under ``root`` or in memory."""
        disk = self.root
        want_ann = sum(n for _, n in current.values()) >= self.ann.min_frames
        want_ann = want_ann and self._faiss_available()
        if table is not None and (table.index_name is not None) == want_ann and not table.needs_rebuild():
            index = self._existing_index(table) if want_ann else None
            if not want_ann or (index is not None and index.ntotal == table.n_rows):
                if table.matches(current):
                    return SearchView(records=records, table=table, index=index)  # up to date
                # Incremental: new and re-indexed videos go to a new shard and into the index.
                table, appended = table.updated(current, self._load, root=disk)
                if not table.needs_rebuild():
                    if index is not None and appended:
                        index.add_rows(table.gather, appended[0], appended[-1] + 1)
                    return self._publish(records, table, index)
        table = FrameTable.build(current, self._load, dim=self.dim, root=disk)
        table.trained_rows = table.n_rows
        index = None
        if want_ann:
            index = FrameIndex.build(table.gather, dim=self.dim, n_total=table.n_rows, config=self.ann)
        return self._publish(records, table, index)

    def _existing_index(self, table: FrameTable) -> FrameIndex | None:
        """The approximate index ``table`` names: from ``disk``, or the in-memory one."""
        if table.index_name is None:
            return None
        if self.root is not None:
            return self._read_index(self.root / table.index_name)
        previous = self.current
        return (
            previous.index if previous is not None and previous.table.index_name == table.index_name else None
        )

    def _publish(
        self, records: dict[int, VideoRecord], table: FrameTable, index: FrameIndex | None
    ) -> SearchView:
        """Name the index, and under ``root`` write it and the table, then collect what they replaced."""
        disk = self.root
        table.index_name = new_name("index") + ".faiss" if index is not None else None
        if disk is not None:
            if index is not None and table.index_name is not None:
                index.save(disk / table.index_name)
            table.save(disk)  # last: a reader sees the old table or the new one, both complete
            table.collect(disk)
        return SearchView(records=records, table=table, index=index)

    def _read_index(self, path: Path) -> FrameIndex | None:
        try:
            return FrameIndex.load(path, nprobe=self.ann.nprobe)
        except (OSError, RuntimeError) as exc:  # faiss raises RuntimeError on a damaged file
            logger.warning("approximate index %s is unreadable (%s); rebuilding it", path, exc)
            return None

    def _faiss_available(self) -> bool:
        try:
            import_faiss()
        except MissingDependencyError as exc:
            if not self._warned_no_faiss:
                logger.warning("%s; searching exactly (slower on large libraries)", exc)
                self._warned_no_faiss = True
            return False
        return True
