"""The one grounding evaluation of a TimeChat model: its answers, their ground truth, their score.

A grounding answer is free text (``"The given query happens in 0.0 - 6.9 seconds."``). The
answers are recorded as TimeChat's inference writes them (``[{vname, generated_cap, query,
id}]``), the reference spans as the coco-style ground truth TimeChat's ``eval_tvg`` reads (with
each video's duration, so the default parser clamps), and both are scored by
:func:`chronolens.metrics.grounding.evaluate_answers` (answers without a span are misses).

``chronolens bench timechat --task grounding`` (:mod:`chronolens.evaluation.timechat`) and the
TimeChat training recipe's held-out evaluation both score here, so their figures agree for the
same answers, and the files either writes re-score to the same numbers with ``chronolens eval
charades-sta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["GroundingQuery", "GroundingScores", "score_grounding_answers"]


@dataclass(frozen=True, slots=True)
class GroundingQuery:
    """One grounding question about one video, with the span its reference states."""

    id: int  # the id of its answer and ground-truth records
    video: str  # the video file's name (``vname`` / ``image_id``)
    query: str  # the query as recorded (``query`` / ``caption``)
    window: tuple[float, float]  # the reference span, seconds
    duration: float  # seconds: lets the default parser clamp the answer's span


@dataclass(frozen=True, slots=True)
class GroundingScores:
    """TimeChat's answers and their ground truth in the reference layouts, and their score."""

    answers: list[dict[str, Any]]  # TimeChat's answers file: [{vname, generated_cap, query, id}]
    ground_truth: dict[str, Any]  # {"annotations": [{image_id, caption, timestamp, id, duration}]}
    metrics: dict[str, float | int]  # metrics.grounding.evaluate_answers' output


def score_grounding_answers(
    queries: Sequence[GroundingQuery], texts: Sequence[str], *, parser: str = "default"
) -> GroundingScores:
    """Record a TimeChat model's grounding answers with their ground truth and score them.

    Args:
        queries: what was asked, one per answer.
        texts: the model's answers, in the order of ``queries``.
        parser: answer parser, ``"default"`` or ``"timechat"`` (reference parity).

    Returns:
        The records and ``evaluate_answers``' metrics (R1@{0.3, 0.5, 0.7}, mIoU, parse failures).
    """
    from chronolens.metrics.grounding import evaluate_answers

    answers: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    for q, text in zip(queries, texts, strict=True):
        answers.append({"vname": q.video, "generated_cap": text, "query": q.query, "id": q.id})
        truth.append(
            {
                "image_id": q.video,
                "caption": q.query,
                "timestamp": list(q.window),
                "id": q.id,
                "duration": q.duration,
            }
        )
    ground_truth = {"annotations": truth}
    metrics = evaluate_answers(answers, ground_truth, parser=parser)
    return GroundingScores(answers=answers, ground_truth=ground_truth, metrics=metrics)
