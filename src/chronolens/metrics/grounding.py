"""Temporal grounding from free-text LLM answers (Charades-STA), TimeChat ``eval_tvg.py`` parity.

Reference: RenShuhuai-Andy/TimeChat ``utils/format_tvg.py`` (answer -> span) followed by
``metrics/tvg/eval_tvg.py`` (scores). Semantics reproduced here:

- answers ``[{vname, generated_cap, query, id}]`` are matched to ground-truth annotations
  ``{"annotations": [{image_id, caption, timestamp: [s, e], id}]}`` **by id** (the answer's id
  read as an integer, as the reference does after its JSON round trip); a repeated id keeps the
  last record; every ground-truth id needs exactly one answer (the reference asserts it);
- IoU is ``max(min(ends) - max(starts), 0) / (max(ends) - min(starts))`` over the hull, with the
  ground truth taken as written (a reversed ground-truth window is not reordered);
- ``R1@m`` counts answers with IoU ``>= m`` (x100 over the number of ground-truth ids);
  an answer that does not parse counts as a miss, and as IoU 0 in ``mIoU`` (which the reference
  does not report; chronolens adds it, x100).

The answer parser is chosen by name (:mod:`chronolens.timebase.text`): ``"timechat"`` reproduces
``format_tvg.py``; ``"default"`` is chronolens' better parser, which also clamps to the video
duration when the annotation carries one. Where the reference divides by zero (two identical
zero-length windows) the IoU here is 0.

:func:`evaluate_top_windows` scores ranked *windows* rather than text answers: chronolens' own
Charades-STA bench (``chronolens bench charades-sta``) and the synthetic bench's top-window
columns. It keeps their conventions, which differ from ``eval_tvg.py`` on degenerate windows
only: IoU over the true union (:func:`~chronolens.metrics.temporal.temporal_iou`, NaN as 0),
and ``100 * mean(hits)`` rather than ``hits * 100 / n`` (equal up to the last bit).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.io import (
    InputChecks,
    load_json,
    require,
    require_duration,
    require_list,
    require_span,
    require_str,
)
from chronolens.metrics.temporal import recall_at_k, temporal_iou, temporal_iou_paired
from chronolens.timebase import Span
from chronolens.timebase.text import check_parser, parse_span

__all__ = [
    "GROUNDING_IOU_THRESHOLDS",
    "evaluate_answers",
    "evaluate_files",
    "evaluate_grounding",
    "evaluate_top_windows",
]

logger = logging.getLogger(__name__)

GROUNDING_IOU_THRESHOLDS = (0.3, 0.5, 0.7)  # eval_tvg.py's R1@m thresholds
_MAX_IDS_IN_MESSAGE = 5  # how many mismatching ids an error message lists


def _id_key(value: Any, *, file: str, where: str) -> int | str:
    """The matching key of a query id: an int when it reads as one (as ``int(qid)`` in eval_tvg)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise FormatError(f"{file}: record {where}: id must be an integer or a string, got {value!r}")
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except ValueError:
        return value


