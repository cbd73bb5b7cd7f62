"""The content fingerprint the library uses to tell a changed video file from a touched one.

The rule (scheme ``sha256-v2``): sha256 over the whole file, read in ``BLOCK_BYTES`` blocks (so
memory stays flat for any file size). It is computed only when a file is new or its size or mtime
changed (size and mtime are compared first, like make and rsync), i.e. just before that file is
decoded, which reads it all again and costs far more: ``benchmarks/hashing.py`` measures it.

The earlier scheme ``sampled-sha256-v1`` hashed only the first and last MiB and eight 64 KiB
blocks of files over 4 MiB, so a same-size edit elsewhere in a large file (a touched file with new
bytes) went unnoticed. Catalogs written with it need no upgrade pass: a fingerprint is only
compared after a size or mtime change, and one of another scheme never equals a ``sha256-v2``
fingerprint, so such a file is re-indexed (and its row gets the new fingerprint) exactly when the
old scheme could not prove it unchanged. Untouched files keep their old fingerprints and cost
nothing.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat

__all__ = ["BLOCK_BYTES", "HASH_SCHEME", "content_hash"]

BLOCK_BYTES = 1 << 20  # bytes read per block while hashing
HASH_SCHEME = "sha256-v2"  # prefix of every fingerprint, so the scheme can evolve


def content_hash(path: str | os.PathLike[str]) -> str:
    """Fingerprint a file's whole content (see the module docstring).

    Args:
        path: a regular file.

    Returns:
        ``"sha256-v2:<hex digest>"``.

    Raises:
        OSError: the file cannot be read, or is not a regular file (a FIFO, socket, device).
    """
    digest = hashlib.sha256()
    buffer = bytearray(BLOCK_BYTES)
    view = memoryview(buffer)
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb", buffering=0) as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        while n := fh.readinto(buffer):
            digest.update(view[:n])
    return f"{HASH_SCHEME}:{digest.hexdigest()}"
