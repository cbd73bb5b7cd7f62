"""A content fingerprint of a model's weights, recorded in library manifests."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["WEIGHT_SUFFIXES", "file_sha256", "weight_files", "weights_sha256"]

# (file-name prefix, suffix) in order of preference: transformers loads model*.safetensors when
# present, else pytorch_model*.bin. Other weight files some repositories carry (open_clip_*.bin,
# *.safetensors for other libraries) are not what transformers loads, so they are not hashed.
WEIGHT_SUFFIXES: tuple[tuple[str, str], ...] = (("model", ".safetensors"), ("pytorch_model", ".bin"))
_CHUNK_BYTES = 1 << 20  # read size while hashing


def weight_files(directory: Path) -> list[Path]:
    """The weight files transformers would load from ``directory``, sorted by name.

    ``model*.safetensors`` when there are any, else ``pytorch_model*.bin`` (single or sharded);
    symlinks (the hub cache) are followed.
    """
    for prefix, suffix in WEIGHT_SUFFIXES:
        files = sorted(
            p
            for p in directory.iterdir()
            if p.name.startswith(prefix) and p.name.endswith(suffix) and p.is_file()
        )
        if files:
            return files
    return []


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of one file's bytes, read in chunks (a single-file model: CTranslate2's model.bin)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def weights_sha256(directory: Path) -> str:
    """sha256 over the bytes of ``weight_files(directory)``, concatenated in name order.

    Returns:
        64 hex digits; the sha256 of nothing when the directory holds no weight files.
    """
    digest = hashlib.sha256()
    for path in weight_files(directory):
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK_BYTES):
                digest.update(chunk)
    return digest.hexdigest()
