"""Tests for chronolens.timebase.text: the TimeChat-compatible parsers and the default parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.timebase import Span
from chronolens.timebase.text import parse_span, parse_timestamped_captions

FIXTURES = Path(__file__).parent.parent / "metrics" / "fixtures"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The given query happens in 20.8 - 30.0 seconds.", (20.8, 30.0)),
        ("It happens from 3.2 to 5 seconds.", (3.2, 5.0)),
        ("between 3 and 5.5s", (3.0, 5.5)),
        ("00:05–00:12", (5.0, 12.0)),
        ("at 1:02:03 — 1:02:10.5", (3723.0, 3730.5)),
        ("3.2s-5s", (3.2, 5.0)),
        ("3.2 s – 5 s", (3.2, 5.0)),
        ("The moment is 17.1 — 24.6 seconds.", (17.1, 24.6)),
        ("Event: 5 ~ 9", (5.0, 9.0)),
        ("The event happens at 10 - 4 seconds", (4.0, 10.0)),  # reversed pair is swapped
        ("starts at 3.5 seconds and ends at 7", (3.5, 7.0)),
        ("Start time: 12.5s\nEnd time: 20.4 seconds", (12.5, 20.4)),
        ("from 1 to 2 minutes", (60.0, 120.0)),
        ("First 1 - 2 seconds, later 5 - 8 seconds.", (1.0, 2.0)),  # the first range wins
        ("La personne ouvre la fenêtre de 2.5 – 7 secondes.", (2.5, 7.0)),
        ("5 - 5 seconds", (5.0, 5.0)),
    ],
)
def test_default_parser_reads_ranges(text: str, expected: tuple[float, float]) -> None:
    assert parse_span(text) == Span(*expected)


@pytest.mark.parametrize(
    "text",
    ["I cannot tell.", "", "Recorded on 2023-01-05.", "model v2-3 output", "30% - 50%", "4 people"],
)
def test_default_parser_returns_none_without_a_range(text: str) -> None:
    assert parse_span(text) is None


def test_default_parser_clamps_and_reads_percent_with_duration() -> None:
    assert parse_span("from 1 to 2 minutes", duration=90.0) == Span(60.0, 90.0)
    assert parse_span("from 5 to 14 seconds", duration=10.0) == Span(5.0, 10.0)
    assert parse_span("It is 0 - 3 s", duration=10.0) == Span(0.0, 3.0)  # t = 0 edge
    assert parse_span("20 - 30 seconds", duration=10.0) == Span(10.0, 10.0)  # t = duration edge
    assert parse_span("30% - 50%", duration=8.0) == Span(2.4, 4.0)


def test_timechat_parser_matches_reference_on_fixture() -> None:
    answers = json.loads((FIXTURES / "tvg_answers.json").read_text(encoding="utf-8"))
    expected = json.loads((FIXTURES / "tvg_expected_timechat.json").read_text())["spans"]
    for record in answers:
        span = parse_span(record["generated_cap"], parser="timechat")
        want = expected[str(record["id"])]
        got = None if span is None else [span.start, span.end]
        assert got == want, record


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Recorded on 2023-01-05, it happens at 4 - 9.",
            (1.0, 2023.0),
        ),  # first "a - b" anywhere, even a date
        (
            "Start time: 12.5s\nEnd time: 20.4 seconds",
            (12.0, 20.4),
        ),  # "12.5s" reads as 12 in the keyword rule
        ("It starts at 3.5 seconds? It ends at 7.25 seconds.", (3.5, 7.25)),
        ("The event ends at 30 and starts at 20!\nAlso 31.", None),  # one keyword sentence -> one number
        ("It happens from 3.2 to 5 seconds.", None),  # no "a - b", no keyword sentence pair
        ("00:05–00:12", None),  # no en dash, no mm:ss
        ("1..2 - 3 seconds", None),  # the reference's float() raises here
        ("The video is 7 - 3 seconds long", (3.0, 7.0)),
    ],
)
def test_timechat_parser_quirks(text: str, expected: tuple[float, float] | None) -> None:
    span = parse_span(text, parser="timechat", duration=1.0)  # duration is ignored
    assert (None if span is None else (span.start, span.end)) == expected


def test_unknown_parser_and_bad_duration_raise() -> None:
    with pytest.raises(ValueError, match="parser"):
        parse_span("1 - 2", parser="nope")
    with pytest.raises(ValueError, match="duration"):
        parse_span("1 - 2", duration=-1.0)
    with pytest.raises(ValueError, match="parser"):
        parse_timestamped_captions("1 - 2", parser="nope")


def test_timechat_captions_match_reference_format_dvc() -> None:
    cases = json.loads((FIXTURES / "dvc_answers_expected_timechat.json").read_text(encoding="utf-8"))
    assert len(cases) >= 10
    for case in cases:
        got = [(s.start, s.end, c) for s, c in parse_timestamped_captions(case["text"], parser="timechat")]
        want = [(min(a, b), max(a, b), c) for a, b, c in case["events"]]
        assert got == want, case["text"]


def test_default_captions_time_first_and_time_last_layouts() -> None:
    text = "0.0 - 12.5 seconds, cut the onion.\n12.5 - 30.0 seconds, fry it in a pan."
    assert parse_timestamped_captions(text) == [
        (Span(0.0, 12.5), "cut the onion."),
        (Span(12.5, 30.0), "fry it in a pan."),
    ]
    text = "Here are the events:\n1. Cut the onion (0:05 - 0:12)\n2. Fry it (0:12 - 0:30)"
    assert parse_timestamped_captions(text, duration=20.0) == [
        (Span(5.0, 12.0), "Cut the onion"),
        (Span(12.0, 20.0), "Fry it"),
    ]


def test_default_captions_block_format_and_nothing() -> None:
    text = (
        "1. Start time: 105 seconds\nEnd time: 109 seconds\nDescription: Making sandwiches\n"
        "2. Start time: 110\nEnd time: 120\nDescription: Eat them"
    )
    assert parse_timestamped_captions(text) == [
        (Span(105.0, 109.0), "Making sandwiches"),
        (Span(110.0, 120.0), "Eat them"),
    ]
    assert parse_timestamped_captions("no times at all") == []
    assert parse_timestamped_captions("") == []
