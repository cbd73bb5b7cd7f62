"""QVHighlights scoring: moment retrieval (mAP, R1 by length bucket) and highlight detection.

The semantics, the reference (moment_detr ``standalone_eval``) and where chronolens departs from
it are described in :mod:`chronolens.metrics.qvhighlights`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.average_precision import highlight_average_precision
from chronolens.metrics.io import InputChecks, load_json_or_jsonl, require, require_duration
from chronolens.metrics.qvhighlights.records import (
    NUM_ANNOTATORS,
    Labels,
    gt_saliency,
    index_by_qid,
    scores_array,
    which_parts,
    windows_array,
)
from chronolens.metrics.temporal import temporal_iou, temporal_iou_paired

__all__ = [
    "HL_MIN_SCORES",
    "LENGTH_BUCKETS",
    "MAX_PRED_WINDOWS",
    "MR_IOU_THRESHOLDS",
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
# HL level name -> minimum annotator score (0..4) for a clip to count as positive.
HL_MIN_SCORES: dict[str, int] = {"Fair": 2, "Good": 3, "VeryGood": 4}
# R1 thresholds shown in "brief".
_BRIEF_R1 = ("0.5", "0.7")


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
    checks: InputChecks | None = None,
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
        checks: strictness of the span checks (strict by default; ``lenient`` counts what
            moment_detr accepts: reversed, negative and past-the-video windows, a missing
            ``duration`` when only MR is scored); when given, the qids left out by
            ``match_number=False`` are recorded in it.

    Returns:
        ``{"brief": {...}, "HL-min-Fair": {...}, ..., "full": {...}, "long": ..., "middle": ...,
        "short": ...}`` in the reference's key order; an empty length bucket is ``None``.

    Raises:
        FormatError: malformed records or mismatched qids.
    """
    # One function on purpose: it follows the reference's eval_submission step by step (checks,
    # length buckets, moment metrics, highlight metrics, brief dict) so the two read side by side.
    labels = Labels(
        pred_file=pred_file,
        gt_file=gt_file,
        pred_where=pred_where if pred_where is not None else [f"index {i}" for i in range(len(submission))],
        gt_where=gt_where if gt_where is not None else [f"index {i}" for i in range(len(ground_truth))],
    )
    if not submission:
        raise FormatError(f"{pred_file}: no prediction records")
    if not ground_truth:
        raise FormatError(f"{gt_file}: no ground-truth records")
    checks = checks if checks is not None else InputChecks()
    pred_index = index_by_qid(submission, pred_file, labels.pred_where)
    gt_index = index_by_qid(ground_truth, gt_file, labels.gt_where)
    missing = [q for q in gt_index if q not in pred_index]
    extra = [q for q in pred_index if q not in gt_index]
    if not match_number:
        checks.record_subset(len(missing), len(extra))
    if missing or extra:
        if match_number:
            raise FormatError(
                f"{pred_file}: qids do not match {gt_file}: {len(missing)} GT qids without a prediction "
                f"(e.g. {missing[:3]}), {len(extra)} predicted qids not in the GT (e.g. {extra[:3]}); "
                "--subset scores the qids in both, as TimeChat's eval_vhd.py does"
            )
        logger.info("evaluating the %d qids present in both files", len(set(pred_index) & set(gt_index)))
    qids = [q for q in pred_index if q in gt_index]  # submission order, as the reference
    if not qids:
        raise FormatError(f"{pred_file}: no qid in common with {gt_file}")
    do_mr, do_hl = which_parts([submission[pred_index[q]] for q in qids], labels)

    brief: dict[str, float | None] = {}
    metrics: dict[str, Any] = {}
    if do_mr:
        preds, gts = [], []
        for q in qids:
            p_where, g_where = labels.pred_where[pred_index[q]], labels.gt_where[gt_index[q]]
            # Predictions are not bounded by the duration: moment_detr's post-processing clips
            # windows to [0, 150] whatever the video's length, so real submissions pass its end.
            preds.append(
                windows_array(
                    submission[pred_index[q]]["pred_relevant_windows"],
                    file=pred_file,
                    where=p_where,
                    key="pred_relevant_windows",
                    width=3,
                    checks=checks,
                )
            )
            gt_record = ground_truth[gt_index[q]]
            gt_windows = windows_array(
                require(gt_record, "relevant_windows", file=gt_file, where=g_where),
                file=gt_file,
                where=g_where,
                key="relevant_windows",
                width=2,
                duration=require_duration(gt_record, file=gt_file, where=g_where, checks=checks),
                checks=checks,
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
                scores_array(
                    submission[pred_index[q]]["pred_saliency_scores"],
                    file=pred_file,
                    where=p_where,
                    key="pred_saliency_scores",
                )
            )
            gt_scores.append(gt_saliency(ground_truth[gt_index[q]], file=gt_file, where=g_where))
        hl = _eval_highlight(pred_scores, gt_scores)
        metrics.update(hl)
        for level, values in hl.items():
            for key, value in values.items():
                brief[f"{level}-{key.split('-')[1]}"] = value
    return {"brief": brief, **dict(sorted(metrics.items()))}


def evaluate_files(
    pred_path: str | Path, gt_path: str | Path, *, checks: InputChecks | None = None
) -> dict[str, Any]:
    """Evaluate a QVHighlights prediction jsonl against a GT jsonl (JSON arrays are accepted too).

    Args:
        pred_path: predictions, one ``{"qid", "pred_relevant_windows", "pred_saliency_scores"}`` per line.
        gt_path: ground truth, one QVHighlights annotation per line.
        checks: strictness (``lenient``) and ``subset`` (score the qids in both files, as
            TimeChat's ``eval_vhd.py`` with ``match_number=False``); filled with what was let
            through or left out.

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
        match_number=not (checks is not None and checks.subset),
        checks=checks,
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
