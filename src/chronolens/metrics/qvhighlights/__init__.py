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

from chronolens.metrics.qvhighlights.records import NUM_ANNOTATORS
from chronolens.metrics.qvhighlights.scoring import (
    HL_MIN_SCORES,
    LENGTH_BUCKETS,
    MAX_PRED_WINDOWS,
    MR_IOU_THRESHOLDS,
    evaluate_files,
    evaluate_qvhighlights,
    round_metrics,
)

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
