"""Dense-captioning files read strictly: TimeChat's ground truth and predictions as typed videos.

Every problem raises :class:`~chronolens.errors.FormatError` naming the file, the record and the
key; spans, durations and duplicates go through :mod:`chronolens.metrics.io`, whose
:class:`~chronolens.metrics.io.InputChecks` decides what ``lenient`` lets through (see
:mod:`chronolens.metrics.dense_captioning` for the formats and the reference).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.io import (
    InputChecks,
    require,
    require_duration,
    require_list,
    require_span,
    require_str,
)
from chronolens.timebase.text import check_parser, parse_timestamped_captions

__all__ = [
    "DEFAULT_SPLIT",
    "SPLIT_IDS",
    "GroundTruthVideo",
    "PredictedVideo",
    "annotated_durations",
    "read_ground_truth",
    "read_predictions",
    "split_of",
]

logger = logging.getLogger(__name__)

SPLIT_IDS = {"train": 1, "val": 2, "test": 3}  # eval_dvc.py's split numbering (SODA_c_<id>)
DEFAULT_SPLIT = "val"  # used when the ground-truth file name does not start with a split name
GT_CAPTION_MIN_CHARS = 5  # ActivityNet-style 'caption' pieces longer than this are events


@dataclass(frozen=True, kw_only=True)
class GroundTruthVideo:
    """One annotated video: its events and their captions, in the annotation's order."""

    key: str  # video name as predictions are keyed: the last path component of image_id
    segments: np.ndarray  # (S, 2) seconds
    captions: list[str]  # S captions, each ending in '.' as eval_dvc.py builds them

    def __post_init__(self) -> None:
        if self.segments.ndim != 2 or self.segments.shape[1] != 2:
            raise ValueError(f"segments: must have shape (S, 2), got {self.segments.shape}")
        if len(self.captions) != len(self.segments):
            raise ValueError(f"captions: {len(self.captions)} captions for {len(self.segments)} segments")
        if not self.captions:
            raise ValueError(f"segments: video {self.key!r} has no events")

    @property
    def paragraph(self) -> str:
        """All captions joined by spaces (``gt_paras`` in eval_dvc.py)."""
        return " ".join(self.captions)


@dataclass(frozen=True, kw_only=True)
class PredictedVideo:
    """The events predicted for one video."""

    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (K, 2) seconds
    captions: list[str] = field(default_factory=list)  # K captions

    def __post_init__(self) -> None:
        if self.segments.ndim != 2 or self.segments.shape[1] != 2:
            raise ValueError(f"segments: must have shape (K, 2), got {self.segments.shape}")
        if len(self.captions) != len(self.segments):
            raise ValueError(f"captions: {len(self.captions)} captions for {len(self.segments)} segments")


def _gt_captions(record: Mapping[str, Any], file: str, where: str) -> list[str]:
    """The event captions of one annotation, split as eval_dvc.py does."""
    if "pure_cap" in record:  # YouCook2
        text = require_str(record["pure_cap"], file=file, where=where, what="pure_cap")
        pieces = text.split(". ")
    else:  # ActivityNet
        text = require_str(require(record, "caption", file=file, where=where), file=file, where=where,
                           what="caption")  # fmt: skip
        pieces = [c.strip(" ") for c in text.split(".") if len(c) > GT_CAPTION_MIN_CHARS]
    return [c + "." for c in pieces]


def _window(
    value: Any,
    *,
    file: str,
    where: str,
    what: str,
    duration: float | None = None,
    checks: InputChecks | None = None,
) -> list[float]:
    pair = require_list(value, file=file, where=where, what=what)
    if len(pair) != 2:
        raise FormatError(f"{file}: record {where}: {what} must be [start, end], got {pair!r}")
    return list(require_span(pair, file=file, where=where, what=what, duration=duration, checks=checks))


