"""Change detection cost: the whole-file content hash (``sha256-v2``) vs the old sampled one.

Run ``python benchmarks/hashing.py [--gb 2] [--dir /tmp]``. It writes a file of ``--gb`` GiB of
random-ish bytes (a 16 MiB random block, each copy with its own counter so no two blocks are
equal), then times in the same run, each from a cold page cache (``posix_fadvise(DONTNEED)``
evicts the file) and again warm:

- ``sampled-sha256-v1``: the rule chronolens used before (size, the first and last MiB and
  eight 64 KiB blocks in between; copied here, since the library no longer has it),
- ``sha256-v2``: ``chronolens.library.hashing.content_hash``, the whole file in 1 MiB blocks,

and prints MB/s and the ratio of the two. The file is deleted afterwards. For scale it also
prints the sha256 rate on an embeddings-sized buffer (what ``index`` reads to verify an
embeddings file before calling a video unchanged).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from chronolens.library.hashing import content_hash

BLOCK = 16 << 20  # bytes of the random block the test file is built from
# The old sampled rule (chronolens.library.hashing before sha256-v2).
OLD_EDGE_BYTES = 1 << 20
OLD_MIDDLE_SAMPLES = 8
OLD_MIDDLE_BYTES = 64 << 10
OLD_FULL_HASH_MAX_BYTES = 4 << 20


def sampled_hash_v1(path: Path) -> str:
    """The pre-``sha256-v2`` fingerprint: a sample of the file (misses same-size edits)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        if size <= OLD_FULL_HASH_MAX_BYTES:
            digest.update(fh.read())
        else:
            digest.update(fh.read(OLD_EDGE_BYTES))
            span = size - 2 * OLD_EDGE_BYTES - OLD_MIDDLE_BYTES
            for i in range(OLD_MIDDLE_SAMPLES):
                fh.seek(OLD_EDGE_BYTES + span * (i + 1) // (OLD_MIDDLE_SAMPLES + 1))
                digest.update(fh.read(OLD_MIDDLE_BYTES))
            fh.seek(size - OLD_EDGE_BYTES)
            digest.update(fh.read(OLD_EDGE_BYTES))
    return f"sampled-sha256-v1:{digest.hexdigest()}"


def write_test_file(path: Path, n_bytes: int) -> None:
    """``n_bytes`` of random-ish data: one random block, each copy stamped with its index."""
    block = bytearray(np.random.default_rng(0).integers(0, 256, BLOCK, np.uint8).tobytes())
    with path.open("wb") as fh:
        written = 0
        while written < n_bytes:
            block[:8] = (written // BLOCK).to_bytes(8, "little")
            fh.write(block[: min(BLOCK, n_bytes - written)])
            written += BLOCK
        fh.flush()
        os.fsync(fh.fileno())


def evict(path: Path) -> None:
    """Drop ``path`` from the page cache so the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def timed(fn: Callable[[Path], str], path: Path, *, cold: bool) -> float:
    """Seconds one call of ``fn(path)`` takes (after evicting the file when ``cold``)."""
    if cold:
        evict(path)
    start = time.perf_counter()
    fn(path)
    return time.perf_counter() - start


def main() -> None:
    """Write the file, time both schemes cold and warm, print the table, delete the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=2.0, help="test file size in GiB (default 2)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp"), help="where the file is written")
    args = parser.parse_args()
    path = args.dir / "chronolens-hash-bench.bin"
    n_bytes = int(args.gb * (1 << 30))
    mb = n_bytes / 1e6
    try:
        write_test_file(path, n_bytes)
        print(f"file: {path} {mb:.0f} MB")
        rows = {}
        for name, fn in (("sampled-sha256-v1", sampled_hash_v1), ("sha256-v2", content_hash)):
            rows[name] = (timed(fn, path, cold=True), timed(fn, path, cold=False))
        for name, (cold, warm) in rows.items():
            print(
                f"{name:18s} cold {cold:7.3f} s ({mb / cold:8.0f} MB/s)   "
                f"warm {warm:7.3f} s ({mb / warm:8.0f} MB/s)"
            )
        old, new = rows["sampled-sha256-v1"], rows["sha256-v2"]
        print(f"ratio sha256-v2 / sampled-v1: cold {new[0] / old[0]:.0f}x, warm {new[1] / old[1]:.0f}x")
    finally:
        path.unlink(missing_ok=True)
    embeddings = np.random.default_rng(1).standard_normal((3600, 512)).astype(np.float16).tobytes()
    start = time.perf_counter()
    hashlib.sha256(embeddings).hexdigest()
    seconds = time.perf_counter() - start
    print(
        f"embeddings check: sha256 of one hour at 1 fps, D=512 float16 ({len(embeddings) / 1e6:.1f} MB) "
        f"{seconds * 1e3:.2f} ms ({len(embeddings) / 1e6 / seconds:.0f} MB/s)"
    )


if __name__ == "__main__":
    main()
