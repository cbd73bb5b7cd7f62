"""Typed results of library operations: search hits, ingest reports, library summaries."""

from __future__ import annotations

from dataclasses import dataclass, field

from chronolens.timebase import Moment

__all__ = ["IngestReport", "LibraryInfo", "SearchResult"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchResult:
    """One video matching a query, with its best moments."""

    video: str  # absolute path of the video file
    score: float  # pooled frame-query similarity (see chronolens.tasks.retrieval)
    moments: list[Moment]  # best spans inside the video, best first
    duration: float  # video duration in seconds

    def to_json(self) -> dict[str, object]:
        """``{"video", "score", "duration", "moments": [[start, end, score], ...]}``."""
        return {
            "video": self.video,
            "score": self.score,
            "duration": self.duration,
            "moments": [m.as_list() for m in self.moments],
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestReport:
    """What one ``Library.add`` call did."""

    indexed: list[str] = field(default_factory=list)  # newly indexed or re-indexed paths
    unchanged: list[str] = field(default_factory=list)  # skipped: same size, mtime / content hash
    failed: dict[str, str] = field(default_factory=dict)  # path -> one-line error
    missing: list[str] = field(default_factory=list)  # catalogued paths that vanished, now "missing"
    n_frames: int = 0  # frames embedded in this call
    seconds: float = 0.0  # wall time of this call

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable summary."""
        return {
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "missing": self.missing,
            "n_frames": self.n_frames,
            "seconds": self.seconds,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class LibraryInfo:
    """A summary of a library: where, built how, and how much is in it."""

    path: str  # library directory
    encoder: str  # encoder registry name
    weights_sha256: str  # encoder weights hash
    dim: int  # embedding width
    sampling: str  # sampling spec, e.g. "fps:1"
    decode_size: int  # shorter side frames are decoded at (pixels)
    n_indexed: int  # videos searchable
    n_failed: int  # videos that could not be decoded
    n_missing: int  # catalogued videos whose file vanished
    n_frames: int  # frame embeddings searchable
    total_duration: float  # seconds of searchable video
    disk_bytes: int  # bytes used by the library directory
    search_mode: str  # "exact" or "ivf-pq"
    chronolens_version: str  # version that last wrote the library
    pyav_version: str  # PyAV that last wrote the library
    ffmpeg_version: str  # FFmpeg inside that PyAV
    created: float  # unix time
    updated: float  # unix time

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable dict of every field."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}
