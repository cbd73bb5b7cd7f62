"""Word error rate and segment time error against hand-counted values; transcription answer scoring."""

from __future__ import annotations

import math
import random

import pytest

from chronolens.evaluation.timechat_transcription import score_transcription_answers
from chronolens.metrics.wer import (
    corpus_word_error_rate,
    normalize_words,
    segment_time_error,
    word_edits,
    word_error_rate,
)
from chronolens.speech.base import Segment


@pytest.mark.parametrize(
    ("reference", "hypothesis", "edits"),
    [
        # (substitutions, deletions, insertions), counted by hand
        ("The red car drives.", "the red car drives", (0, 0, 0)),  # case and punctuation do not count
        ("the red car drives", "the rent car drives", (1, 0, 0)),
        ("the red car drives", "the car drives", (0, 1, 0)),
        ("the red car drives", "the red red car drives now", (0, 0, 2)),
        ("a b c d", "b c d e", (0, 1, 1)),  # shift: delete a, insert e (2 edits, not 4 substitutions)
        ("kitten sitting", "sitting kitten", (2, 0, 0)),  # a swap is two substitutions
        ("a b", "", (0, 2, 0)),
        ("", "x y", (0, 0, 2)),
        ("add two cups of flour", "add 2 cups flour", (1, 1, 0)),
    ],
)
def test_word_edits_by_hand(reference: str, hypothesis: str, edits: tuple[int, int, int]) -> None:
    got = word_edits(reference, hypothesis)
    assert (got.substitutions, got.deletions, got.insertions) == edits
    assert got.reference_words == len(normalize_words(reference))


@pytest.mark.parametrize(
    ("reference", "hypothesis", "wer"),
    [
        ("The red car drives.", "the red car drives", 0.0),
        ("the red car drives", "the rent car drives", 0.25),
        ("the red car drives", "the car drives", 0.25),
        ("the red car drives", "the red red car drives now", 0.5),
        ("a b", "", 1.0),
        ("", "", 0.0),
        ("", "x y", 2.0),
        ("add two cups of flour", "add 2 cups flour", 0.4),
    ],
)
def test_word_error_rate_by_hand(reference: str, hypothesis: str, wer: float) -> None:
    # the same cases as tests/speech/wer.py's helper, which this metric can replace
    assert word_error_rate(reference, hypothesis) == pytest.approx(wer)


def _naive_distance(a: list[str], b: list[str]) -> int:
    """Edit distance by plain recursion with memo (the reference the DP is checked against)."""
    memo: dict[tuple[int, int], int] = {}

    def d(i: int, j: int) -> int:
        if i == 0 or j == 0:
            return i + j
        if (i, j) not in memo:
            memo[i, j] = min(d(i - 1, j) + 1, d(i, j - 1) + 1, d(i - 1, j - 1) + (a[i - 1] != b[j - 1]))
        return memo[i, j]

    return d(len(a), len(b))


def test_edit_counts_match_a_naive_edit_distance() -> None:
    rng = random.Random(3)
    for _ in range(200):
        a = [rng.choice("abcd") for _ in range(rng.randint(0, 7))]
        b = [rng.choice("abcd") for _ in range(rng.randint(0, 7))]
        edits = word_edits(a, b)
        assert edits.errors == _naive_distance(a, b)
        assert edits.substitutions + edits.deletions <= len(a)  # matches are what is left
        assert len(a) - edits.deletions + edits.insertions == len(b)  # the alignment accounts for every word


def test_corpus_wer_pools_edits_and_words() -> None:
    pairs = [("a b c d", "a x c d"), ("e f", "")]  # 1 of 4, 2 of 2
    assert corpus_word_error_rate(pairs) == pytest.approx(3 / 6)  # not the mean of 0.25 and 1.0
    assert corpus_word_error_rate([]) == 0.0
    assert normalize_words("Don't stop—now!") == ["don't", "stop", "now"]


def test_segment_time_error_by_hand() -> None:
    reference = [(0.0, 2.0), (4.0, 6.0), (10.0, 11.0)]
    hypothesis = [(0.5, 2.0), (3.0, 5.5), (3.8, 6.4), (20.0, 21.0)]
    error = segment_time_error(reference, hypothesis)
    # (0,2) -> (0.5,2): IoU .75; (4,6) -> (3.8,6.4) (IoU 2/2.6 beats 1.5/3); (10,11) overlaps none
    assert error.start == pytest.approx((0.5 + 0.2) / 2) and error.end == pytest.approx((0.0 + 0.4) / 2)
    assert (error.matched, error.missed, error.extra) == (2, 1, 2)
    none = segment_time_error(reference, [])
    assert math.isnan(none.start) and none.missed == 3


def test_score_transcription_answers() -> None:
    references = [
        [Segment(0.32, 1.52, "The red car drives."), Segment(3.0, 3.75, "Stir slowly.")],
        [Segment(1.0, 2.0, "Add flour.")],
        [Segment(0.0, 1.0, "Hello there.")],
    ]
    answers = [
        "Transcribed speech: 0.3 - 1.5 seconds, The rent car drives. 3.0 - 4.0 seconds, Stir slowly.",
        "Transcribed speech: None.",
        "hello there",  # no times: its words still count, no segment is matched
    ]
    scores = score_transcription_answers(references, answers, [5.0, 5.0, 5.0])
    m = scores.metrics
    assert m["wer"] == pytest.approx((1 + 2 + 0) / (6 + 2 + 2))  # rent/red; "add flour" deleted
    assert m["start_error"] == pytest.approx((0.02 + 0.0) / 2)
    assert m["end_error"] == pytest.approx((0.02 + 0.25) / 2)
    assert (m["matched"], m["missed"], m["extra"], m["n"]) == (2, 2, 0, 3)
    assert m["parsed"] == pytest.approx(1 / 3)
    assert scores.segments[0][0] == Segment(0.3, 1.5, "The rent car drives.")
    with pytest.raises(ValueError, match="2 references for 1 answers"):
        score_transcription_answers(references[:2], answers[:1])