def evaluate_grounding(
    predictions: Mapping[Any, Span | Sequence[float] | None],
    ground_truth: Mapping[Any, Sequence[float]],
) -> dict[str, float | int]:
    """R1@{0.3,0.5,0.7} and mIoU of one predicted span per query (TimeChat eval_tvg semantics).

    Args:
        predictions: query id -> the predicted span (``Span`` or ``[start, end]``), or None when
            the answer did not parse. Must have exactly the ids of ``ground_truth``.
        ground_truth: query id -> ``[start, end]`` seconds, taken as written.

    Returns:
        ``{"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}`` (x100), ``"parse_failures"`` (queries with no
        span) and ``"n"`` (queries evaluated).

    Raises:
        ValueError: the id sets differ or there are no queries.
    """
    missing = [k for k in ground_truth if k not in predictions]
    extra = [k for k in predictions if k not in ground_truth]
    if missing or extra:
        raise ValueError(
            f"predictions and ground truth must have the same ids: missing {missing[:_MAX_IDS_IN_MESSAGE]}, "
            f"extra {extra[:_MAX_IDS_IN_MESSAGE]}"
        )
    n = len(ground_truth)
    if n == 0:
        raise ValueError("ground truth has no queries")
    keys = list(ground_truth)
    parsed = [k for k in keys if predictions[k] is not None]
    ious = np.zeros(n, dtype=np.float64)  # (n,) unparsed answers stay at IoU 0
    if parsed:
        pred = np.array([_bounds(predictions[k]) for k in parsed], dtype=np.float64)  # (P, 2)
        gt = np.array([ground_truth[k][:2] for k in parsed], dtype=np.float64)  # (P, 2)
        index = {k: i for i, k in enumerate(keys)}
        ious[[index[k] for k in parsed]] = temporal_iou_paired(pred, gt)
    out: dict[str, float | int] = {}
    for threshold in GROUNDING_IOU_THRESHOLDS:
        hits = int(np.count_nonzero(ious >= threshold))
        out[f"R1@{threshold}"] = hits * 100 / n  # the reference's count * 100 / num
    out["mIoU"] = float(ious.sum()) * 100 / n
    out["parse_failures"] = n - len(parsed)
    out["n"] = n
    return out


def evaluate_top_windows(
    predictions: Sequence[np.ndarray | Sequence[Sequence[float]]],
    ground_truth: Sequence[np.ndarray | Sequence[Sequence[float]]],
    *,
    iou_thresholds: Sequence[float] = GROUNDING_IOU_THRESHOLDS,
) -> dict[str, float]:
    """R1@m and mIoU of each query's top-ranked window (chronolens' window benches).

    The IoU of a query is that of its first predicted window with the best-matching of its
    ground-truth windows, over the true union (``temporal_iou``; NaN, two zero-length windows,
    counts as 0); a query with no predicted window has IoU 0 and is a miss. These are the
    numbers ``chronolens bench charades-sta`` and ``bench synth`` have always reported.

    Args:
        predictions: per query, ``(P_i, >=2)`` windows ``[start, end, (score)]`` ranked best
            first (extra columns are ignored; ``P_i`` may be 0).
        ground_truth: per query, ``(M_i, 2)`` ground-truth windows (``M_i >= 1``).
        iou_thresholds: the values of ``m``.

    Returns:
        ``{"R1@<m>" for each m, "mIoU"}`` (x100).

    Raises:
        ValueError: the two sequences differ in length or are empty.
    """
    preds = [_ranked(p) for p in predictions]
    gts = [np.asarray(g, dtype=np.float64) for g in ground_truth]
    recall = recall_at_k(preds, gts, k=1, iou_thresholds=iou_thresholds)
    ious = [
        float(np.nan_to_num(temporal_iou(p[:1], g)).max()) if len(p) else 0.0
        for p, g in zip(preds, gts, strict=True)
    ]
    out = {f"R1@{m}": 100.0 * v for m, v in recall.items()}
    out["mIoU"] = 100.0 * float(np.mean(ious))
    return out


