"""Dense-captioning scoring: detection precision/recall, CIDEr-D, METEOR, SODA_c, paragraph metrics.

The semantics and the reference (TimeChat ``metrics/dvc/eval_dvc.py``) are described in
:mod:`chronolens.metrics.dense_captioning`; the files are read by its ``records`` module.
"""

from __future__ import annotations

import logging
import random
import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.dense_captioning.records import (
    DEFAULT_SPLIT,
    SPLIT_IDS,
    GroundTruthVideo,
    PredictedVideo,
    annotated_durations,
    read_ground_truth,
    read_predictions,
    split_of,
)
from chronolens.metrics.io import InputChecks, check_corpus_words, load_json
from chronolens.metrics.soda import SODA_IOU_THRESHOLDS, soda_f_measure

__all__ = [
    "DVC_IOU_THRESHOLDS",
    "dvc_iou",
    "evaluate_dense_captioning",
    "evaluate_files",
    "precision_recall",
]

logger = logging.getLogger(__name__)

DVC_IOU_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)  # eval_dvc.py's tIoU thresholds
DVC_IOU_EPS = 1e-8  # added to the union in eval_dvc.py's iou()
UNMATCHED_REF_LENGTH = (10, 20)  # letters of the random reference an unmatched prediction gets
UNMATCHED_REF_SEED = 0  # the reference draws them unseeded; any one-word non-match scores the same
# Appended to meteor_unavailable_reason() in the one note a run without METEOR gets.
METEOR_NULL_VALUES = "METEOR, SODA_c and Para_METEOR are null"


def dvc_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Pairwise IoU in the densevid_eval / TimeChat convention.

    Each window is reordered (``min``, ``max``); the union is ``min(hull, len_p + len_g)`` and
    ``1e-8`` is added to it, so two identical zero-length windows have IoU 0.

    Args:
        pred: (K, 2) predicted windows.
        gt: (S, 2) ground-truth windows.

    Returns:
        (S, K) float64 IoU of ground-truth event i with prediction j.
    """
    p = np.sort(np.asarray(pred, dtype=np.float64).reshape(-1, 2), axis=1)  # (K, 2)
    g = np.sort(np.asarray(gt, dtype=np.float64).reshape(-1, 2), axis=1)  # (S, 2)
    p_start, p_end = p[None, :, 0], p[None, :, 1]  # (1, K)
    g_start, g_end = g[:, None, 0], g[:, None, 1]  # (S, 1)
    inter = np.maximum(0.0, np.minimum(p_end, g_end) - np.maximum(p_start, g_start))  # (S, K)
    # Same operation order as the reference: end_1 - start_1 + end_2 - start_2.
    union = np.minimum(
        np.maximum(p_end, g_end) - np.minimum(p_start, g_start), p_end - p_start + g_end - g_start
    )
    return inter / (union + DVC_IOU_EPS)


def precision_recall(
    iou: np.ndarray, thresholds: Sequence[float] = DVC_IOU_THRESHOLDS
) -> tuple[list[float], list[float]]:
    """Per-threshold detection precision and recall of one video (strict ``IoU > t``).

    Args:
        iou: (S, K) IoU matrix from :func:`dvc_iou` (K may be 0).
        thresholds: tIoU thresholds.

    Returns:
        ``(precision, recall)``, one value per threshold; precision divides by ``max(K, 1)``.
    """
    n_gt, n_pred = iou.shape
    precision, recall = [], []
    for threshold in thresholds:
        hit = iou > threshold  # (S, K)
        precision.append(float(np.count_nonzero(hit.any(axis=0))) / max(float(n_pred), 1.0))
        recall.append(float(np.count_nonzero(hit.any(axis=1))) / float(n_gt))
    return precision, recall


def _paragraph_words(text: str) -> str:
    """eval_dvc.py's ``parse_sent``: letters only, lower-cased, single-spaced."""
    return " ".join(re.sub("[^a-zA-Z]", " ", text).strip().lower().split())


