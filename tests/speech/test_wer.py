"""The tests' word error rate against hand-counted edits."""

from __future__ import annotations

import pytest
from tests.speech.wer import word_error_rate


@pytest.mark.parametrize(
    ("reference", "hypothesis", "wer"),
    [
        ("The red car drives.", "the red car drives", 0.0),  # case and punctuation do not count
        ("the red car drives", "the rent car drives", 0.25),  # one substitution
        ("the red car drives", "the car drives", 0.25),  # one deletion
        ("the red car drives", "the red red car drives now", 0.5),  # two insertions
        ("a b", "", 1.0),
        ("", "", 0.0),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, wer: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(wer)
