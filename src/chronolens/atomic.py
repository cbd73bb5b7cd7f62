"""Atomic writes: a temp file (or directory) next to the target, then ``os.replace``."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["atomic_directory", "write_json_atomic", "write_jsonl_atomic", "write_text_atomic"]


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_FILE_MODE = _file_mode()


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` so a reader never sees a half-written file."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())  # the rename must never expose a file whose data is not on disk
        Path(tmp).chmod(_FILE_MODE)  # mkstemp creates 0600; give the file ordinary permissions
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_json_atomic(path: str | os.PathLike[str], data: object, *, indent: int | None = None) -> Path:
    """Serialise ``data`` as JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(data, indent=indent, ensure_ascii=False) + "\n")


def write_jsonl_atomic(path: str | os.PathLike[str], records: Iterable[object]) -> Path:
    """Write ``records`` as JSON lines (one compact, ASCII-escaped object per line) atomically."""
    return write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in records))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a directory in ``.<name>.partial`` next to ``path``, then swap it in for ``path``.

    Yields the temp directory to fill. On success an existing ``path`` is moved aside and
    replaced by two renames, so a reader sees the old directory or the new one, never a mix (a
    crash between the renames leaves the old one as ``.<name>.old``); on error the temp
    directory is removed and ``path`` is untouched.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
