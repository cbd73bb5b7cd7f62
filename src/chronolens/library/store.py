"""Per-video frame embeddings on disk: one ``.npz`` per video under ``embeddings/``.

Each file holds ``embeddings`` ``(T, D)`` (``STORAGE_DTYPE``) and ``timestamps`` ``(T,)`` float64
seconds. Files are written to a temporary name and renamed into place (``os.replace`` is atomic), so
a reader sees either nothing or a complete file. The file name carries the video's path key and
content hash, so re-indexing a changed video writes a *new* file and the catalog row switches to it
in one commit; the old file is deleted afterwards. Files no row points to (a run killed between the
rename and the commit) are removed by ``EmbeddingStore.remove_orphans``.

The catalog records each file's size and sha256 as written (``checksum``); ingest checks them
(``verify``) before calling a video unchanged, so a truncated or damaged file is re-indexed
rather than left for search to trip over. Checking cheaply is the point of the **seal**: right
after a file is written and its sha256 recorded (or after a full re-check), its mtime's
nanoseconds are set to a value derived from that sha256 (``seal_ns``, always odd). Any later
write sets the mtime to the current time, whose nanoseconds match the seal only by a
one-in-a-billion chance, so ``verify`` is:

- size (from ``stat``) differs from the recorded size: damaged;
- size matches and the mtime still carries the seal: intact, trusted without reading it;
- otherwise (written since, copied without its times, a filesystem that keeps no nanoseconds):
  read it and compare its sha256, sealing it again first (so a write during the check breaks
  the seal).

A no-op re-index over N unchanged videos therefore costs N ``stat`` calls and no reads. What it
gives up against hashing every file on every run: damage that keeps both the size and the mtime
(bit rot under the filesystem, a tool restoring the old mtime after an edit); the videos
themselves are trusted on the same (size, mtime) terms, like make and rsync.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from chronolens.errors import LibraryError

__all__ = ["STORAGE_DTYPE", "EmbeddingStore", "seal_ns"]

logger = logging.getLogger(__name__)

# float16 halves disk and memory; cosine similarities move by < 1e-3, far below ranking margins.
STORAGE_DTYPE = np.float16
_SUFFIX = ".npz"
_TMP_MARK = ".partial"
_NS = 10**9


def seal_ns(sha256: str) -> int:
    """The odd nanoseconds (1..999,999,999) a sealed embeddings file's mtime carries."""
    return (int(sha256[:8], 16) % (_NS // 2)) * 2 + 1


class EmbeddingStore:
    """The ``embeddings/`` directory of a library.

    Args:
        root: the directory (created if absent).
    """

    def __init__(self, root: Path, *, read_only: bool = False) -> None:
        self.root = root
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def file_name(video_path: str, content_hash: str) -> str:
        """The embeddings file name for a video path at a given content hash."""
        path_key = hashlib.sha256(video_path.encode()).hexdigest()[:16]
        hash_key = hashlib.sha256(content_hash.encode()).hexdigest()[:16]
        return f"{path_key}-{hash_key}{_SUFFIX}"

    def save(self, name: str, embeddings: np.ndarray, timestamps: np.ndarray) -> Path:
        """Write one video's embeddings atomically.

        Args:
            name: file name from ``file_name``.
            embeddings: ``(T, D)`` float, L2-normalised rows.
            timestamps: ``(T,)`` seconds, increasing.

        Returns:
            The final path.
        """
        if embeddings.ndim != 2 or timestamps.shape != (embeddings.shape[0],):
            raise ValueError(
                "embeddings must be (T, D) with timestamps (T,), "
                f"got {embeddings.shape} and {timestamps.shape}"
            )
        final = self.root / name
        tmp = self.root / f"{name}{_TMP_MARK}-{os.getpid()}"
        with tmp.open("wb") as fh:
            np.savez(
                fh,
                embeddings=np.ascontiguousarray(embeddings, dtype=STORAGE_DTYPE),
                timestamps=np.ascontiguousarray(timestamps, dtype=np.float64),
            )
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def load(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Read one video's embeddings.

        Returns:
            ``embeddings`` ``(T, D)`` float32 and ``timestamps`` ``(T,)`` float64.
        """
        path = self.root / name
        try:
            with np.load(path, allow_pickle=False) as data:
                return data["embeddings"].astype(np.float32), data["timestamps"].astype(np.float64)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise LibraryError(f"embeddings file {path} is missing or corrupt ({exc}); re-run index") from exc

    def checksum(self, name: str) -> tuple[int, str] | None:
        """``(size in bytes, sha256 hex)`` of one embeddings file, or ``None`` when it is unreadable."""
        digest = hashlib.sha256()
        size = 0
        try:
            with (self.root / name).open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
                    size += len(block)
        except OSError:
            return None
        return size, digest.hexdigest()

    def seal(self, name: str, sha256: str) -> None:
        """Mark one file (whose sha256 is ``sha256``) as checked: see the module docstring."""
        path = self.root / name
        try:
            st = path.stat()
            seconds = st.st_mtime_ns - st.st_mtime_ns % _NS
            os.utime(path, ns=(st.st_atime_ns, seconds + seal_ns(sha256)))
        except OSError as exc:  # not fatal: the file is read-verified next time instead
            logger.debug("cannot seal %s: %s", path, exc)

    def verify(self, name: str, *, size: int | None, sha256: str | None) -> bool:
        """Whether one embeddings file is intact.

        With a recorded ``size`` and ``sha256`` (catalog schema 2) the file must have that size
        and either still carry its seal or hash to ``sha256`` (see the module docstring); without
        them (rows from an older catalog) the file must load.
        """
        path = self.root / name
        if size is None or sha256 is None:
            try:
                self.load(name)
            except LibraryError:
                return False
            return True
        try:
            st = path.stat()
        except OSError:
            return False
        if st.st_size != size:
            return False
        if st.st_mtime_ns % _NS == seal_ns(sha256):
            return True  # not written since it was sealed
        self.seal(name, sha256)  # first, so a write during the check breaks the seal
        return self.checksum(name) == (size, sha256)

    def delete(self, name: str) -> None:
        """Remove one embeddings file if present."""
        (self.root / name).unlink(missing_ok=True)

    def names(self) -> set[str]:
        """Names of the complete embeddings files present."""
        return {p.name for p in self.root.iterdir() if p.name.endswith(_SUFFIX)}

    def remove_orphans(self, referenced: set[str]) -> int:
        """Delete partial files and files no catalog row references.

        Only call this while holding the library's write lock (no ingest in flight).

        Returns:
            The number of files removed.
        """
        removed = 0
        for path in self.root.iterdir():
            if _TMP_MARK in path.name or (path.name.endswith(_SUFFIX) and path.name not in referenced):
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.info("removed %d orphaned embeddings file(s) from %s", removed, self.root)
        return removed

    def size_bytes(self) -> int:
        """Total bytes of the embeddings files."""
        return sum(p.stat().st_size for p in self.root.iterdir() if p.is_file())
