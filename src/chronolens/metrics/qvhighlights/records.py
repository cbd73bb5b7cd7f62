"""QVHighlights records, read strictly: windows, scores, qids and GT saliency, with exact errors.

Every problem raises :class:`~chronolens.errors.FormatError` naming the file, the record and the
key (see :mod:`chronolens.metrics.qvhighlights` for the formats and what is refused).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.io import (
    InputChecks,
    require,
    require_duration,
    require_list,
    require_number,
    require_span,
)
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = [
    "NUM_ANNOTATORS",
    "Labels",
    "gt_saliency",
    "index_by_qid",
    "qid_of",
    "scores_array",
    "which_parts",
    "windows_array",
]

# Saliency annotators per clip.
NUM_ANNOTATORS = 3


@dataclass(frozen=True, kw_only=True)
class Labels:
    """Where records came from, for error messages."""

    pred_file: str
    gt_file: str
    pred_where: Sequence[str]
    gt_where: Sequence[str]


def windows_array(
    value: Any,
    *,
    file: str,
    where: str,
    key: str,
    width: int,
    duration: float | None = None,
    checks: InputChecks | None = None,
) -> np.ndarray:
    """A list of ``[st, ed(, score)]`` windows as a (N, width) float64 array, strictly validated.

    Each window's span goes through :func:`~chronolens.metrics.io.require_span` (finite, not a
    bool, ordered, inside ``[0, duration]`` within the tolerance; ``checks`` decides whether the
    order and range problems are refused or counted).
    """
    windows = require_list(value, file=file, where=where, what=key)
    out = np.zeros((len(windows), width))
    for i, window in enumerate(windows):
        if not isinstance(window, list) or len(window) < width:
            raise FormatError(
                f"{file}: record {where}: {key}[{i}] must be a list of {width} numbers, got {window!r}"
            )
        what = f"{key}[{i}]"
        out[i, :2] = require_span(window, file=file, where=where, what=what, duration=duration, checks=checks)
        for j in range(2, width):
            out[i, j] = require_number(window[j], file=file, where=where, what=f"{what}[{j}]")
    return out


def scores_array(value: Any, *, file: str, where: str, key: str) -> np.ndarray:
    """A list of numbers as a (N,) float64 array, strictly validated (no bools, no nesting)."""
    values = require_list(value, file=file, where=where, what=key)
    return np.array(
        [require_number(item, file=file, where=where, what=f"{key}[{i}]") for i, item in enumerate(values)],
        dtype=np.float64,
    ).reshape(-1)


def qid_of(record: Mapping[str, Any], *, file: str, where: str) -> Any:
    qid = require(record, "qid", file=file, where=where)
    if isinstance(qid, (list, dict)) or qid is None:
        raise FormatError(f"{file}: record {where}: qid must be a number or a string, got {qid!r}")
    return qid


def index_by_qid(records: Sequence[Mapping[str, Any]], file: str, where: Sequence[str]) -> dict[Any, int]:
    index: dict[Any, int] = {}
    for i, record in enumerate(records):
        qid = qid_of(record, file=file, where=where[i])
        if qid in index:
            raise FormatError(
                f"{file}: record {where[i]}: duplicate qid {qid!r} (first at {where[index[qid]]})"
            )
        index[qid] = i
    return index


def which_parts(submission: Sequence[Mapping[str, Any]], labels: Labels) -> tuple[bool, bool]:
    """Whether MR and HL predictions are present; each must be in all records or in none."""
    parts = []
    for key in ("pred_relevant_windows", "pred_saliency_scores"):
        has = [key in record for record in submission]
        if any(has) and not all(has):
            i = has.index(False)
            raise FormatError(
                f"{labels.pred_file}: record {labels.pred_where[i]}: missing key '{key}' "
                "(other records have it; it must be in all records or in none)"
            )
        parts.append(all(has))
    if not any(parts):
        raise FormatError(
            f"{labels.pred_file}: records have neither 'pred_relevant_windows' nor 'pred_saliency_scores'"
        )
    return parts[0], parts[1]


def gt_saliency(record: Mapping[str, Any], *, file: str, where: str) -> np.ndarray:
    """The (n_clips, 3) annotator scores of a GT record (reference ``mk_gt_scores``)."""
    require(record, "duration", file=file, where=where)  # HL needs it in every mode
    duration = require_duration(record, file=file, where=where)
    assert duration is not None  # present, checked above
    # The reference counts whole clips with a bare int() (timebase.grid.n_whole_clips, without its
    # at-least-one floor and epsilon): kept so scores stay identical to mk_gt_scores.
    n_clips = int(duration / CLIP_LENGTH)
    clip_ids = require_list(
        require(record, "relevant_clip_ids", file=file, where=where),
        file=file,
        where=where,
        what="relevant_clip_ids",
    )
    rows = require_list(
        require(record, "saliency_scores", file=file, where=where),
        file=file,
        where=where,
        what="saliency_scores",
    )
    if len(rows) != len(clip_ids):
        raise FormatError(
            f"{file}: record {where}: saliency_scores has {len(rows)} rows but relevant_clip_ids has "
            f"{len(clip_ids)} entries"
        )
    scores = np.zeros((max(n_clips, 0), NUM_ANNOTATORS))
    for k, (clip_id, row) in enumerate(zip(clip_ids, rows, strict=True)):
        if isinstance(clip_id, bool) or not isinstance(clip_id, int) or not 0 <= clip_id < n_clips:
            raise FormatError(
                f"{file}: record {where}: relevant_clip_ids[{k}] = {clip_id!r} is not a clip index of a "
                f"{duration:g} s video ({n_clips} clips of {CLIP_LENGTH:g} s)"
            )
        if not isinstance(row, list) or len(row) != NUM_ANNOTATORS:
            raise FormatError(
                f"{file}: record {where}: saliency_scores[{k}] must be a list of {NUM_ANNOTATORS} scores, "
                f"got {row!r}"
            )
        scores[clip_id] = [
            require_number(x, file=file, where=where, what=f"saliency_scores[{k}][{a}]")
            for a, x in enumerate(row)
        ]
    return scores
