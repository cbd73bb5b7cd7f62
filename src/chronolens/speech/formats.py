"""Transcripts as text: SRT, WebVTT, plain text and JSON out; SRT and WebVTT in.

Writers and readers are inverses up to the formats' millisecond precision (words are not kept
by SRT / WebVTT). Readers accept what real subtitle files contain: a UTF-8 BOM, CRLF line ends,
missing cue numbers, ``.`` or ``,`` before the milliseconds, WebVTT cue settings, ``NOTE`` /
``STYLE`` / ``REGION`` blocks, ``mm:ss.ttt`` times without hours, and markup (``<i>``, ``<v Bob>``,
``<00:00:01.000>``, ``&amp;``), which is stripped.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable

from chronolens.errors import FormatError
from chronolens.speech.base import Segment, Transcript

__all__ = [
    "FORMATS",
    "format_timestamp",
    "parse_srt",
    "parse_subtitles",
    "parse_timestamp",
    "parse_vtt",
    "render",
    "to_json_text",
    "to_srt",
    "to_txt",
    "to_vtt",
]

_MS_PER_S = 1000
_MS_PER_MIN = 60 * _MS_PER_S
_MS_PER_H = 60 * _MS_PER_MIN

_TIME = r"(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3}"
_CUE_TIMES = re.compile(rf"^\s*({_TIME})\s*-->\s*({_TIME})(?:\s+.*)?$")
_TAG = re.compile(r"<[^>]*>")


def format_timestamp(seconds: float, *, separator: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT; ``separator="."`` for WebVTT), rounded to the millisecond first.

    Negative or non-finite times become ``00:00:00,000``; hours grow past two digits when needed.
    """
    ms = round(seconds * _MS_PER_S) if math.isfinite(seconds) and seconds > 0 else 0
    hours, ms = divmod(ms, _MS_PER_H)
    minutes, ms = divmod(ms, _MS_PER_MIN)
    secs, ms = divmod(ms, _MS_PER_S)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def parse_timestamp(text: str) -> float:
    """Seconds from ``[HH:]MM:SS[,.]mmm`` (SRT or WebVTT)."""
    head, _, frac = text.strip().replace(",", ".").rpartition(".")
    fields = [int(f) for f in head.split(":")]
    if len(fields) == 2:
        fields.insert(0, 0)
    hours, minutes, secs = fields
    return hours * 3600 + minutes * 60 + secs + int(frac.ljust(3, "0")[:3]) / _MS_PER_S


def _cue_text(segment: Segment) -> str:
    # A blank line would end the cue early; collapse the text onto non-empty lines.
    lines = [line.strip() for line in segment.text.strip().splitlines() if line.strip()]
    return "\n".join(lines)


def _cues(transcript: Transcript) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, _cue_text(s)) for s in transcript.segments if _cue_text(s)]


def to_srt(transcript: Transcript) -> str:
    """SubRip text: numbered cues ``HH:MM:SS,mmm --> HH:MM:SS,mmm``."""
    blocks = [
        f"{i}\n{format_timestamp(start)} --> {format_timestamp(end)}\n{text}\n"
        for i, (start, end, text) in enumerate(_cues(transcript), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    """WebVTT text: a ``WEBVTT`` header and cues ``HH:MM:SS.mmm --> HH:MM:SS.mmm``."""
    blocks = ["WEBVTT\n"] + [
        f"{format_timestamp(start, separator='.')} --> {format_timestamp(end, separator='.')}\n"
        f"{text.replace('-->', '->')}\n"
        for start, end, text in _cues(transcript)
    ]
    return "\n".join(blocks)


def to_txt(transcript: Transcript) -> str:
    """One line per segment, no times (what Whisper's ``txt`` writer gives)."""
    return "".join(f"{' '.join(text.split())}\n" for _, _, text in _cues(transcript))


def to_json_text(transcript: Transcript) -> str:
    """The transcript's JSON form (:meth:`Transcript.to_json`) on one line."""
    return json.dumps(transcript.to_json(), ensure_ascii=False) + "\n"


FORMATS: dict[str, Callable[[Transcript], str]] = {
    "srt": to_srt,
    "vtt": to_vtt,
    "txt": to_txt,
    "json": to_json_text,
}


def render(transcript: Transcript, fmt: str) -> str:
    """The transcript in one of :data:`FORMATS` (``srt``, ``vtt``, ``txt``, ``json``)."""
    writer = FORMATS.get(fmt)
    if writer is None:
        raise ValueError(f"unknown transcript format {fmt!r}; valid: {', '.join(FORMATS)}")
    return writer(transcript)


def _clean(line: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", line)).split())


def _parse_blocks(text: str, source: str, *, vtt: bool) -> tuple[Segment, ...]:
    """Cues of an SRT or WebVTT document: each block's time line and the text lines after it."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    segments: list[Segment] = []
    for number, block in enumerate(re.split(r"\n\s*\n", text), start=1):
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if vtt and lines[0].split(maxsplit=1)[0] in ("WEBVTT", "NOTE", "STYLE", "REGION"):
            continue
        at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if at is None:
            raise FormatError(f"{source}: cue {number} has no 'start --> end' line: {lines[0][:60]!r}")
        match = _CUE_TIMES.match(lines[at])
        if match is None:
            raise FormatError(f"{source}: cue {number}: malformed times {lines[at].strip()[:60]!r}")
        start, end = parse_timestamp(match.group(1)), parse_timestamp(match.group(2))
        body = " ".join(filter(None, (_clean(line) for line in lines[at + 1 :])))
        if body:
            segments.append(Segment(start, max(start, end), body))
    return tuple(segments)


def parse_srt(text: str, *, source: str = "<srt>") -> tuple[Segment, ...]:
    """Segments of a SubRip document (no words: SRT does not time them)."""
    return _parse_blocks(text, source, vtt=False)


def parse_vtt(text: str, *, source: str = "<vtt>") -> tuple[Segment, ...]:
    """Segments of a WebVTT document."""
    stripped = text.lstrip("\ufeff")
    if not stripped.startswith("WEBVTT"):
        raise FormatError(f"{source}: a WebVTT file starts with 'WEBVTT'")
    return _parse_blocks(stripped, source, vtt=True)


def parse_subtitles(text: str, *, suffix: str, source: str = "<subtitles>") -> tuple[Segment, ...]:
    """Segments of an ``.srt`` or ``.vtt`` document (``suffix`` says which)."""
    if suffix.lower() == ".vtt":
        return parse_vtt(text, source=source)
    if suffix.lower() == ".srt":
        return parse_srt(text, source=source)
    raise ValueError(f"unknown subtitle suffix {suffix!r}; valid: .srt, .vtt")
