"""QVHighlights moment retrieval (MR) and highlight detection (HL), with moment_detr parity.

Reference: jayleicn/moment_detr ``standalone_eval/eval.py`` (``eval_submission``) and
``standalone_eval/utils.py``. chronolens returns the same nested dict with the same keys in the
same order, with values x100 but *not* rounded (the reference rounds each to 2 decimals;
:func:`round_metrics` with ``ndigits=2`` reproduces its output). Everything is vectorised with
numpy over queries; the reference's per-window Python loops and process pools are not needed.

File formats (JSON lines, one query per line):

- ground truth: ``{"qid", "query", "vid", "duration", "relevant_windows": [[st, ed], ...],
  "relevant_clip_ids": [...], "saliency_scores": [[a, b, c], ...]}`` — MR needs
  ``relevant_windows``; HL needs ``duration``, ``relevant_clip_ids`` and ``saliency_scores``
  (3 annotators, scores 0-4, clips of 2 s).
- predictions: ``{"qid", "pred_relevant_windows": [[st, ed, score], ...],
  "pred_saliency_scores": [...]}``; either part may be absent from *every* record, in which case
  that half of the metrics is skipped (as the reference does).

Semantics reproduced from the reference, including its quirks:

- Length buckets: ``short`` (0, 10], ``middle`` (10, 30], ``long`` (30, 150] on GT window length;
  a query keeps only its GT windows inside the bucket and is dropped if none remain. ``full`` is
  every query with every window, unfiltered.
- MR-mAP: the first ``max_pred_windows`` (10) predicted windows *in file order*, then sorted by
  score (stable); greedy matching at IoU thresholds 0.50:0.05:0.95 (each threshold rounded to two
  decimals) where a prediction takes the unmatched GT window of highest IoU, IoU over the true
  union; VOC-2011 interpolated AP per query and threshold; mean over queries; ``average`` is the
  mean over thresholds. Two zero-length windows have IoU 0/0 = NaN, which the reference's
  comparison treats as a match — so does chronolens.
- MR-R1: only the *first* predicted window in file order (not the highest scored), against the
  GT window of highest IoU (first on ties); hit when the IoU over the windows' *hull* is
  >= threshold (``MR-R1`` has all ten thresholds; ``brief`` shows 0.5 and 0.7).
- HL: per clip, the GT score of each annotator is binarised at min score 2 / 3 / 4
  (``Fair`` / ``Good`` / ``VeryGood``). Hit1: the clip with the highest predicted saliency
  (first on ties; beyond the video's clips counts 0), the max over annotators, averaged over
  queries. mAP: predicted saliency truncated or zero-padded to the video's ``int(duration / 2)``
  clips, average precision per annotator with tied scores as one threshold (scikit-learn's
  ``precision_recall_curve`` with the video2gif interpolation), 0 if no clip is positive and 1 if
  all are; the mean over queries and annotators.

Where chronolens departs from the reference (which crashes or asserts in these cases):

- an empty length bucket is reported as ``None`` (its ``brief`` entries too);
- a query with no predicted windows scores AP 0 and an R1 miss;
- an empty ``pred_saliency_scores`` is all zeros for mAP and a miss for Hit1;
- qids that differ between files, duplicate qids, missing keys, non-numeric or non-finite
  values, GT queries without windows (when MR is evaluated), clip ids outside the video, and
  saliency rows without exactly 3 scores raise :class:`~chronolens.errors.FormatError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.average_precision import highlight_average_precision
from chronolens.metrics.io import load_json_or_jsonl, require, require_list, require_number
from chronolens.metrics.temporal import temporal_iou, temporal_iou_paired
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = [
    "HL_MIN_SCORES",
    "LENGTH_BUCKETS",
    "MAX_PRED_WINDOWS",
    "MR_IOU_THRESHOLDS",
    "NUM_ANNOTATORS",
    "evaluate_files",
    "evaluate_qvhighlights",
    "round_metrics",
]

logger = logging.getLogger(__name__)

# IoU thresholds of MR-mAP and MR-R1: 0.50, 0.55, ..., 0.95, each rounded to 2 decimals as the
# reference does (so 0.6 is the float 0.6, not linspace's 0.6000000000000001).
MR_IOU_THRESHOLDS: tuple[float, ...] = tuple(float(f"{t:.2f}") for t in np.linspace(0.5, 0.95, 10))
# Only the first this-many predicted windows of a query (in file order) count for MR-mAP.
MAX_PRED_WINDOWS = 10
# name -> (min, max] GT window length in seconds; "full" keeps everything unfiltered.
LENGTH_BUCKETS: dict[str, tuple[float, float] | None] = {
    "short": (0.0, 10.0),
    "middle": (10.0, 30.0),
    "long": (30.0, 150.0),
    "full": None,
}
# Saliency annotators per clip.
NUM_ANNOTATORS = 3
# HL level name -> minimum annotator score (0..4) for a clip to count as positive.
HL_MIN_SCORES: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
# R1 thresholds shown in "brief".
_BRIEF_R1 = ("0.5", "0.7")


@dataclass(frozen=True, kw_only=True)
class _Labels:
    """Where records came from, for error messages."""

    pred_file: str
    gt_file: str
    pred_where: Sequence[str]
    gt_where: Sequence[str]


# --------------------------------------------------------------------------------------------
# parsing


def _windows(value: Any, *, file: str, where: str, key: str, width: int) -> np.ndarray:
    """A list of ``[st, ed(, score)]`` windows as a (N, width) float64 array, strictly validated."""
    windows = require_list(value, file=file, where=where, what=key)
    if not windows:
        return np.zeros((0, width))
    try:
        array = np.array(windows)
    except ValueError:
        array = np.zeros(0)  # ragged: fall through to the per-element checks
    if array.ndim == 2 and array.shape[1] >= width and array.dtype.kind in "if":
        array = array[:, :width].astype(np.float64)
        if np.isfinite(array).all():
            return array
    out = np.zeros((len(windows), width))
    for i, window in enumerate(windows):
        if not isinstance(window, list) or len(window) < width:
            raise FormatError(
                f"{file}: record {where}: {key}[{i}] must be a list of {width} numbers, got {window!r}"
            )
        for j in range(width):
            out[i, j] = require_number(window[j], file=file, where=where, what=f"{key}[{i}][{j}]")
    return out


def _scores(value: Any, *, file: str, where: str, key: str) -> np.ndarray:
    """A list of numbers as a (N,) float64 array, strictly validated."""
    values = require_list(value, file=file, where=where, what=key)
    array = np.array(values) if values else np.zeros(0)
    if array.ndim == 1 and array.dtype.kind in "if" and np.isfinite(array).all():
        return array.astype(np.float64)
    for i, item in enumerate(values):
        require_number(item, file=file, where=where, what=f"{key}[{i}]")
    raise FormatError(f"{file}: record {where}: {key} must be a flat list of numbers")  # pragma: no cover


def _qid(record: Mapping[str, Any], *, file: str, where: str) -> Any:
    qid = require(record, "qid", file=file, where=where)
    if isinstance(qid, (list, dict)) or qid is None:
        raise FormatError(f"{file}: record {where}: qid must be a number or a string, got {qid!r}")
    return qid


def _index_by_qid(records: Sequence[Mapping[str, Any]], file: str, where: Sequence[str]) -> dict[Any, int]:
    index: dict[Any, int] = {}
    for i, record in enumerate(records):
        qid = _qid(record, file=file, where=where[i])
        if qid in index:
            raise FormatError(
                f"{file}: record {where[i]}: duplicate qid {qid!r} (first at {where[index[qid]]})"
            )
        index[qid] = i
    return index


def _which_parts(submission: Sequence[Mapping[str, Any]], labels: _Labels) -> tuple[bool, bool]:
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


# --------------------------------------------------------------------------------------------
# moment retrieval


def _bucket_windows(
    gt_windows: list[np.ndarray], bounds: tuple[float, float] | None
) -> list[np.ndarray | None]:
    """Per query, the GT windows in the length bucket (None when none remain)."""
    if bounds is None:
        return list(gt_windows)
    low, high = bounds
    kept: list[np.ndarray | None] = []
    for windows in gt_windows:
        length = windows[:, 1] - windows[:, 0]
        inside = windows[(low < length) & (length <= high)]
        kept.append(inside if len(inside) else None)
    return kept


def _pad(arrays: Sequence[np.ndarray], width: int, fill: float) -> tuple[np.ndarray, np.ndarray]:
    """Stack (n_i, width) arrays into (Q, N_max, width) plus a (Q, N_max) validity mask."""
    n_max = max((len(a) for a in arrays), default=0)
    out = np.full((len(arrays), max(n_max, 1), width), fill, dtype=np.float64)
    valid = np.zeros((len(arrays), max(n_max, 1)), dtype=bool)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
        valid[i, : len(a)] = True
    return out, valid


def _interpolated_ap(tp: np.ndarray, fp: np.ndarray, n_positive: np.ndarray) -> np.ndarray:
    """VOC-2011 interpolated average precision along the last axis.

    Args:
        tp: (..., P) 1 where the ranked prediction is a true positive (0 for padding).
        fp: (..., P) 1 where it is a false positive (0 for padding).
        n_positive: (...) number of GT windows, > 0.

    Returns:
        (...) average precision.
    """
    tp_cum = np.cumsum(tp, axis=-1)
    fp_cum = np.cumsum(fp, axis=-1)
    recall = tp_cum / n_positive[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp_cum / (tp_cum + fp_cum)
    precision = np.nan_to_num(precision, nan=0.0)  # only leading padding of an empty query
    shape = (*tp.shape[:-1], 1)
    m_precision = np.concatenate([np.zeros(shape), precision, np.zeros(shape)], axis=-1)
    m_recall = np.concatenate([np.zeros(shape), recall, np.ones(shape)], axis=-1)
    m_precision = np.maximum.accumulate(m_precision[..., ::-1], axis=-1)[..., ::-1]
    steps = np.diff(m_recall, axis=-1) * m_precision[..., 1:]
    # A running sum adds the zero steps exactly, so this equals the reference's np.sum over the
    # recall changes bit for bit whenever there are fewer than 8 of them (numpy sums short arrays
    # sequentially).
    return np.cumsum(steps, axis=-1)[..., -1]


def _mr_ap_group(
    pred: np.ndarray, pred_valid: np.ndarray, gt: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Greedy detection matching and AP for queries that all have the same number of GT windows.

    Args:
        pred: (Q, P, 3) predicted ``[st, ed, score]``, already sorted by descending score.
        pred_valid: (Q, P) False for padding.
        gt: (Q, G, 2) GT windows (no padding: G is the same for the whole group).
        thresholds: (T,) IoU thresholds.

    Returns:
        (Q, T) average precision.
    """
    q, p, g = pred.shape[0], pred.shape[1], gt.shape[1]
    t = len(thresholds)
    iou = temporal_iou(pred[..., :2], gt)  # (Q, P, G)
    # The reference visits GT windows in np.argsort(iou)[::-1] order (NaN first, then descending);
    # sorting each (G,) row the same way reproduces its tie-breaking on this numpy.
    order = np.argsort(iou, axis=-1)[..., ::-1]  # (Q, P, G)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(g), order.shape), axis=-1)
    locked = np.zeros((q, t, g), dtype=bool)
    tp = np.zeros((q, t, p))
    rows = np.arange(q)[:, None]
    cols = np.arange(t)[None, :]
    for j in range(p):
        iou_j = iou[:, j, :]  # (Q, G)
        # NaN IoU (0/0) never compares as "below the threshold" in the reference, so it matches.
        over = (iou_j[:, None, :] >= thresholds[None, :, None]) | np.isnan(iou_j)[:, None, :]  # (Q, T, G)
        candidate = over & ~locked & pred_valid[:, j, None, None]
        key = np.where(candidate, rank[:, j, None, :], g)  # (Q, T, G)
        best = key.argmin(axis=-1)  # (Q, T)
        hit = np.take_along_axis(key, best[..., None], axis=-1)[..., 0] < g  # (Q, T)
        tp[:, :, j] = hit
        locked[rows, cols, best] |= hit
    fp = pred_valid[:, None, :] * (1.0 - tp)
    return _interpolated_ap(tp, fp, np.full((q, t), float(g)))


