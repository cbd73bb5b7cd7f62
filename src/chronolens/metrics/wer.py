"""Transcription metrics: word error rate and the time error of timestamped segments.

Word error rate is the word-level Levenshtein distance between a reference and a hypothesis
(substitutions + deletions + insertions, each costing 1) divided by the number of reference
words, the definition of NIST sclite and of ``jiwer.wer``. Text is normalised first: lower-cased,
and split into runs of letters, digits and apostrophes, so punctuation and case do not count
(Whisper writes ``"garage."`` for a spoken "garage"). A corpus WER sums the edits and the
reference words over all pairs (sclite's corpus figure), not the mean of per-pair rates.

Segment time error compares the spans of timestamped segments (seconds): each reference
segment is paired with the hypothesis segment of highest temporal IoU (the earliest on a tie);
references no hypothesis overlaps are counted as missed and left out of the time errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from chronolens.metrics.temporal import temporal_iou

__all__ = [
    "SegmentTimeError",
    "WordEdits",
    "corpus_word_error_rate",
    "normalize_words",
    "segment_time_error",
    "word_edits",
    "word_error_rate",
]

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters/digits, with inner apostrophes ("don't")


def normalize_words(text: str) -> list[str]:
    """The words WER counts: lower-cased runs of letters and digits (inner apostrophes kept).

    >>> normalize_words("The red car, don't STOP!")
    ['the', 'red', 'car', "don't", 'stop']
    """
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class WordEdits:
    """The minimum edits turning the reference's words into the hypothesis's."""

    substitutions: int
    deletions: int  # reference words the hypothesis lacks
    insertions: int  # hypothesis words the reference lacks
    reference_words: int

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions (the edit distance)."""
        return self.substitutions + self.deletions + self.insertions


def word_edits(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> WordEdits:
    """The word-level edit distance, split into substitutions, deletions and insertions.

    Args:
        reference: text (normalised by :func:`normalize_words`) or a list of words (used as given).
        hypothesis: the same for the recognised text.

    Returns:
        The edits of one minimum-cost alignment; among equal-cost alignments, substitutions are
        preferred over a deletion plus an insertion (as sclite reports them).
    """
    ref = normalize_words(reference) if isinstance(reference, str) else list(reference)
    hyp = normalize_words(hypothesis) if isinstance(hypothesis, str) else list(hypothesis)
    # cost[i][j] = (errors, substitutions, deletions, insertions) aligning ref[:i] with hyp[:j]
    previous = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, r in enumerate(ref, start=1):
        current = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, start=1):
            e, s, d, n = previous[j - 1]
            diagonal = (e, s, d, n) if r == h else (e + 1, s + 1, d, n)
            e, s, d, n = previous[j]
            deletion = (e + 1, s, d + 1, n)
            e, s, d, n = current[j - 1]
            insertion = (e + 1, s, d, n + 1)
            current.append(min(diagonal, deletion, insertion, key=lambda c: c[0]))
        previous = current
    _, subs, dels, ins = previous[-1]
    return WordEdits(substitutions=subs, deletions=dels, insertions=ins, reference_words=len(ref))


def word_error_rate(reference: str | Sequence[str], hypothesis: str | Sequence[str]) -> float:
    """(substitutions + deletions + insertions) / reference words.

    An empty reference gives 0.0 for an empty hypothesis and the number of inserted words
    otherwise (every word is an error; there is nothing to divide by).
    """
    edits = word_edits(reference, hypothesis)
    if edits.reference_words == 0:
        return float(edits.insertions)
    return edits.errors / edits.reference_words


def corpus_word_error_rate(pairs: Iterable[tuple[str | Sequence[str], str | Sequence[str]]]) -> float:
    """Total edits over total reference words of ``(reference, hypothesis)`` pairs (sclite's figure).

    Returns:
        The corpus WER; 0.0 when there are no reference words and no insertions.
    """
    errors = words = 0
    for reference, hypothesis in pairs:
        edits = word_edits(reference, hypothesis)
        errors += edits.errors
        words += edits.reference_words
    if words == 0:
        return float(errors)
    return errors / words


@dataclass(frozen=True, slots=True)
class SegmentTimeError:
    """How far timestamped segments are from the reference's, in seconds."""

    start: float  # mean |hypothesis start - reference start| over matched references (NaN if none)
    end: float  # mean |hypothesis end - reference end| over matched references (NaN if none)
    matched: int  # reference segments some hypothesis segment overlaps
    missed: int  # reference segments no hypothesis segment overlaps
    extra: int  # hypothesis segments no reference was paired with


def segment_time_error(
    reference: Sequence[tuple[float, float]], hypothesis: Sequence[tuple[float, float]]
) -> SegmentTimeError:
    """Start and end error of hypothesis segments against reference segments.

    Args:
        reference: ``(start, end)`` seconds of each true segment.
        hypothesis: ``(start, end)`` seconds of each recognised segment.

    Returns:
        Each reference is paired with the hypothesis of highest temporal IoU (ties: the earlier
        hypothesis; one hypothesis may serve several references); errors are averaged over the
        references with an overlapping hypothesis.
    """
    starts: list[float] = []
    ends: list[float] = []
    used: set[int] = set()
    ious = np.zeros((len(reference), len(hypothesis)))
    if len(reference) and len(hypothesis):
        ious = np.nan_to_num(temporal_iou(np.asarray(reference, float), np.asarray(hypothesis, float)))
    for r, ref in enumerate(reference):
        best = int(np.argmax(ious[r])) if len(hypothesis) else -1  # ties: the earlier hypothesis
        if best < 0 or ious[r, best] <= 0:
            continue
        used.add(best)
        starts.append(abs(hypothesis[best][0] - ref[0]))
        ends.append(abs(hypothesis[best][1] - ref[1]))
    nan = float("nan")
    return SegmentTimeError(
        start=sum(starts) / len(starts) if starts else nan,
        end=sum(ends) / len(ends) if ends else nan,
        matched=len(starts),
        missed=len(reference) - len(starts),
        extra=len(hypothesis) - len(used),
    )
