"""Re-index a library whose encoder, weights or sampling changed, without a moment unreadable.

The new library is built beside the old one (``.<name>.rebuild`` in the same parent directory,
so the final move is a rename on one filesystem) from the videos the old one catalogued plus any
paths given, while the old library stays searchable and write-locked. Only when the new one is
complete are the two directories exchanged: atomically with Linux ``renameat2(RENAME_EXCHANGE)``
(at every instant a complete library stands under the name), else by three renames through
``.<name>.old`` (a kill between them is finished by the next ``rebuild``). The old directory is
then deleted. A rebuild killed while indexing leaves the old library untouched and its partial
sibling, which the next ``rebuild`` resumes (ingest is incremental).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from chronolens.encoders.base import Encoder
from chronolens.errors import EncoderMismatchError, LibraryError
from chronolens.ingest.local import IngestConfig
from chronolens.ingest.report import IngestReport
from chronolens.library.library import Library
from chronolens.video.sampling import Sampling

__all__ = ["rebuild", "rebuild_dir"]

logger = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2  # linux/fs.h: swap two paths atomically
_AT_FDCWD = -100  # linux/fcntl.h: paths relative to the working directory


def rebuild_dir(root: Path) -> Path:
    """Where the rebuild of library ``root`` is built (a hidden sibling)."""
    return root.parent / f".{root.name}.rebuild"


def _swap(a: Path, b: Path) -> None:
    """Exchange two directories: one atomic syscall on Linux, else two renames.

    Python's ``os`` has no ``renameat2``; libc exposes it (glibc >= 2.28), so it is called
    through ctypes, and any failure (other libc, other OS, a filesystem without the flag)
    falls back to renames.
    """
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        renameat2 = getattr(libc, "renameat2", None)
        if renameat2 is not None:
            result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
            if result == 0:
                return
            logger.debug("renameat2 failed (errno %d); swapping by renames", ctypes.get_errno())
    parked = a.parent / f".{a.name}.old"
    a.rename(parked)
    b.rename(a)
    parked.rename(b)


def _finish_swap(root: Path) -> None:
    """Complete a fallback swap that a kill interrupted (see :func:`_swap`)."""
    parked, target = root.parent / f".{root.name}.old", rebuild_dir(root)
    if not parked.exists():
        return
    if not root.exists() and target.exists():  # killed after parking the old library
        target.rename(root)
    logger.info("finishing an interrupted rebuild of %s", root)
    shutil.rmtree(parked)


def _catalogued_paths(old: Library) -> list[str]:
    """The videos the old library knew (indexed or failed) whose files still exist."""
    return [r.path for r in old.videos() if r.status != "missing" and Path(r.path).exists()]


def rebuild(
    root: str | os.PathLike[str],
    *,
    model: str | None = None,
    encoder: Encoder | None = None,
    sampling: Sampling | None = None,
    paths: Iterable[str | os.PathLike[str]] = (),
    config: IngestConfig | None = None,
    progress: bool = True,
) -> IngestReport:
    """Re-index the library at ``root`` with another encoder and/or sampling, swapping it in whole.

    Args:
        root: an existing library directory.
        model: the new encoder name (default: the library's own, e.g. when only its weights or
            the sampling changed).
        encoder: an already-loaded encoder instead of ``model``.
        sampling: the new sampling policy (default: the library's own).
        paths: more files/directories to index beside the videos the library already holds.
        config: decode/embed batching settings.
        progress: show a progress bar on stderr (only on a terminal).

    Returns:
        The report of indexing the new library (every video counts as indexed or failed).

    Raises:
        LibraryError: ``root`` holds no library, is read-only, or is being indexed.
    """
    from chronolens.ingest import index

    root_path = Path(root).expanduser().absolute()
    _finish_swap(root_path)
    if not Library.exists(root_path):
        raise LibraryError(f"no chronolens library at {root_path} to rebuild")
    target = rebuild_dir(root_path)
    with Library.open(root_path, create=False) as old, old.writing():
        wanted_model = model or (encoder.name if encoder is not None else old.manifest.encoder)
        wanted = sampling if sampling is not None else old.sampling
        todo = [*_catalogued_paths(old), *(str(p) for p in paths)]
        try:
            new = Library.open(target, model=wanted_model, encoder=encoder, sampling=wanted)
            new.encoder  # noqa: B018 - load now: a leftover built with other weights is refused here
        except EncoderMismatchError as exc:  # a leftover of an interrupted rebuild to other settings
            logger.info("discarding the unfinished rebuild %s: %s", target, exc)
            shutil.rmtree(target)
            new = Library.open(target, model=wanted_model, encoder=encoder, sampling=wanted)
        with new:
            logger.info("rebuilding %s into %s (%d videos)", root_path, target, len(todo))
            report = index(new, todo, config=config, progress=progress)
        _swap(root_path, target)
    shutil.rmtree(target)  # now the old library
    logger.info("rebuilt %s: encoder %s, %s", root_path, wanted_model, wanted.spec)
    return report