def _mr_map(preds: list[np.ndarray], gts: list[np.ndarray]) -> dict[str, float]:
    """MR-mAP at each threshold and their average, x100 (reference ``compute_mr_ap``)."""
    thresholds = np.array(MR_IOU_THRESHOLDS)
    ap = np.zeros((len(preds), len(thresholds)))  # (Q, T); queries without predictions stay 0
    by_size: dict[int, list[int]] = {}
    for i, (pred, gt) in enumerate(zip(preds, gts, strict=True)):
        if len(pred):
            by_size.setdefault(len(gt), []).append(i)
    for members in by_size.values():
        ranked = []
        for i in members:
            pred = preds[i][:MAX_PRED_WINDOWS]
            ranked.append(pred[np.argsort(-pred[:, 2], kind="stable")])
        pred_pad, valid = _pad(ranked, 3, np.nan)
        gt_stack = np.stack([gts[i] for i in members])  # (Q_g, G, 2)
        ap[members] = _mr_ap_group(pred_pad, valid, gt_stack, thresholds)
    ap_per_threshold = ap.mean(0)  # (T,)
    result = {str(thd): float(100 * v) for thd, v in zip(MR_IOU_THRESHOLDS, ap_per_threshold, strict=True)}
    result["average"] = float(100 * np.mean(ap_per_threshold))
    return result


