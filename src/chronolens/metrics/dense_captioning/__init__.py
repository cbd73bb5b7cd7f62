"""Dense video captioning (YouCook2 / ActivityNet Captions), TimeChat ``eval_dvc.py`` parity.

Reference: RenShuhuai-Andy/TimeChat ``metrics/dvc/eval_dvc.py`` (itself a port of densevid_eval
and of fujiso/SODA), with ``utils/format_dvc.py`` for raw answers. Semantics reproduced here:

- **IoU** of two events takes ``min``/``max`` of each window (reversed windows are reordered),
  divides the intersection by ``min(hull, len_a + len_b) + 1e-8``;
- **Precision@t / Recall@t** per video: a prediction (ground-truth event) is covered when its IoU
  with some ground-truth event (prediction) is ``> t`` (strict); precision divides by
  ``max(K, 1)``; the ``*_Mean`` values average t over (0.3, 0.5, 0.7, 0.9); ``F1_Score`` is the
  harmonic mean of a video's two means, averaged over videos;
- **CIDER / METEOR** per video and threshold: every (prediction, ground truth) pair with IoU
  ``>= t`` is one caption pair; a prediction with no such pair is scored against a random
  one-word reference (so it scores 0 but still counts); captions are PTB-tokenised; CIDEr-D is
  computed on each video's own pairs (its idf comes from that video alone); the value is averaged
  over thresholds, then over videos;
- **SODA_c** (:mod:`chronolens.metrics.soda`) with METEOR as the caption score, taken in the
  reference's argument order (the ground-truth caption is the hypothesis, the prediction the
  reference) and with its column order: per-prediction scores come back in the lexicographic
  order of the prediction indices as strings, so with more than 10 predictions they are
  paired with permuted IoU columns, exactly as the reference does;
- **Para_CIDER / Para_METEOR**: each video's predicted captions joined by ``". "`` against its
  ground-truth captions joined by ``" "``, both reduced to lower-case letters; the predicted
  paragraphs of the videos that have predictions are paired, in order, with the ground-truth
  paragraphs of all videos (the reference's ``zip``) — so a video missing from the predictions
  shifts the pairing. chronolens warns when that happens;
- every value is averaged over all ground-truth videos (a video without predictions scores 0)
  and reported x100 (not rounded; the reference prints ``round(x, 1)``), except ``n_preds``,
  the mean number of predicted events per video. The reference's ``SODA_c_<split>`` key is
  named after the split of the ground-truth file (train 1, val 2, test 3); its placeholder
  ``-1`` entries for the other split are not reported.

METEOR runs the official METEOR 1.5 jar under Java; when either is missing the METEOR-based
values (``METEOR``, ``SODA_c_*``, ``Para_METEOR``) are ``None`` and ``notes`` holds one line saying
what is missing and how to get it (:func:`~chronolens.metrics.captioning.meteor.meteor_unavailable_reason`).
"""

from chronolens.metrics.dense_captioning.records import (
    SPLIT_IDS,
    GroundTruthVideo,
    PredictedVideo,
    read_ground_truth,
    read_predictions,
    split_of,
)
from chronolens.metrics.dense_captioning.scoring import (
    DVC_IOU_THRESHOLDS,
    dvc_iou,
    evaluate_dense_captioning,
    evaluate_files,
    precision_recall,
)

__all__ = [
    "DVC_IOU_THRESHOLDS",
    "SPLIT_IDS",
    "GroundTruthVideo",
    "PredictedVideo",
    "dvc_iou",
    "evaluate_dense_captioning",
    "evaluate_files",
    "precision_recall",
    "read_ground_truth",
    "read_predictions",
    "split_of",
]
