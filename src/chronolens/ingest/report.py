"""``IngestReport``: what one indexing run did."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IngestReport"]


@dataclass(frozen=True, kw_only=True, slots=True)
class IngestReport:
    """What one ``chronolens.index`` call did."""

    indexed: list[str] = field(default_factory=list)  # newly indexed or re-indexed paths
    unchanged: list[str] = field(default_factory=list)  # skipped: same size, mtime / content hash
    failed: dict[str, str] = field(default_factory=dict)  # path -> one-line error
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why it was not even opened
    non_video: dict[str, str] = field(default_factory=dict)  # files in folders without a video extension
    partial: dict[str, str] = field(default_factory=dict)  # indexed paths -> warning (incomplete)
    missing: list[str] = field(default_factory=list)  # catalogued paths that vanished, now "missing"
    n_frames: int = 0  # frames embedded in this call
    seconds: float = 0.0  # wall time of this call

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable summary.

        ``skipped`` maps every entry left out to its reason (bad entries and non-video files);
        ``non_video`` lists which of them are files without a video extension.
        """
        return {
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "skipped": {**self.skipped, **self.non_video},
            "non_video": sorted(self.non_video),
            "partial": self.partial,
            "missing": self.missing,
            "n_frames": self.n_frames,
            "seconds": self.seconds,
        }
