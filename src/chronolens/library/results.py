"""``LibraryInfo``: the summary of a library (what ``chronolens info`` prints)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LibraryInfo"]


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
