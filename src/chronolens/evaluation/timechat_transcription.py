"""Scoring TimeChat's transcription answers (TimeIT's transcribed speech generation task).

An answer such as ``"Transcribed speech: 0.5 - 2.1 seconds, The red car drives. 4.0 - 5.2
seconds, Stir slowly."`` is read into timed segments
(:func:`chronolens.data.formats.timeit.parse_transcription_answer`, clamped to the video) and
scored against the reference segments:

- ``wer``: the corpus word error rate (:func:`chronolens.metrics.wer.corpus_word_error_rate`)
  of each answer's words against its reference's words, both in time order. The hypothesis words
  are the parsed segments' texts; an answer with no timed segment counts with all its words
  (after ``"Transcribed speech:"``), so an untimed transcript is still scored for its words;
- ``start_error`` / ``end_error``: seconds between each reference segment and the answer
  segment of highest temporal IoU (:func:`chronolens.metrics.wer.segment_time_error`), averaged
  over all matched reference segments of all answers; ``missed`` counts reference segments no
  answer segment overlaps, ``extra`` answer segments no reference was paired with;
- ``parsed``: the fraction of answers with at least one timed segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chronolens.data.formats.timeit import TRANSCRIBED_SPEECH, parse_transcription_answer
from chronolens.metrics.wer import corpus_word_error_rate, segment_time_error
from chronolens.speech.base import Segment

__all__ = ["TranscriptionScores", "score_transcription_answers"]


@dataclass(frozen=True, slots=True)
class TranscriptionScores:
    """The metrics of a set of transcription answers and each answer's parsed segments."""

    metrics: dict[str, float | int]  # wer, start_error, end_error, matched, missed, extra, parsed, n
    segments: list[list[Segment]]  # the segments read from each answer, in the answers' order


def _hypothesis_words(answer: str, segments: list[Segment]) -> str:
    if segments:
        return " ".join(s.text for s in segments)
    body = answer.strip()
    if body.lower().startswith(TRANSCRIBED_SPEECH.lower()):
        body = body[len(TRANSCRIBED_SPEECH) :]
    return "" if body.strip().lower() == "none." else body


def score_transcription_answers(
    references: Sequence[Sequence[Segment]],
    answers: Sequence[str],
    durations: Sequence[float | None] | None = None,
) -> TranscriptionScores:
    """Word error rate and segment time error of transcription answers.

    Args:
        references: per answer, the true segments (seconds on the video's clock).
        answers: the model's answers, one per reference.
        durations: per answer, the video's duration (parsed spans are clamped to it), or None.

    Returns:
        The scores (see the module docstring); ``start_error`` / ``end_error`` are NaN when no
        reference segment was matched.

    Raises:
        ValueError: the sequences differ in length, or there is nothing to score.
    """
    if len(references) != len(answers) or (durations is not None and len(durations) != len(answers)):
        raise ValueError(f"{len(references)} references for {len(answers)} answers")
    if not answers:
        raise ValueError("no transcription answers to score")
    parsed: list[list[Segment]] = []
    pairs: list[tuple[str, str]] = []
    start_sum = end_sum = 0.0
    matched = missed = extra = 0
    for k, (reference, answer) in enumerate(zip(references, answers, strict=True)):
        duration = durations[k] if durations is not None else None
        segments = parse_transcription_answer(answer, duration=duration)
        parsed.append(segments)
        ordered = sorted(reference, key=lambda s: (s.start, s.end))
        pairs.append((" ".join(s.text for s in ordered), _hypothesis_words(answer, segments)))
        error = segment_time_error([(s.start, s.end) for s in ordered], [(s.start, s.end) for s in segments])
        if error.matched:
            start_sum += error.start * error.matched
            end_sum += error.end * error.matched
        matched, missed, extra = matched + error.matched, missed + error.missed, extra + error.extra
    metrics: dict[str, float | int] = {
        "wer": corpus_word_error_rate(pairs),
        "start_error": start_sum / matched if matched else math.nan,
        "end_error": end_sum / matched if matched else math.nan,
        "matched": matched,
        "missed": missed,
        "extra": extra,
        "parsed": sum(1 for s in parsed if s) / len(answers),
        "n": len(answers),
    }
    return TranscriptionScores(metrics=metrics, segments=parsed)