def _ranked(windows: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """``(P, C)`` float64 windows; an empty list becomes ``(0, 2)``."""
    array = np.asarray(windows, dtype=np.float64)
    return array.reshape(0, 2) if array.size == 0 else array


def _bounds(span: Span | Sequence[float] | None) -> tuple[float, float]:
    if isinstance(span, Span):
        return span.start, span.end
    assert span is not None  # filtered by the caller
    return float(span[0]), float(span[1])


def _read_ground_truth(
    gt: Any, file: str, checks: InputChecks
) -> tuple[dict[int | str, list[float]], dict[int | str, float]]:
    """``{id: [s, e]}`` and ``{id: duration}`` (where annotated) from TimeChat's coco-style file.

    A repeated id is refused unless lenient; then, as eval_tvg.py's dict, the last one wins.
    """
    if not isinstance(gt, Mapping):
        raise FormatError(
            f"{file}: expected a JSON object with an 'annotations' list, got {type(gt).__name__}"
        )
    annotations = require_list(require(gt, "annotations", file=file, where="top level"), file=file,
                               where="top level", what="annotations")  # fmt: skip
    windows: dict[int | str, list[float]] = {}
    durations: dict[int | str, float] = {}
    first: dict[int | str, str] = {}
    for i, record in enumerate(annotations):
        where = f"annotations[{i}]"
        key = _id_key(require(record, "id", file=file, where=where), file=file, where=where)
        if key in first:
            checks.refuse(
                "duplicate_record", f"{file}: record {where}: duplicate id {key!r} (first at {first[key]})"
            )
        first.setdefault(key, where)
        # Charades-STA's coco files carry no duration: it is optional here (checked when present).
        duration = None
        if isinstance(record, Mapping) and record.get("duration") is not None:
            duration = require_duration(record, file=file, where=where)
        stamp = require(record, "timestamp", file=file, where=where)
        # The reference takes the ground truth as written: a reversed window is not reordered.
        windows[key] = list(
            require_span(stamp, file=file, where=where, what="timestamp", duration=duration, checks=checks)
        )
        if duration is not None:
            durations[key] = duration
    return windows, durations


def evaluate_answers(
    answers: Sequence[Mapping[str, Any]],
    ground_truth: Mapping[str, Any],
    *,
    parser: str = "default",
    pred_file: str = "predictions",
    gt_file: str = "ground truth",
    checks: InputChecks | None = None,
) -> dict[str, float | int]:
    """Parse free-text answers and score them against Charades-STA ground truth.

    Args:
        answers: ``[{vname, generated_cap, query, id}]`` as TimeChat's inference writes them.
        ground_truth: ``{"annotations": [{image_id, caption, timestamp: [s, e], id}]}``; an
            optional ``duration`` per annotation lets the default parser clamp.
        parser: ``"default"`` or ``"timechat"`` (see :mod:`chronolens.timebase.text`).
        pred_file: name used for ``answers`` in error messages.
        gt_file: name used for ``ground_truth`` in error messages.
        checks: strictness of the ground-truth checks and ``subset`` (see :func:`evaluate_files`).

    Returns:
        As :func:`evaluate_grounding`.

    Raises:
        FormatError: a record lacks a key, or the answer ids do not match the ground-truth ids.
    """
    check_parser(parser)
    checks = checks if checks is not None else InputChecks()
    windows, durations = _read_ground_truth(ground_truth, gt_file, checks)
    predictions: dict[int | str, Span | None] = {}
    for i, record in enumerate(answers):
        where = f"index {i}"
        key = _id_key(require(record, "id", file=pred_file, where=where), file=pred_file, where=where)
        text = require_str(require(record, "generated_cap", file=pred_file, where=where), file=pred_file,
                           where=where, what="generated_cap")  # fmt: skip
        if key in predictions:
            logger.warning("%s: id %r appears more than once; the last answer is used", pred_file, key)
        predictions[key] = parse_span(text, duration=durations.get(key), parser=parser)
    return _evaluate_checked(predictions, windows, pred_file, gt_file, checks)


def _evaluate_checked(
    predictions: Mapping[int | str, Span | Sequence[float] | None],
    windows: Mapping[int | str, Sequence[float]],
    pred_file: str,
    gt_file: str,
    checks: InputChecks,
) -> dict[str, float | int]:
    missing = [k for k in windows if k not in predictions]
    extra = [k for k in predictions if k not in windows]
    if checks.subset:
        # eval_tvg.py --sample keeps the ground truth of the predicted ids (and fails on a
        # prediction without ground truth); here both sides are cut to the shared ids.
        checks.record_subset(len(missing), len(extra))
        windows = {k: v for k, v in windows.items() if k in predictions}
        predictions = {k: v for k, v in predictions.items() if k in windows}
        missing, extra = [], []
        if not windows:
            raise FormatError(f"{pred_file}: no id in common with {gt_file}")
    if missing:
        raise FormatError(
            f"{pred_file}: no answer for ground-truth id(s) {missing[:_MAX_IDS_IN_MESSAGE]} "
            f"({len(missing)} of {len(windows)} missing; every id in {gt_file} needs one, "
            "or pass --subset to score the ids in both as eval_tvg.py --sample does)"
        )
    if extra:
        raise FormatError(
            f"{pred_file}: id(s) {extra[:_MAX_IDS_IN_MESSAGE]} not in {gt_file} "
            f"({len(extra)} unmatched answers)"
        )
    if not windows:
        raise FormatError(f"{gt_file}: no annotations to evaluate")
    failures = sum(v is None for v in predictions.values())
    if failures:
        logger.info("%d of %d answers have no parsable span (counted as misses)", failures, len(windows))
    return evaluate_grounding(predictions, windows)


def _read_formatted(
    data: Mapping[str, Any], file: str, checks: InputChecks
) -> dict[int | str, list[float] | None]:
    """Predictions already formatted by ``format_tvg.py``: ``{qid: {"timestamp": [[s, e]] or []}}``."""
    predictions: dict[int | str, list[float] | None] = {}
    for qid, record in data.items():
        where = f"key {qid}"
        stamps = require_list(require(record, "timestamp", file=file, where=where), file=file, where=where,
                              what="timestamp")  # fmt: skip
        if not stamps:
            predictions[_id_key(qid, file=file, where=where)] = None
            continue
        first = stamps[0] if isinstance(stamps[0], list) else stamps
        predictions[_id_key(qid, file=file, where=where)] = list(
            require_span(first, file=file, where=where, what="timestamp", checks=checks)
        )
    return predictions


def evaluate_files(
    pred_path: str | Path,
    gt_path: str | Path,
    *,
    parser: str = "default",
    checks: InputChecks | None = None,
) -> dict[str, float | int]:
    """Score a Charades-STA answers file against TimeChat-format ground truth.

    Args:
        pred_path: JSON list of raw answers ``[{vname, generated_cap, query, id}]``, or a JSON
            object already formatted by ``format_tvg.py`` (``{qid: {"timestamp": [[s, e]]}}``,
            whose spans are used as they are and ``parser`` is not used).
        gt_path: ``{"annotations": [{image_id, caption, timestamp, id}]}``.
        parser: ``"default"`` or ``"timechat"`` for raw answers.
        checks: strict by default: ground-truth and formatted-prediction spans finite, ordered,
            not before 0 and (with a duration) not past the video, ids unique. ``lenient`` counts
            what eval_tvg.py accepts instead (it scores a reversed window as written);
            ``subset`` scores the shared ids as ``eval_tvg.py --sample``. Raw answers are
            scored as parsed (a reversed answer is the model's answer).

    Returns:
        ``{"R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "parse_failures", "n"}`` (R1 and mIoU x100).

    Raises:
        FormatError: unreadable files, missing keys or mismatching ids (message names the record).
    """
    pred_file, gt_file = str(pred_path), str(gt_path)
    checks = checks if checks is not None else InputChecks()
    data = load_json(pred_path)
    ground_truth = load_json(gt_path)
    if isinstance(data, Mapping):
        windows, _ = _read_ground_truth(ground_truth, gt_file, checks)
        return _evaluate_checked(
            _read_formatted(data, pred_file, checks), windows, pred_file, gt_file, checks
        )
    if not isinstance(data, list):
        raise FormatError(f"{pred_file}: expected a JSON list of answers, got {type(data).__name__}")
    return evaluate_answers(
        data, ground_truth, parser=parser, pred_file=pred_file, gt_file=gt_file, checks=checks
    )
