"""The shots side table: each video's shots per detector, in the catalog file.

Two tables, created on first use through :meth:`Catalog.ensure_tables`::

    shot_runs  one row per (video, detector): the content hash the shots were computed from,
               the duration they tile, when; cascades from ``videos``
    shots      the shots of a run: index, start/end seconds, the opening cut's score;
               cascades from ``shot_runs``

A run is current while its ``content_hash`` equals the video's: a re-indexed video whose file
changed keeps its catalog row id, so the hash is what tells stale shots from current ones.
Removing a video removes its runs and shots (foreign keys cascade). A read-only catalog that
has never had shots reads as having none.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from chronolens.library.catalog import Catalog
from chronolens.library.library import Library

__all__ = ["SHOTS_DDL", "StoredShots", "current_runs", "load_shots", "save_shots", "shots_catalog"]

SHOTS_DDL = """
CREATE TABLE IF NOT EXISTS shot_runs (
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    detector TEXT NOT NULL,             -- detector registry name, e.g. 'histogram'
    content_hash TEXT NOT NULL,         -- the video's content hash when its shots were computed
    duration REAL NOT NULL,             -- seconds the shots tile
    computed_at REAL NOT NULL,          -- unix time
    PRIMARY KEY (video_id, detector)
);
CREATE TABLE IF NOT EXISTS shots (
    video_id INTEGER NOT NULL,
    detector TEXT NOT NULL,
    idx INTEGER NOT NULL,               -- 0 for the first shot of the video
    start_s REAL NOT NULL,              -- seconds, PTS of the shot's first frame (0 for idx 0)
    end_s REAL NOT NULL,                -- seconds, the next shot's start (duration for the last)
    score REAL NOT NULL,                -- confidence of the cut opening the shot (1.0 for idx 0)
    PRIMARY KEY (video_id, detector, idx),
    FOREIGN KEY (video_id, detector) REFERENCES shot_runs (video_id, detector) ON DELETE CASCADE
)
"""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredShots:
    """One video's shots as one detector stored them."""

    video_id: int  # catalog row id
    detector: str  # detector registry name
    content_hash: str  # the video's content hash they were computed from
    duration: float  # seconds
    computed_at: float  # unix time
    rows: tuple[tuple[float, float, float], ...]  # (start, end, score) per shot, in time order


def shots_catalog(library: Library) -> Catalog:
    """The catalog of ``library`` (for reads; writes go through ``library.writing()``)."""
    return library.catalog


def save_shots(
    catalog: Catalog,
    video_id: int,
    *,
    detector: str,
    content_hash: str,
    duration: float,
    rows: Sequence[tuple[float, float, float]],
) -> None:
    """Store (or replace) the shots of one video for one detector, in one transaction.

    Args:
        catalog: a writable catalog (inside ``library.writing()``).
        video_id: the video's catalog row id.
        detector: detector registry name.
        content_hash: the video's content hash the shots were computed from.
        duration: seconds the shots tile.
        rows: ``(start, end, score)`` per shot, in time order.
    """
    catalog.ensure_tables(SHOTS_DDL)
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM shot_runs WHERE video_id = ? AND detector = ?", (video_id, detector))
        conn.execute(
            "INSERT INTO shot_runs (video_id, detector, content_hash, duration, computed_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (video_id, detector, content_hash, float(duration), time.time()),
        )
        conn.executemany(
            "INSERT INTO shots (video_id, detector, idx, start_s, end_s, score) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (video_id, detector, i, float(s), float(e), float(score))
                for i, (s, e, score) in enumerate(rows)
            ],
        )


def current_runs(catalog: Catalog, detector: str) -> dict[int, str]:
    """``video_id -> content_hash`` of every stored run of ``detector`` (empty without the table)."""
    if not catalog.has_table("shot_runs"):  # reads never create tables (nor take the write lock)
        return {}
    rows = catalog.query("SELECT video_id, content_hash FROM shot_runs WHERE detector = ?", (detector,))
    return {int(r["video_id"]): str(r["content_hash"]) for r in rows}


def load_shots(
    catalog: Catalog, video_id: int, *, detector: str | None = None, content_hash: str | None = None
) -> StoredShots | None:
    """The stored shots of one video, or ``None``.

    Args:
        catalog: the library's catalog.
        video_id: the video's catalog row id.
        detector: this detector's run only (``None``: the most recently computed run of any).
        content_hash: only a run computed from this content (``None``: any).
    """
    if not catalog.has_table("shot_runs"):
        return None
    sql = "SELECT detector, content_hash, duration, computed_at FROM shot_runs WHERE video_id = ?"
    params: list[object] = [video_id]
    if detector is not None:
        sql += " AND detector = ?"
        params.append(detector)
    if content_hash is not None:
        sql += " AND content_hash = ?"
        params.append(content_hash)
    runs = catalog.query(sql + " ORDER BY computed_at DESC LIMIT 1", params)
    if not runs:
        return None
    run = runs[0]
    rows = catalog.query(
        "SELECT start_s, end_s, score FROM shots WHERE video_id = ? AND detector = ? ORDER BY idx",
        (video_id, run["detector"]),
    )
    return StoredShots(
        video_id=video_id,
        detector=str(run["detector"]),
        content_hash=str(run["content_hash"]),
        duration=float(run["duration"]),
        computed_at=float(run["computed_at"]),
        rows=tuple((float(r["start_s"]), float(r["end_s"]), float(r["score"])) for r in rows),
    )
