"""A benchmark's videos, found by name: ``<vid>.<ext>`` under one directory.

Native annotation files (Charades-STA, QVHighlights, dense captions) name videos by id without
extension; every benchmark runner looks them up here and fails with one clear error listing the
videos it cannot find.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from chronolens.errors import ChronolensError

__all__ = ["require_videos", "video_files"]


def video_files(videos_dir: Path) -> dict[str, Path]:
    """The video files under ``videos_dir`` (walked recursively) by file name without extension.

    Raises:
        ChronolensError: ``videos_dir`` is not a directory.
    """
    from chronolens.ingest.discover import discover

    if not videos_dir.is_dir():
        raise ChronolensError(f"no videos directory at {videos_dir}")
    files, _ = discover([videos_dir])
    return {p.stem: p for p in files}


def require_videos(files: dict[str, Path], vids: Iterable[str], annotations: Path, videos_dir: Path) -> None:
    """Raise ``ChronolensError`` naming (up to five of) the ``vids`` that ``files`` lacks."""
    missing = sorted({v for v in vids if v not in files})
    if missing:
        raise ChronolensError(
            f"{len(missing)} videos of {annotations} are not in {videos_dir}: {', '.join(missing[:5])}"
        )