class _Scorers:
    """PTB tokenisation (memoised) and the CIDEr-D / METEOR scorers of chronolens.metrics.captioning."""

    def __init__(self) -> None:
        # Imported here so detection metrics work while the captioning package is unavailable.
        from chronolens.metrics import captioning
        from chronolens.metrics.captioning.meteor import get_meteor_scorer, meteor_unavailable_reason

        self._captioning = captioning
        self._tokens: dict[str, str] = {}
        # One jar process for the whole evaluation (and beyond: the shared scorer stays up).
        self._meteor = get_meteor_scorer()
        self.meteor_available = self._meteor is not None
        # Why METEOR is off and how to get it (one line); "" when it runs.
        self.meteor_note = "" if self._meteor is not None else meteor_unavailable_reason() or "METEOR skipped"

    def tokenize(self, captions: Sequence[str]) -> None:
        """PTB-tokenise every caption not seen yet (one call for all of them)."""
        todo = sorted({c for c in captions if c not in self._tokens})
        if todo:
            done = self._captioning.ptb_tokenize({str(i): [c] for i, c in enumerate(todo)})
            self._tokens.update((c, done[str(i)][0]) for i, c in enumerate(todo))

    def tok(self, caption: str) -> str:
        return self._tokens[caption]

    def cider(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> float:
        if not gts:
            return 0.0
        score, _ = self._captioning.cider_d(gts, res)
        return float(np.nan_to_num(score))

    def meteor(
        self, gts: dict[str, list[str]], res: dict[str, list[str]]
    ) -> tuple[float, list[float]] | None:
        if self._meteor is None:
            return None
        if not gts:
            return 0.0, []
        score, per_id = self._meteor.score(gts, res)
        return float(np.nan_to_num(score)), [float(np.nan_to_num(s)) for s in per_id]


def _caption_pairs(
    iou: np.ndarray, gt: GroundTruthVideo, pred: PredictedVideo, threshold: float, rng: random.Random
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Raw (reference, hypothesis) caption pairs of one video at one threshold (``match_captions``)."""
    gts: dict[str, list[str]] = {}
    res: dict[str, list[str]] = {}
    for j, caption in enumerate(pred.captions):
        matched = np.flatnonzero(iou[:, j] >= threshold)
        if matched.size == 0:
            length = rng.randint(*UNMATCHED_REF_LENGTH)
            matched_refs = ["".join(rng.choice(string.ascii_lowercase) for _ in range(length))]
        else:
            matched_refs = [gt.captions[i] for i in matched]
        for ref in matched_refs:
            key = str(len(gts))
            gts[key] = [ref]
            res[key] = [caption]
    return gts, res


def _video_caption_scores(
    iou: np.ndarray,
    gt: GroundTruthVideo,
    pred: PredictedVideo,
    scorers: _Scorers,
    rng: random.Random,
    thresholds: Sequence[float],
) -> tuple[float, float | None, float | None]:
    """Threshold-averaged CIDEr-D and METEOR of one video, and its SODA_c (None without METEOR)."""
    cider_values: list[float] = []
    meteor_values: list[float] | None = []
    for threshold in thresholds:
        raw_gts, raw_res = _caption_pairs(iou, gt, pred, threshold, rng)
        scorers.tokenize([c for refs in raw_gts.values() for c in refs] + pred.captions)
        gts = {k: [scorers.tok(c) for c in v] for k, v in raw_gts.items()}
        res = {k: [scorers.tok(c) for c in v] for k, v in raw_res.items()}
        cider_values.append(scorers.cider(gts, res))
        meteor = scorers.meteor(gts, res)
        if meteor is None or meteor_values is None:
            meteor_values = None
        else:
            meteor_values.append(meteor[0])
    cider = float(np.mean(cider_values))
    if meteor_values is None:
        return cider, None, None
    return cider, float(np.mean(meteor_values)), _video_soda(iou, gt, pred, scorers)


def _video_soda(
    iou: np.ndarray, gt: GroundTruthVideo, pred: PredictedVideo, scorers: _Scorers
) -> float | None:
    """SODA_c of one video with METEOR(gt caption | predicted caption) pair scores."""
    n_gt, n_pred = iou.shape
    if n_pred == 0:
        return 0.0
    scorers.tokenize(gt.captions)
    # The reference scores ids in sorted(str) order: column c holds prediction order[c].
    order = sorted(range(n_pred), key=str)
    refs = {f"{i}_{c}": [scorers.tok(pred.captions[j])] for i in range(n_gt) for c, j in enumerate(order)}
    hyps = {f"{i}_{c}": [scorers.tok(gt.captions[i])] for i in range(n_gt) for c in range(n_pred)}
    meteor = scorers.meteor(refs, hyps)
    if meteor is None:
        return None
    by_id = dict(zip(refs, meteor[1], strict=True))
    scores = np.array([[by_id[f"{i}_{c}"] for c in range(n_pred)] for i in range(n_gt)])  # (S, K)
    return soda_f_measure(iou, scores, SODA_IOU_THRESHOLDS)


def _paragraph_scores(
    predictions: Mapping[str, PredictedVideo], ground_truth: Sequence[GroundTruthVideo], scorers: _Scorers
) -> tuple[float, float | None]:
    """Para_CIDER and Para_METEOR with the reference's zip of present predictions and all videos."""
    pred_paras = [". ".join(predictions[v.key].captions) for v in ground_truth if v.key in predictions]
    if len(pred_paras) < len(ground_truth):
        logger.warning(
            "%d of %d videos have no predictions: as in eval_dvc.py, predicted paragraphs are paired "
            "with ground-truth paragraphs by position, so Para_* pair some videos with the wrong paragraph",
            len(ground_truth) - len(pred_paras),
            len(ground_truth),
        )
    gts = {str(i): [_paragraph_words(v.paragraph)] for i, v in enumerate(ground_truth[: len(pred_paras)])}
    res = {str(i): [_paragraph_words(p)] for i, p in enumerate(pred_paras)}
    cider = scorers.cider(gts, res)
    meteor = scorers.meteor(gts, res)
    return cider, None if meteor is None else meteor[0]


def evaluate_dense_captioning(
    predictions: Mapping[str, PredictedVideo],
    ground_truth: Sequence[GroundTruthVideo],
    *,
    split: str = DEFAULT_SPLIT,
    captions: bool = True,
) -> dict[str, Any]:
    """All TimeChat dense-captioning metrics for predictions against ground-truth videos.

    Args:
        predictions: video key -> predicted events. Videos absent here score 0; keys not in
            ``ground_truth`` are ignored, as in the reference.
        ground_truth: the annotated videos, in file order.
        split: ``"train"``, ``"val"`` or ``"test"``; names the ``SODA_c_<id>`` key.
        captions: also compute the caption metrics (CIDER, METEOR, SODA_c, Para_*); False gives
            the detection metrics only (the reference's ``tmponly``).

    Returns:
        ``Para_CIDER``, ``Para_METEOR``, ``CIDER``, ``METEOR``, ``Precision@t``, ``Recall@t``
        (t in 0.3, 0.5, 0.7, 0.9), ``Precision_Mean``, ``Recall_Mean``, ``F1_Score``,
        ``SODA_c_<id>`` (all x100; METEOR-based ones None without Java), ``n_preds`` (mean events
        per video), ``n_videos``, and ``notes`` (list of strings) when something is null.

    Raises:
        ValueError: no ground-truth videos, or an unknown split.
    """
    if not ground_truth:
        raise ValueError("ground_truth: no videos to evaluate")
    if split not in SPLIT_IDS:
        raise ValueError(f"split: must be one of {', '.join(SPLIT_IDS)}, got {split!r}")
    thresholds = DVC_IOU_THRESHOLDS
    empty = PredictedVideo()
    scorers = _Scorers() if captions else None
    rng = random.Random(UNMATCHED_REF_SEED)
    per_video: dict[str, list[float | None]] = {}

    def add(name: str, value: float | None) -> None:
        per_video.setdefault(name, []).append(value)

    for gt in ground_truth:
        pred = predictions.get(gt.key, empty)
        iou = dvc_iou(pred.segments, gt.segments)  # (S, K)
        if scorers is not None:
            cider, meteor, soda = _video_caption_scores(iou, gt, pred, scorers, rng, thresholds)
            add("CIDER", cider)
            add("METEOR", meteor)
        precision, recall = precision_recall(iou, thresholds)
        for t, p, r in zip(thresholds, precision, recall, strict=True):
            add(f"Precision@{t}", p)
            add(f"Recall@{t}", r)
        mean_p, mean_r = sum(precision) / len(precision), sum(recall) / len(recall)
        add("Precision_Mean", mean_p)
        add("Recall_Mean", mean_r)
        add("F1_Score", 2 * mean_r * mean_p / (mean_r + mean_p) if mean_r + mean_p > 0 else 0.0)
        if scorers is not None:
            add(f"SODA_c_{SPLIT_IDS[split]}", soda)
        add("n_preds", float(len(pred.captions)))

    out: dict[str, Any] = {}
    if scorers is not None:
        para_cider, para_meteor = _paragraph_scores(predictions, ground_truth, scorers)
        out["Para_CIDER"] = para_cider * 100
        out["Para_METEOR"] = None if para_meteor is None else para_meteor * 100
    for name, values in per_video.items():
        if any(v is None for v in values):
            out[name] = None
        elif name == "n_preds":
            out[name] = sum(v for v in values if v is not None) / len(values)
        else:
            out[name] = sum(v for v in values if v is not None) / len(values) * 100
    out["n_videos"] = len(ground_truth)
    if scorers is not None and not scorers.meteor_available:
        out["notes"] = [f"{scorers.meteor_note}; {METEOR_NULL_VALUES}"]
    return out


def evaluate_files(
    pred_path: str | Path,
    gt_path: str | Path,
    *,
    parser: str = "default",
    split: str | None = None,
    checks: InputChecks | None = None,
) -> dict[str, Any]:
    """Score a dense-captioning predictions file against TimeChat-format ground truth.

    Args:
        pred_path: ``{vid: [{timestamp: [s, e], caption}]}`` or raw answers ``[{vname, generated_cap}]``.
        gt_path: ``{"annotations": [{image_id, duration, segments, pure_cap | caption}]}``.
        parser: answer parser for raw answers (``"default"`` or ``"timechat"``).
        split: ``"train"``/``"val"``/``"test"``; by default read from the file name as the reference does.
        checks: strictness (see :func:`read_ground_truth`), ``subset`` (score only the annotated
            videos that have predictions: eval_dvc.py's commented-out ``continue`` branch; by
            default, as the reference runs, a video without predictions scores 0) and the bound
            on caption words, checked before any scorer starts.

    Returns:
        As :func:`evaluate_dense_captioning`.
    """
    pred_file, gt_file = str(pred_path), str(gt_path)
    checks = checks if checks is not None else InputChecks()
    gt_data = load_json(gt_path)
    ground_truth = read_ground_truth(gt_data, gt_file, checks=checks)
    if not ground_truth:
        raise FormatError(f"{gt_file}: no annotated videos")
    durations = annotated_durations(gt_data)
    predictions = read_predictions(
        load_json(pred_path), pred_file, parser=parser, durations=durations, checks=checks
    )
    gt_keys = {v.key for v in ground_truth}
    unknown = [k for k in predictions if k not in gt_keys]
    if checks.subset:
        without = [v for v in ground_truth if v.key not in predictions]
        checks.record_subset(len(without), len(unknown))
        ground_truth = [v for v in ground_truth if v.key in predictions]
        if not ground_truth:
            raise FormatError(f"{pred_file}: no video in common with {gt_file}")
    elif unknown:
        logger.warning("%s: %d predicted videos are not in %s and are ignored (e.g. %r)",
                       pred_file, len(unknown), gt_file, unknown[0])  # fmt: skip
    check_corpus_words(
        [c for v in ground_truth for c in v.captions]
        + [c for k in gt_keys if k in predictions for c in predictions[k].captions],
        file=f"{pred_file}, {gt_file}",
        limit=checks.max_words,
    )
    return evaluate_dense_captioning(predictions, ground_truth, split=split or split_of(gt_path))