def _mr_r1(preds: list[np.ndarray], gts: list[np.ndarray]) -> dict[str, float]:
    """Recall@1 at each threshold, x100 (reference ``compute_mr_r1``)."""
    has_pred = np.array([len(p) > 0 for p in preds])
    first = np.array([p[0, :2] if len(p) else (np.nan, np.nan) for p in preds])  # (Q, 2)
    gt_pad, gt_valid = _pad(gts, 2, np.nan)  # (Q, G, 2)
    cross = temporal_iou(first[:, None, :], gt_pad)[:, 0, :]  # (Q, G)
    cross = np.where(gt_valid, cross, -np.inf)
    chosen = np.argmax(cross, axis=1)  # NaN first, else first maximum, as np.argmax in the reference
    gt_chosen = gt_pad[np.arange(len(gts)), chosen]  # (Q, 2)
    iou = np.where(has_pred, temporal_iou_paired(np.nan_to_num(first), gt_chosen), 0.0)
    return {str(thd): float(np.mean(iou >= thd) * 100) for thd in MR_IOU_THRESHOLDS}


def _eval_moment_retrieval(
    preds: list[np.ndarray], gts: list[np.ndarray]
) -> dict[str, dict[str, dict[str, float]] | None]:
    results: dict[str, dict[str, dict[str, float]] | None] = {}
    for name, bounds in LENGTH_BUCKETS.items():
        kept = _bucket_windows(gts, bounds)
        members = [i for i, windows in enumerate(kept) if windows is not None]
        if not members:
            logger.info("QVHighlights MR bucket %r has no queries; reporting null", name)
            results[name] = None
            continue
        bucket_preds = [preds[i] for i in members]
        bucket_gts = [kept[i] for i in members]
        results[name] = {
            "MR-mAP": _mr_map(bucket_preds, bucket_gts),  # type: ignore[arg-type]
            "MR-R1": _mr_r1(bucket_preds, bucket_gts),  # type: ignore[arg-type]
        }
    return results


