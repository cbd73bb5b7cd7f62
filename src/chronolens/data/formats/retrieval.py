"""Text-video retrieval pairs, MSR-VTT style: ``[{"video_id": ..., "caption": ...}, ...]``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from chronolens.atomic import write_json_atomic
from chronolens.errors import FormatError

__all__ = ["read_retrieval_pairs", "write_retrieval_pairs"]


def write_retrieval_pairs(path: str | os.PathLike[str], pairs: list[tuple[str, str]]) -> Path:
    """Write ``(video_id, caption)`` pairs atomically."""
    return write_json_atomic(path, [{"video_id": v, "caption": c} for v, c in pairs], indent=1)


def read_retrieval_pairs(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read ``(video_id, caption)`` pairs.

    Raises:
        FormatError: if the file is not a list of ``{"video_id", "caption"}`` objects.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        return [(str(d["video_id"]), str(d["caption"])) for d in data]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FormatError(f"{p}: malformed retrieval pairs: {exc!r}") from exc
