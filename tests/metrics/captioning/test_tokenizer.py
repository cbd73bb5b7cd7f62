"""Pure-Python PTB tokenisation against pycocoevalcap's Java PTBTokenizer outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.metrics.captioning.tokenizer import ptb_tokenize, ptb_tokenize_line, whitespace_tokenize

PAIRS = json.loads((Path(__file__).parent / "fixtures" / "ptb_tokens.json").read_text())["pairs"]


def test_ptb_matches_java_on_every_golden_line() -> None:
    captions = {str(i): [raw] for i, (raw, _) in enumerate(PAIRS)}
    tokenized = ptb_tokenize(captions)
    mismatches = [
        (raw, exp, tokenized[str(i)][0]) for i, (raw, exp) in enumerate(PAIRS) if tokenized[str(i)][0] != exp
    ]
    assert len(PAIRS) >= 300
    assert mismatches == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("He doesn't know.", "he does n't know"),
        ("A man (in a hat) [rides].", "a man -lrb- in a hat -rrb- -lsb- rides -rsb-"),
        ("gonna CANNOT 'Twas", "gon na can not 't was"),
        ("U.S. Mr. etc. Co.A.", "u.s. mr. etc. co. a."),
        ("3.14 1,000 5:30 $5 50% 1 1/2 ½", "3.14 1,000 5:30 $ 5 50 % 1\u00a01/2 1/2"),
        ("“Quoted” -- ... — !?", "quoted !?"),
        ("emoji 🐶 here", "emoji here"),
        ("", ""),
    ],
)
def test_ptb_examples(raw: str, expected: str) -> None:
    assert ptb_tokenize({"k": [raw]}) == {"k": [expected]}


def test_ptb_accepts_coco_dicts_and_keeps_order() -> None:
    out = ptb_tokenize({"b": [{"caption": "A Dog."}, "Two cats!"], "a": ["x"]})
    assert list(out) == ["b", "a"]
    assert out["b"] == ["a dog", "two cats"]


def test_newlines_inside_a_caption_are_spaces() -> None:
    assert ptb_tokenize({"k": ["a\nb"]}) == {"k": ["a b"]}


def test_ptb_line_keeps_punctuation_before_filtering() -> None:
    assert ptb_tokenize_line("Hi, (you).") == ["hi", ",", "-lrb-", "you", "-rrb-", "."]


def test_whitespace_tokenizer_passes_captions_through() -> None:
    assert whitespace_tokenize({"k": [{"caption": "A  Dog."}]}) == {"k": ["A  Dog."]}
