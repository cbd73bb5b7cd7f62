"""The grounding evaluation of a TimeChat training run, on the run's cached frame features.

Held-out TimeIT grounding questions are answered greedily (batched across videos, on the
features cached for training), and the answers are recorded and scored by
:func:`chronolens.evaluation.timechat_grounding.score_grounding_answers` — the evaluation
``chronolens bench timechat --task grounding`` scores with — next to the uniform-window and
random baselines, drawn in the same run.

Transcription turns (TimeIT's ``tvc``, trained when ``data.tasks`` names it) are answered the
same way and scored by :func:`chronolens.evaluation.timechat_transcription.score_transcription_answers`
(word error rate, segment start / end error) against the segments their reference answers state.
With ``model.transcript = true`` the grounding prompts carry each video's transcript as in
training (``data.turn_transcript``); transcription prompts never do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from chronolens.errors import ChronolensError
from chronolens.evaluation.timechat_grounding import GroundingQuery, score_grounding_answers
from chronolens.models.timechat.features import VideoFeatures
from chronolens.progress import progress_bar
from chronolens.training.recipes.timechat.data import TimeITTurn, stack_features, turn_transcript
from chronolens.training.recipes.timechat.settings import EvalSettings

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat

__all__ = [
    "GroundingEvaluation",
    "TranscriptionEvaluation",
    "evaluate_grounding_split",
    "evaluate_transcription_split",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GroundingEvaluation:
    """The scored answers of one evaluation, with the files that reproduce the score."""

    metrics: dict[str, dict[str, float | int]]  # {"timechat" | "uniform-window" | "random": metrics}
    answers: list[dict[str, Any]]  # TimeChat answer records (+ parsed span, duration, reference)
    ground_truth: dict[str, Any]  # Charades-STA-style {"annotations": [...]} for the answers' ids


def _with_reference_spans(turns: Sequence[TimeITTurn]) -> list[tuple[int, TimeITTurn, tuple[float, float]]]:
    """``(id, turn, reference span)`` of every turn whose reference answer states a span."""
    from chronolens.timebase.text import parse_span

    queries: list[tuple[int, TimeITTurn, tuple[float, float]]] = []
    for i, turn in enumerate(turns):
        gt = parse_span(turn.answer, parser="default")
        if gt is None:
            logger.warning(
                "eval item %d: reference answer states no span; skipped: %r", turn.item, turn.answer
            )
            continue
        queries.append((i, turn, (gt.start, gt.end)))
    if not queries:
        raise ChronolensError("no grounding queries with a reference span to evaluate")
    return queries


def evaluate_grounding_split(
    model: TimeChat,
    turns: Sequence[TimeITTurn],
    features: Mapping[Path, VideoFeatures],
    settings: EvalSettings,
    *,
    device: torch.device,
    autocast: torch.dtype | None = None,
    progress: bool = True,
) -> GroundingEvaluation:
    """Ground every grounding turn with the model and with the trivial baselines, and score all.

    The ground truth of a turn is the span its reference answer states (TimeIT grounding
    answers are ``"The given query happens in s - e seconds."``); turns whose answer states no
    span are skipped with a warning.

    Returns:
        The metrics of the model (scored by ``chronolens.metrics.grounding.evaluate_answers``,
        as ``chronolens bench timechat`` and ``chronolens eval charades-sta`` score answer
        files) and of both baselines, the answer records and their ground truth.
    """
    from chronolens.evaluation.baselines import BaselineConfig, baseline_prediction
    from chronolens.metrics.grounding import evaluate_grounding
    from chronolens.models.timechat import build_prompt
    from chronolens.timebase.text import parse_span

    queries = _with_reference_spans(turns)
    truth = {qid: span for qid, _, span in queries}
    texts: list[str] = []
    model.eval()
    step = settings.batch_size
    for start in progress_bar(range(0, len(queries), step), desc="ground", unit="batch", enabled=progress):
        chunk = queries[start : start + step]
        feats, times, mask = stack_features([features[turn.video] for _, turn, _ in chunk])
        prompts = [
            build_prompt(turn.question, turn_transcript(turn, model.config, model.tokenizer))
            for _, turn, _ in chunk
        ]
        with torch.autocast(device_type=device.type, dtype=autocast, enabled=autocast is not None):
            texts.extend(
                model.generate(
                    feats.to(device),
                    times.to(device),
                    mask.to(device),
                    prompts,
                    max_new_tokens=settings.max_new_tokens,
                )
            )
    asked = [
        GroundingQuery(
            id=qid,
            video=turn.video.name,
            query=turn.question,
            window=window,
            duration=features[turn.video].duration,
        )
        for qid, turn, window in queries
    ]
    # Scored exactly as `chronolens bench timechat` scores TimeChat's answer files.
    scores = score_grounding_answers(asked, texts, parser=settings.parser)
    answers: list[dict[str, Any]] = []
    for record, q, (_, turn, _), text in zip(scores.answers, asked, queries, texts, strict=True):
        span = parse_span(text, duration=q.duration, parser=settings.parser)
        extra = {"span": None if span is None else [span.start, span.end], "duration": q.duration}
        answers.append({**record, **extra, "reference": turn.answer})
    results: dict[str, dict[str, float | int]] = {"timechat": scores.metrics}
    rng = np.random.default_rng(settings.baseline_seed)
    config = BaselineConfig(n_windows=settings.baseline_windows)
    for name in ("uniform-window", "random"):
        preds: dict[int, Any] = {}
        for qid, turn, _ in queries:
            windows, _ = baseline_prediction(name, features[turn.video].duration, rng, config)
            preds[qid] = windows[0][:2]  # the top-ranked window is the R1 prediction
        results[name] = evaluate_grounding(preds, truth)
    return GroundingEvaluation(metrics=results, answers=answers, ground_truth=scores.ground_truth)


@dataclass(frozen=True, slots=True)
class TranscriptionEvaluation:
    """The scored transcription answers of one evaluation."""

    metrics: dict[str, float | int]  # wer, start_error, end_error, matched, missed, extra, parsed, n
    answers: list[dict[str, Any]]  # per turn: video, generated answer, parsed and reference segments


def _answer_all(
    model: TimeChat,
    turns: Sequence[TimeITTurn],
    features: Mapping[Path, VideoFeatures],
    prompts: Sequence[str],
    *,
    batch_size: int,
    max_new_tokens: int,
    device: torch.device,
    autocast: torch.dtype | None,
    progress: bool,
    desc: str,
) -> list[str]:
    """Greedy answers to ``prompts`` (one per turn) on the turns' cached features, batched."""
    texts: list[str] = []
    model.eval()
    for start in progress_bar(range(0, len(turns), batch_size), desc=desc, unit="batch", enabled=progress):
        chunk = turns[start : start + batch_size]
        feats, times, mask = stack_features([features[turn.video] for turn in chunk])
        with torch.autocast(device_type=device.type, dtype=autocast, enabled=autocast is not None):
            texts.extend(
                model.generate(
                    feats.to(device),
                    times.to(device),
                    mask.to(device),
                    list(prompts[start : start + batch_size]),
                    max_new_tokens=max_new_tokens,
                )
            )
    return texts