# --------------------------------------------------------------------------------------------
# highlight detection


def _eval_highlight(
    pred_scores: list[np.ndarray], gt_scores: list[np.ndarray]
) -> dict[str, dict[str, float]]:
    """HL-mAP and HL-Hit1 at each min-score level, x100 (reference ``eval_highlight``)."""
    n = len(pred_scores)
    n_clips = np.array([len(g) for g in gt_scores])
    c = max(int(n_clips.max()), 1)
    valid = np.arange(c)[None, :] < n_clips[:, None]  # (N, C)
    gt = np.zeros((n, c, NUM_ANNOTATORS))
    pred = np.zeros((n, c))  # truncated / zero-padded to the video's clips
    raw_len = max(max((len(p) for p in pred_scores), default=0), 1)
    raw = np.full((n, raw_len), -np.inf)  # untruncated, for Hit1's argmax
    for i, (p, g) in enumerate(zip(pred_scores, gt_scores, strict=True)):
        gt[i, : len(g)] = g
        k = min(len(p), len(g))
        pred[i, :k] = p[:k]
        raw[i, : len(p)] = p
    top_clip = np.argmax(raw, axis=1)  # (N,) first maximum
    has_pred = np.array([len(p) > 0 for p in pred_scores])
    in_video = has_pred & (top_clip < n_clips)
    results: dict[str, dict[str, float]] = {}
    for name, min_score in HL_MIN_SCORES.items():
        binary = (gt >= min_score).astype(np.float64)  # (N, C, A)
        hit = np.zeros((n, NUM_ANNOTATORS))
        hit[in_video] = binary[np.arange(n)[in_video], top_clip[in_video]]
        ap = np.zeros((n, NUM_ANNOTATORS))
        for a in range(NUM_ANNOTATORS):
            ap[:, a] = highlight_average_precision(binary[:, :, a], pred, valid)
        results[f"HL-min-{name}"] = {
            "HL-mAP": float(100 * np.mean(ap)),
            "HL-Hit1": float(100 * np.mean(np.max(hit, 1))),
        }
    return results


