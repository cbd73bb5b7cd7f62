"""QVHighlights jsonl: one query per line with its relevant windows and 2 s clip saliency.

Each record (moment_detr ``data/highlight_*_release.jsonl``)::

    {"qid": 0, "query": "...", "vid": "...", "duration": 150,
     "relevant_windows": [[s, e], ...], "relevant_clip_ids": [i, ...],
     "saliency_scores": [[a, b, c], ...]}

``relevant_clip_ids`` index 2-second clips ``[2i, 2i + 2)``; ``saliency_scores`` has one triple
of 0..4 scores (three annotators) per relevant clip.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from chronolens.atomic import write_jsonl_atomic
from chronolens.errors import FormatError
from chronolens.metrics.io import check_span, require_number
from chronolens.timebase.grid import CLIP_LENGTH, n_whole_clips

__all__ = ["QVHRecord", "read_qvhighlights", "relevant_clip_ids", "write_qvhighlights"]

SALIENCY_MAX = 4  # scores are integers in 0..SALIENCY_MAX


@dataclass(frozen=True, kw_only=True, slots=True)
class QVHRecord:
    """One QVHighlights query."""

    qid: int
    query: str
    vid: str
    duration: float  # seconds
    relevant_windows: tuple[tuple[float, float], ...]  # seconds, [start, end]
    relevant_clip_ids: tuple[int, ...]  # 2 s clip indices
    saliency_scores: tuple[tuple[int, ...], ...]  # one score per annotator per relevant clip

    def to_json(self) -> dict[str, object]:
        """The record as the jsonl dict."""
        return {
            "qid": self.qid,
            "query": self.query,
            "vid": self.vid,
            "duration": self.duration,
            "relevant_windows": [list(w) for w in self.relevant_windows],
            "relevant_clip_ids": list(self.relevant_clip_ids),
            "saliency_scores": [list(s) for s in self.saliency_scores],
        }


def relevant_clip_ids(
    windows: tuple[tuple[float, float], ...] | list[tuple[float, float]],
    duration: float,
    clip_length: float = CLIP_LENGTH,
) -> list[int]:
    """Indices of the clips ``[i * L, (i + 1) * L)`` that overlap any window (sorted, unique).

    Only whole clips count: the QVHighlights evaluator gives a video ``int(duration / L)`` clips,
    so a partial last clip has no id (an id there would be out of range for it).
    """
    n_clips = n_whole_clips(duration, clip_length)
    ids: set[int] = set()
    for start, end in windows:
        first = math.floor(start / clip_length)
        last = math.ceil(end / clip_length) - 1
        ids.update(i for i in range(max(first, 0), min(last, n_clips - 1) + 1))
    return sorted(ids)


def write_qvhighlights(path: str | os.PathLike[str], records: list[QVHRecord]) -> Path:
    """Write records as jsonl atomically."""
    return write_jsonl_atomic(path, (r.to_json() for r in records))


def read_qvhighlights(path: str | os.PathLike[str]) -> list[QVHRecord]:
    """Read a QVHighlights jsonl file (test files without windows/scores are accepted).

    Windows and the duration must be finite numbers (not bools), windows ordered and inside
    ``[0, duration]`` within the tolerance (:func:`chronolens.metrics.io.check_span`); qids unique.

    Raises:
        FormatError: naming the file and line of the first malformed record.
    """
    out = []
    seen: dict[int, int] = {}
    p = Path(path)
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            where = f"line {lineno}"
            duration = require_number(d["duration"], file=str(p), where=where, what="duration")
            windows = tuple(
                (
                    require_number(s, file=str(p), where=where, what=f"relevant_windows[{j}][0]"),
                    require_number(e, file=str(p), where=where, what=f"relevant_windows[{j}][1]"),
                )
                for j, (s, e) in enumerate(d.get("relevant_windows", []))
            )
            for j, (s, e) in enumerate(windows):
                check_span(s, e, file=str(p), where=where, what=f"relevant_windows[{j}]", duration=duration)
            clip_ids = tuple(int(i) for i in d.get("relevant_clip_ids", []))
            scores = tuple(tuple(int(x) for x in s) for s in d.get("saliency_scores", []))
            record = QVHRecord(
                qid=int(d["qid"]),
                query=str(d["query"]),
                vid=str(d["vid"]),
                duration=duration,
                relevant_windows=windows,
                relevant_clip_ids=clip_ids,
                saliency_scores=scores,
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"{p}:{lineno}: malformed QVHighlights record: {exc!r}") from exc
        if record.qid in seen:
            raise FormatError(f"{p}:{lineno}: duplicate qid {record.qid} (first at line {seen[record.qid]})")
        seen[record.qid] = lineno
        if scores and len(scores) != len(clip_ids):
            raise FormatError(f"{p}:{lineno}: {len(scores)} saliency triples for {len(clip_ids)} clip ids")
        out.append(record)
    return out
