"""SRT / WebVTT / txt / JSON: timestamps formatted exactly, round trips, real-world subtitle quirks."""

from __future__ import annotations

import json

import pytest

from chronolens.errors import FormatError
from chronolens.speech import Segment, Transcript, Word, parse_srt, parse_vtt, render
from chronolens.speech.formats import format_timestamp, parse_timestamp

TRANSCRIPT = Transcript(
    segments=(
        Segment(
            0.0, 1.9, " The red car drives into the garage.", (Word(0.0, 0.3, "The"), Word(0.3, 0.5, "red"))
        ),
        Segment(4.64, 8.385, "Now we add two cups of flour."),
        Segment(3725.0006, 3726.25, "An hour & a bit --> later"),
    ),
    model="fake:test",
    language="en",
    duration=3727.0,
)


@pytest.mark.parametrize(
    ("seconds", "srt", "vtt"),
    [
        (0.0, "00:00:00,000", "00:00:00.000"),
        (1.5, "00:00:01,500", "00:00:01.500"),
        (59.9996, "00:01:00,000", "00:01:00.000"),  # rounded before splitting: never 00:00:60,000
        (3661.001, "01:01:01,001", "01:01:01.001"),
        (360_000.0, "100:00:00,000", "100:00:00.000"),  # hours grow past two digits
        (-0.4, "00:00:00,000", "00:00:00.000"),
        (float("nan"), "00:00:00,000", "00:00:00.000"),
    ],
)
def test_timestamps(seconds: float, srt: str, vtt: str) -> None:
    assert format_timestamp(seconds) == srt
    assert format_timestamp(seconds, separator=".") == vtt
    if seconds >= 0:
        assert parse_timestamp(srt) == pytest.approx(round(seconds, 3))


def test_parse_timestamp_forms() -> None:
    assert parse_timestamp("01:02.5") == pytest.approx(62.5)  # WebVTT without hours, short fraction
    assert parse_timestamp("00:00:01,2") == pytest.approx(1.2)


def test_srt_exact_text_and_round_trip() -> None:
    text = render(TRANSCRIPT, "srt")
    assert text.startswith("1\n00:00:00,000 --> 00:00:01,900\nThe red car drives into the garage.\n\n")
    assert "\n2\n00:00:04,640 --> 00:00:08,385\nNow we add two cups of flour.\n\n" in text
    assert "3\n01:02:05,001 --> 01:02:06,250\nAn hour & a bit --> later\n" in text
    back = parse_srt(text)
    assert [(s.start, s.end, s.text) for s in back] == [
        (0.0, 1.9, "The red car drives into the garage."),
        (4.64, 8.385, "Now we add two cups of flour."),
        (3725.001, 3726.25, "An hour & a bit --> later"),
    ]


def test_vtt_exact_text_and_round_trip() -> None:
    text = render(TRANSCRIPT, "vtt")
    assert text.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.900\nThe red car drives into the garage.\n")
    assert "-->" not in text.splitlines()[-1]  # a cue's text never contains the arrow
    back = parse_vtt(text)
    assert [(s.start, s.end) for s in back] == [(0.0, 1.9), (4.64, 8.385), (3725.001, 3726.25)]
    assert back[2].text == "An hour & a bit -> later"


def test_txt_and_json() -> None:
    assert render(TRANSCRIPT, "txt") == (
        "The red car drives into the garage.\nNow we add two cups of flour.\nAn hour & a bit --> later\n"
    )
    data = json.loads(render(TRANSCRIPT, "json"))
    assert Transcript.from_json(data) == TRANSCRIPT
    assert data["segments"][0]["words"][1] == {"start": 0.3, "end": 0.5, "text": "red", "probability": 1.0}
    with pytest.raises(ValueError, match="valid: srt, vtt, txt, json"):
        render(TRANSCRIPT, "ass")


def test_empty_transcript_renders_valid_documents() -> None:
    empty = Transcript(segments=(), model="fake:test", has_audio=False)
    assert render(empty, "srt") == "" and render(empty, "txt") == ""
    assert render(empty, "vtt") == "WEBVTT\n" and parse_vtt(render(empty, "vtt")) == ()


def test_real_world_srt_quirks() -> None:
    text = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> &amp; welcome\r\nsecond line\r\n\r\n"
        "00:00:03.000 --> 00:00:04,000\r\nno cue number\r\n\r\n\r\n"
        "3\r\n00:00:05,000 --> 00:00:06,000\r\n\r\n"  # an empty cue is dropped
    )
    segments = parse_srt(text)
    assert [(s.start, s.end, s.text) for s in segments] == [
        (1.0, 2.5, "Hello & welcome second line"),
        (3.0, 4.0, "no cue number"),
    ]


def test_real_world_vtt_quirks() -> None:
    text = (
        "WEBVTT - a title\n\nNOTE this is a comment\nspanning lines\n\nSTYLE\n::cue { color: red }\n\n"
        "intro\n00:01.000 --> 00:02.000 align:start position:10%\n<v Alice>Hi <00:00:01.500>there</v>\n\n"
        "00:00:02.500 --> 00:00:03.000\n<c.yellow>Bye</c>\n"
    )
    segments = parse_vtt(text)
    assert [(s.start, s.end, s.text) for s in segments] == [(1.0, 2.0, "Hi there"), (2.5, 3.0, "Bye")]


def test_malformed_files_name_the_cue() -> None:
    with pytest.raises(FormatError, match=r"subs\.srt: cue 2 has no 'start --> end' line"):
        parse_srt("1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\njust text\n", source="subs.srt")
    with pytest.raises(FormatError, match="malformed times"):
        parse_srt("1\n00:00:01 --> 00:00:02\nno millis\n")
    with pytest.raises(FormatError, match="starts with 'WEBVTT'"):
        parse_vtt("00:00:01.000 --> 00:00:02.000\nhi\n")