def read_ground_truth(
    data: Any, file: str = "ground truth", *, checks: InputChecks | None = None
) -> list[GroundTruthVideo]:
    """Videos from TimeChat's ``{"annotations": [{image_id, duration, segments, pure_cap | caption}]}``.

    Strict by default: ``duration`` present and a number, every segment inside ``[0, duration]``
    (within the tolerance) and ordered, each video once. ``checks.lenient`` counts instead what
    eval_dvc.py accepts (it never reads the duration, reorders each window, and scores a
    repeated video twice).

    Raises:
        FormatError: a missing key, a bad window, a duplicate video, or a caption count that
            differs from the number of segments (the reference asserts they are equal).
    """
    if not isinstance(data, Mapping):
        raise FormatError(
            f"{file}: expected a JSON object with an 'annotations' list, got {type(data).__name__}"
        )
    annotations = require_list(require(data, "annotations", file=file, where="top level"), file=file,
                               where="top level", what="annotations")  # fmt: skip
    videos = []
    first: dict[str, str] = {}
    for i, record in enumerate(annotations):
        where = f"annotations[{i}]"
        image_id = require_str(require(record, "image_id", file=file, where=where), file=file, where=where,
                               what="image_id")  # fmt: skip
        key = image_id.split("/")[-1]
        if key in first:
            (checks or InputChecks()).refuse(
                "duplicate_record", f"{file}: record {where}: duplicate video {key!r} (first at {first[key]})"
            )
        first.setdefault(key, where)
        duration = require_duration(record, file=file, where=where, checks=checks)
        raw = require_list(require(record, "segments", file=file, where=where), file=file, where=where,
                           what="segments")  # fmt: skip
        segments = [
            _window(s, file=file, where=where, what=f"segments[{j}]", duration=duration, checks=checks)
            for j, s in enumerate(raw)
        ]
        captions = _gt_captions(record, file, where)
        if len(captions) != len(segments) or not segments:
            raise FormatError(
                f"{file}: record {where}: {len(segments)} segments but {len(captions)} captions "
                "(need one caption per segment, at least one)"
            )
        videos.append(
            GroundTruthVideo(key=key, segments=np.array(segments).reshape(-1, 2), captions=captions)
        )
    return videos


def read_predictions(
    data: Any,
    file: str = "predictions",
    *,
    parser: str = "default",
    durations: Mapping[str, float | None] | None = None,
    checks: InputChecks | None = None,
) -> dict[str, PredictedVideo]:
    """Predictions from ``{vid: [{timestamp: [s, e], caption}]}`` or raw answers ``[{vname, generated_cap}]``.

    Raw answers are parsed with :func:`chronolens.timebase.text.parse_timestamped_captions`
    (``parser="timechat"`` reproduces ``format_dvc.py``); a repeated ``vname`` keeps the last.
    Timestamps written in the file are checked as ground-truth segments are, against the
    video's annotated duration from ``durations`` (by video key) where there is one; parsed
    answers are scored as parsed.

    Raises:
        FormatError: a missing key or a bad window.
    """
    check_parser(parser)
    out: dict[str, PredictedVideo] = {}
    if isinstance(data, list):
        for i, record in enumerate(data):
            where = f"index {i}"
            vid = require_str(require(record, "vname", file=file, where=where), file=file, where=where,
                              what="vname")  # fmt: skip
            text = require_str(require(record, "generated_cap", file=file, where=where), file=file,
                               where=where, what="generated_cap")  # fmt: skip
            events = parse_timestamped_captions(text, parser=parser)
            segments = np.array([[s.start, s.end] for s, _ in events], dtype=np.float64).reshape(-1, 2)
            out[vid] = PredictedVideo(segments=segments, captions=[c for _, c in events])
        return out
    if not isinstance(data, Mapping):
        raise FormatError(f"{file}: expected a JSON object {{video: [events]}} or a list of answers")
    for vid, value in data.items():
        items = require_list(value, file=file, where=f"key {vid}", what="events")
        windows: list[list[float]] = []
        texts: list[str] = []
        for j, event in enumerate(items):
            where = f"key {vid} event {j}"
            stamp = require(event, "timestamp", file=file, where=where)
            duration = (durations or {}).get(str(vid))
            windows.append(
                _window(stamp, file=file, where=where, what="timestamp", duration=duration, checks=checks)
            )
            caption = require(event, "caption", file=file, where=where)
            texts.append(require_str(caption, file=file, where=where, what="caption"))
        out[str(vid)] = PredictedVideo(
            segments=np.array(windows, dtype=np.float64).reshape(-1, 2), captions=texts
        )
    return out


def split_of(gt_path: str | Path) -> str:
    """The split eval_dvc.py reads from the ground-truth file name (``val.caption_coco_format.json``)."""
    name = Path(gt_path).name.split(".")[0]
    if name in SPLIT_IDS:
        return name
    logger.info("%s: file name does not start with train/val/test; SODA_c is reported for split %r",
                gt_path, DEFAULT_SPLIT)  # fmt: skip
    return DEFAULT_SPLIT


def annotated_durations(data: Any) -> dict[str, float | None]:
    """Video key -> annotated duration of an already validated ground-truth file."""
    return {
        str(a["image_id"]).split("/")[-1]: (float(a["duration"]) if a.get("duration") is not None else None)
        for a in data["annotations"]
    }
