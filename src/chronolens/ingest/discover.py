"""Finding the video files under the paths given to ``index``, without opening anything.

Directories are walked for ``VIDEO_EXTENSIONS``; symlinks to files are followed, symlinks to
directories are not (so no symlink loop can be entered, and no file is reached twice through an
alias). Only ``stat`` is called on each entry, never ``open``: a FIFO named ``x.mp4`` would block a
reader forever. Entries that are not regular files come back as ``skipped`` with a one-line reason.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = ["VIDEO_EXTENSIONS", "VIDEO_SUFFIXES", "discover", "non_video_reason"]

# Suffixes picked up when a directory is indexed (an explicitly named file is always tried),
# in the order messages list them.
VIDEO_SUFFIXES = (
    ".mp4",
    ".mkv",
    ".mov",
    ".webm",
    ".avi",
    ".m4v",
    ".mpg",
    ".mpeg",
    ".ts",
    ".mts",
    ".m2ts",
    ".wmv",
    ".flv",
    ".3gp",
    ".ogv",
)
VIDEO_EXTENSIONS = frozenset(VIDEO_SUFFIXES)


_FILE_KINDS = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def _classify(path: Path) -> tuple[str, str | None]:
    """``("file" | "dir" | "absent" | "bad", reason)`` for one path, following file symlinks.

    Only ``stat`` is called: nothing is opened, so a FIFO cannot block here.
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "bad", "symlink loop (too many levels of symbolic links)"
        if path.is_symlink():
            return "bad", f"dangling symlink (its target {path.readlink()} does not exist)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "absent", None
        return "bad", f"cannot read its metadata ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "dir", None
    if stat.S_ISREG(mode):
        return "file", None
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "special file")
    return "bad", f"not a regular file ({kind})"


def non_video_reason(name: str) -> str:
    """Why a file found in a folder was not indexed: its name has no video extension."""
    suffix = Path(name).suffix.lower()
    return f"not a video file by its extension ({suffix or 'none'}; name the file to try it anyway)"


def _walk(root: Path, files: set[Path], skipped: dict[str, str], non_video: dict[str, str]) -> None:
    """Add the video files under ``root`` to ``files``; record bad entries in ``skipped`` and
    files without a video extension in ``non_video``."""

    def unreadable(exc: OSError) -> None:
        skipped[str(exc.filename)] = f"cannot list directory ({exc.strerror})"

    # followlinks=False: a symlinked directory is listed in dirnames but never entered.
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        here = Path(dirpath)
        for name in dirnames:
            if not name.startswith(".") and (here / name).is_symlink():
                skipped[str(here / name)] = "symlink to a directory, not followed (name its target instead)"
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue  # hidden: .DS_Store, editors' swap files, a library's own entries
            if Path(name).suffix.lower() not in VIDEO_EXTENSIONS:
                non_video[str(here / name)] = non_video_reason(name)
                continue
            kind, reason = _classify(here / name)
            if kind == "file":
                files.add(here / name)
            elif reason is not None:
                skipped[str(here / name)] = reason


def discover(
    paths: Iterable[str | os.PathLike[str]],
    *,
    skipped: dict[str, str] | None = None,
    non_video: dict[str, str] | None = None,
) -> tuple[list[Path], list[Path]]:
    """Expand files and directories into video files.

    Directories are walked recursively for ``VIDEO_EXTENSIONS`` (hidden entries skipped, symlinks
    to directories not followed); files are taken as given. Entries that are not regular files
    (dangling symlinks, symlink loops, FIFOs, sockets, devices) are never opened: they go to
    ``skipped`` with a one-line reason.

    Args:
        paths: files and/or directories.
        skipped: filled with ``path -> reason`` for every entry left out that is not a regular
            file (optional).
        non_video: filled with ``path -> reason`` for the files found in directories whose name
            has no video extension (hidden files are not counted; optional).

    Returns:
        ``(files, roots)``: sorted unique absolute video files, and the absolute roots given (used to
        mark catalogued files under them that vanished). A given path that does not exist is in
        ``roots`` only; the caller decides whether that is an error.
    """
    files: set[Path] = set()
    roots: list[Path] = []
    skipped = {} if skipped is None else skipped
    non_video = {} if non_video is None else non_video
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        roots.append(path)
        kind, reason = _classify(path)
        if kind == "dir":
            _walk(path, files, skipped, non_video)
        elif kind == "file":
            files.add(path)
        elif reason is not None:
            skipped[str(path)] = reason
        # "absent": may be a catalogued file that vanished; checked by the caller
    return sorted(files), roots