def evaluate_transcription_split(
    model: TimeChat,
    turns: Sequence[TimeITTurn],
    features: Mapping[Path, VideoFeatures],
    settings: EvalSettings,
    *,
    device: torch.device,
    autocast: torch.dtype | None = None,
    progress: bool = True,
) -> TranscriptionEvaluation:
    """Transcribe every transcription turn's video with the model and score the answers.

    The reference segments of a turn are those its reference answer states (TimeIT's
    ``"Transcribed speech: s - e seconds, text. ..."``).

    Raises:
        ChronolensError: no turn's reference answer states a timed segment.
    """
    from chronolens.data.formats.timeit import parse_transcription_answer
    from chronolens.evaluation.timechat_transcription import score_transcription_answers
    from chronolens.models.timechat import build_prompt

    kept = [t for t in turns if parse_transcription_answer(t.answer)]
    if not kept:
        raise ChronolensError("no transcription turns with reference segments to evaluate")
    prompts = [build_prompt(turn.question) for turn in kept]  # never the transcript: it is the answer
    texts = _answer_all(
        model,
        kept,
        features,
        prompts,
        batch_size=settings.batch_size,
        max_new_tokens=settings.transcription_max_new_tokens,
        device=device,
        autocast=autocast,
        progress=progress,
        desc="transcribe",
    )
    references = [parse_transcription_answer(t.answer) for t in kept]
    durations = [features[t.video].duration for t in kept]
    scores = score_transcription_answers(references, texts, durations)
    answers = [
        {
            "video": turn.video.name,
            "generated_cap": text,
            "segments": [[s.start, s.end, s.text] for s in parsed],
            "reference": [[s.start, s.end, s.text] for s in ref],
        }
        for turn, text, parsed, ref in zip(kept, texts, scores.segments, references, strict=True)
    ]
    return TranscriptionEvaluation(metrics=scores.metrics, answers=answers)
