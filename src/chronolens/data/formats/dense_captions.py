"""YouCook2 / ActivityNet dense captions in TimeChat's ``eval_dvc`` ground-truth layout.

``{"annotations": [{"image_id": "<vid>.mp4", "id": 0, "duration": 207.0,
"segments": [[s, e], ...], "pure_cap": "sentence one. sentence two", "caption": ...}]}``;
``pure_cap`` holds the sentences joined with ``". "`` in segment order (TimeChat splits it on
``"."``), so sentences must not contain full stops.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from chronolens.atomic import write_json_atomic
from chronolens.errors import FormatError
from chronolens.metrics.io import check_span, require_number

__all__ = ["DenseCaptionRecord", "read_dense_captions", "write_dense_captions"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DenseCaptionRecord:
    """All captioned segments of one video."""

    image_id: str  # video file name, e.g. "xHr8X2Wpmno.mp4"
    id: int
    duration: float  # seconds
    segments: tuple[tuple[float, float], ...]  # seconds, in caption order
    sentences: tuple[str, ...]  # one per segment, no full stops

    def to_json(self) -> dict[str, object]:
        """The record in the ``eval_dvc`` layout."""
        for s in self.sentences:
            if "." in s:
                raise ValueError(f"dense caption sentences must not contain '.': {s!r}")
        pure_cap = ". ".join(self.sentences)
        return {
            "image_id": self.image_id,
            "id": self.id,
            "duration": self.duration,
            "segments": [list(seg) for seg in self.segments],
            "pure_cap": pure_cap,
            "caption": pure_cap,
        }


def write_dense_captions(path: str | os.PathLike[str], records: list[DenseCaptionRecord]) -> Path:
    """Write ``{"annotations": [...]}`` atomically."""
    return write_json_atomic(path, {"annotations": [r.to_json() for r in records]})


def read_dense_captions(path: str | os.PathLike[str]) -> list[DenseCaptionRecord]:
    """Read an ``eval_dvc`` GT file.

    Durations and segment bounds must be finite numbers (not bools); segments ordered and inside
    ``[0, duration]`` within the tolerance (:func:`chronolens.metrics.io.check_span`); each
    ``image_id`` once.

    Raises:
        FormatError: if the layout is wrong, a span or duration is impossible, a video repeats,
            or sentences and segments do not pair up.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        annotations = data["annotations"]
        out: list[DenseCaptionRecord] = []
        for i, a in enumerate(annotations):
            sentences = tuple(s.strip() for s in str(a["pure_cap"]).split(".") if s.strip())
            where = f"annotations[{i}]"
            duration = require_number(a["duration"], file=str(p), where=where, what="duration")
            segments = tuple(
                (
                    require_number(s, file=str(p), where=where, what=f"segments[{j}][0]"),
                    require_number(e, file=str(p), where=where, what=f"segments[{j}][1]"),
                )
                for j, (s, e) in enumerate(a["segments"])
            )
            for j, (s, e) in enumerate(segments):
                check_span(s, e, file=str(p), where=where, what=f"segments[{j}]", duration=duration)
            if str(a["image_id"]) in {r.image_id for r in out}:
                raise ValueError(f"annotation {i}: duplicate image_id {a['image_id']!r}")
            if len(sentences) != len(segments):
                raise ValueError(f"annotation {i}: {len(sentences)} sentences for {len(segments)} segments")
            out.append(
                DenseCaptionRecord(
                    image_id=str(a["image_id"]),
                    id=int(a.get("id", i)),
                    duration=duration,
                    segments=segments,
                    sentences=sentences,
                )
            )
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{p}: malformed dense-caption file: {exc}") from exc
    return out