def _gt_saliency(record: Mapping[str, Any], *, file: str, where: str) -> np.ndarray:
    """The (n_clips, 3) annotator scores of a GT record (reference ``mk_gt_scores``)."""
    duration = require_number(
        require(record, "duration", file=file, where=where), file=file, where=where, what="duration"
    )
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


# --------------------------------------------------------------------------------------------
# entry points


def evaluate_qvhighlights(
    submission: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Any]],
    *,
    match_number: bool = True,
    pred_file: str = "predictions",
    gt_file: str = "ground truth",
    pred_where: Sequence[str] | None = None,
    gt_where: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Evaluate QVHighlights predictions like moment_detr's ``eval_submission`` (values x100, unrounded).

    Args:
        submission: prediction records (see the module docstring).
        ground_truth: GT records.
        match_number: require the two qid sets to be equal (the reference's default); when False,
            only queries present in both are evaluated.
        pred_file: name of the predictions in error messages.
        gt_file: name of the ground truth in error messages.
        pred_where: per prediction record, its label in error messages (default ``"index i"``).
        gt_where: per GT record, its label in error messages.

    Returns:
        ``{"brief": {...}, "HL-min-Fair": {...}, ..., "full": {...}, "long": ..., "middle": ...,
        "short": ...}`` in the reference's key order; an empty length bucket is ``None``.

    Raises:
        FormatError: malformed records or mismatched qids.
    """
    # One function on purpose: it follows the reference's eval_submission step by step (checks,
    # length buckets, moment metrics, highlight metrics, brief dict) so the two read side by side.
    labels = _Labels(
        pred_file=pred_file,
        gt_file=gt_file,
        pred_where=pred_where if pred_where is not None else [f"index {i}" for i in range(len(submission))],
        gt_where=gt_where if gt_where is not None else [f"index {i}" for i in range(len(ground_truth))],
    )
    if not submission:
        raise FormatError(f"{pred_file}: no prediction records")
    if not ground_truth:
        raise FormatError(f"{gt_file}: no ground-truth records")
    pred_index = _index_by_qid(submission, pred_file, labels.pred_where)
    gt_index = _index_by_qid(ground_truth, gt_file, labels.gt_where)
    if set(pred_index) != set(gt_index):
        missing = [q for q in gt_index if q not in pred_index]
        extra = [q for q in pred_index if q not in gt_index]
        if match_number:
            raise FormatError(
                f"{pred_file}: qids do not match {gt_file}: {len(missing)} GT qids without a prediction "
                f"(e.g. {missing[:3]}), {len(extra)} predicted qids not in the GT (e.g. {extra[:3]})"
            )
        logger.info("evaluating the %d qids present in both files", len(set(pred_index) & set(gt_index)))
    qids = [q for q in pred_index if q in gt_index]  # submission order, as the reference
    do_mr, do_hl = _which_parts([submission[pred_index[q]] for q in qids], labels)

    brief: dict[str, float | None] = {}
    metrics: dict[str, Any] = {}
    if do_mr:
        preds, gts = [], []
        for q in qids:
            p_where, g_where = labels.pred_where[pred_index[q]], labels.gt_where[gt_index[q]]
            preds.append(
                _windows(
                    submission[pred_index[q]]["pred_relevant_windows"],
                    file=pred_file,
                    where=p_where,
                    key="pred_relevant_windows",
                    width=3,
                )
            )
            gt_windows = _windows(
                require(ground_truth[gt_index[q]], "relevant_windows", file=gt_file, where=g_where),
                file=gt_file,
                where=g_where,
                key="relevant_windows",
                width=2,
            )
            if len(gt_windows) == 0:
                raise FormatError(f"{gt_file}: record {g_where}: relevant_windows is empty")
            gts.append(gt_windows)
        mr = _eval_moment_retrieval(preds, gts)
        metrics.update(mr)

        def pick(bucket: str, part: str, key: str) -> float | None:
            values = mr[bucket]
            return None if values is None else values[part][key]

        mr_brief = {
            "MR-full-mAP": pick("full", "MR-mAP", "average"),
            "MR-full-mAP@0.5": pick("full", "MR-mAP", "0.5"),
            "MR-full-mAP@0.75": pick("full", "MR-mAP", "0.75"),
            "MR-short-mAP": pick("short", "MR-mAP", "average"),
            "MR-middle-mAP": pick("middle", "MR-mAP", "average"),
            "MR-long-mAP": pick("long", "MR-mAP", "average"),
            **{f"MR-full-R1@{t}": pick("full", "MR-R1", t) for t in _BRIEF_R1},
        }
        brief.update(sorted(mr_brief.items()))
    if do_hl:
        pred_scores, gt_scores = [], []
        for q in qids:
            p_where, g_where = labels.pred_where[pred_index[q]], labels.gt_where[gt_index[q]]
            pred_scores.append(
                _scores(
                    submission[pred_index[q]]["pred_saliency_scores"],
                    file=pred_file,
                    where=p_where,
                    key="pred_saliency_scores",
                )
            )
            gt_scores.append(_gt_saliency(ground_truth[gt_index[q]], file=gt_file, where=g_where))
        hl = _eval_highlight(pred_scores, gt_scores)
        metrics.update(hl)
        for level, values in hl.items():
            for key, value in values.items():
                brief[f"{level}-{key.split('-')[1]}"] = value
    return {"brief": brief, **dict(sorted(metrics.items()))}


def evaluate_files(pred_path: str | Path, gt_path: str | Path) -> dict[str, Any]:
    """Evaluate a QVHighlights prediction jsonl against a GT jsonl (JSON arrays are accepted too).

    Args:
        pred_path: predictions, one ``{"qid", "pred_relevant_windows", "pred_saliency_scores"}`` per line.
        gt_path: ground truth, one QVHighlights annotation per line.

    Returns:
        The nested metrics dict of :func:`evaluate_qvhighlights`.

    Raises:
        FormatError: unreadable or malformed files, mismatched qids.
    """
    submission, pred_where = load_json_or_jsonl(pred_path)
    ground_truth, gt_where = load_json_or_jsonl(gt_path)
    return evaluate_qvhighlights(
        submission,
        ground_truth,
        pred_file=str(pred_path),
        gt_file=str(gt_path),
        pred_where=pred_where,
        gt_where=gt_where,
    )


def round_metrics(metrics: Any, ndigits: int) -> Any:
    """Round every float in a nested metrics structure the way the reference does (``f"{v:.2f}"``).

    Args:
        metrics: nested dicts / lists of numbers (``None`` and ints pass through).
        ndigits: decimals to keep.

    Returns:
        The same structure with floats rounded.
    """
    if isinstance(metrics, dict):
        return {k: round_metrics(v, ndigits) for k, v in metrics.items()}
    if isinstance(metrics, list):
        return [round_metrics(v, ndigits) for v in metrics]
    if isinstance(metrics, float):
        return float(f"{metrics:.{ndigits}f}")
    return metrics
