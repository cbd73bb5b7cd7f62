"""Video files, thumbnails and transcoded previews, always reached through a catalog record.

Nothing here takes a path from a request: a file is served only when it is the one the catalog
indexed (a regular file whose size and modification time still match the record), so an id
whose file was replaced — by a symbolic link out of the library's videos, say — serves nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chronolens import VideoRecord

__all__ = [
    "PLAYABLE_CODECS",
    "PLAYABLE_SUFFIXES",
    "PreviewCache",
    "media_type",
    "playback_note",
    "served_file",
    "thumbnail_jpeg",
]

logger = logging.getLogger(__name__)

# What an HTML5 <video> in current Chromium / Firefox plays (FFmpeg codec names).
PLAYABLE_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
PLAYABLE_SUFFIXES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/mp4", ".webm": "video/webm"}
# Matroska is WebM's parent: browsers play its H.264 / VP9 / AV1 streams when served as WebM.
PLAYABLE_SUFFIXES[".mkv"] = "video/webm"
PREVIEW_STEP = 0.1  # seconds: preview spans are rounded to this, so nearby requests share a file


def media_type(path: str) -> str:
    """The MIME type a video file is served with."""
    return PLAYABLE_SUFFIXES.get(Path(path).suffix.lower(), "application/octet-stream")


def playback_note(record: VideoRecord) -> str | None:
    """Why a browser cannot play this video directly, or ``None`` when it can."""
    suffix = Path(record.path).suffix.lower()
    if record.codec in PLAYABLE_CODECS and suffix in PLAYABLE_SUFFIXES:
        return None
    return (
        f"browsers cannot play {record.codec or 'this codec'} in {suffix or 'this container'}: "
        "moments play from a transcoded H.264 preview"
    )


def served_file(record: VideoRecord | None) -> Path | None:
    """The video file of ``record`` if it may be served: indexed, a regular file, unchanged.

    Args:
        record: a catalog record (``None``: unknown id).

    Returns:
        The path, or ``None`` (the caller answers 404).
    """
    if record is None or record.status != "indexed":
        return None
    path = Path(record.path)
    try:
        st = path.stat()  # follows a link: its target must be the very file that was indexed
    except OSError:
        return None
    if not path.is_file() or (st.st_size, st.st_mtime_ns) != (record.size, record.mtime_ns):
        logger.warning("not serving %s: it changed since it was indexed", path)
        return None
    return path


def thumbnail_jpeg(path: Path, seconds: float, *, size: int) -> bytes:
    """The frame shown at ``seconds`` as JPEG bytes, its shorter side ``size`` pixels.

    Raises:
        DecodeError: the video cannot be decoded there.
    """
    from chronolens.video import frames_at
    from chronolens.video.images import encode_image

    frames = frames_at(path, [max(0.0, seconds)], size=size)
    return encode_image(frames.images[0], "jpg")


class PreviewCache:
    """Transcoded H.264 clips of moments, made on demand and kept in one directory.

    A clip is keyed by the video's content hash and the span (rounded to ``PREVIEW_STEP``), written
    to a temporary name and renamed into place (``chronolens.video.clips.write_clip``), so a reader
    never sees half a file; concurrent requests for one clip wait for a single transcode.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def path_for(self, record: VideoRecord, start: float, end: float) -> Path:
        """Where the preview of ``[start, end)`` of ``record`` lives (made or not)."""
        key = f"{record.content_hash}:{start:.1f}:{end:.1f}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        return self.root / f"{digest}.mp4"

    def get(self, record: VideoRecord, source: Path, start: float, end: float) -> Path:
        """The preview file of ``[start, end)``, transcoded now unless cached.

        Args:
            record: the video's catalog record.
            source: its served file (see :func:`served_file`).
            start: span start in seconds (rounded down to ``PREVIEW_STEP``).
            end: span end in seconds (rounded up), ``end > start``.

        Raises:
            DecodeError: no frame in the span, or the source cannot be read.
        """
        from chronolens.video.clips import Clip, write_clip

        start = round(start / PREVIEW_STEP) * PREVIEW_STEP
        end = max(round(end / PREVIEW_STEP) * PREVIEW_STEP, start + PREVIEW_STEP)
        out = self.path_for(record, start, end)
        with self._lock(out.name):
            if out.is_file():
                return out
            self.root.mkdir(parents=True, exist_ok=True)
            logger.info("transcoding a preview of %s [%.1f, %.1f) s", source, start, end)
            return write_clip(Clip(video=str(source), start=start, end=end, path=out))
