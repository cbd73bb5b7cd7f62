"""Free-text model answers -> time spans and timestamped captions.

A video LLM answers "when does X happen?" with text such as ``"It happens from 3.2 to 5
seconds."`` and describes a video as ``"0.0 - 12.5 seconds, cut the onion. 12.5 - 30.0 seconds,
..."``. This module turns such text into :class:`~chronolens.timebase.Span` objects.

Two parsers are available, chosen by name:

- ``"default"``: chronolens' parser. It understands ranges anywhere in a sentence
  (``"3.2 - 5"``, ``"3.2s-5s"``, ``"from 3.2 to 5 seconds"``, ``"between 3 and 5.5s"``), en/em
  dashes and ``~``, clock times (``"00:05–00:12"``, ``"1:02:03"``), minutes
  (``"from 1 to 2 minutes"``), ``"starts at 3 ... ends at 5"``, and percentages of the video when
  the duration is known. Reversed pairs are swapped, spans are clamped to ``[0, duration]`` when
  the duration is known, and nothing parsed means ``None`` / ``[]`` (never a made-up span).
- ``"timechat"``: the answer parsing of TimeChat (RenShuhuai-Andy/TimeChat,
  ``utils/format_tvg.py`` for spans and ``utils/format_dvc.py`` for timestamped captions),
  reproduced rule for rule so that published Charades-STA / YouCook2 numbers can be recomputed.
  Its quirks are kept on purpose: the first ``"a - b"`` anywhere wins (even a date), no clock
  times or percentages, ``"12.5s"`` reads as 12 in the keyword fallback, the duration is ignored.
  Where the reference script crashes (``"1..2 - 3"`` fails its ``float()``) or stops in a
  debugger (``"start time 3, end time 5"`` in ``format_dvc.py``), this parser returns no span
  or reads the pair as written, respectively.

Highlight answers in TimeIT's form (``"There are 2 highlight moments in the 4.0, 6.0 second.
Their saliency scores are 2.7, 3.3."``) are read by :func:`parse_highlight_answer` and turned
into per-clip saliency by :func:`highlight_saliency`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from chronolens.timebase.grid import CLIP_LENGTH, n_whole_clips
from chronolens.timebase.span import Span, clamp_span

__all__ = [
    "PARSERS",
    "check_parser",
    "highlight_saliency",
    "parse_highlight_answer",
    "parse_span",
    "parse_timestamped_captions",
]

logger = logging.getLogger(__name__)

PARSERS = ("default", "timechat")

# ---------------------------------------------------------------------------------------------
# TimeChat-compatible parsing (format_tvg.py / format_dvc.py semantics)
# ---------------------------------------------------------------------------------------------

# "a - b" where a number may contain any run of dots (format_tvg/format_dvc's pattern).
_TC_DASH_PAIR = re.compile(r"(\d+\.*\d*)\s*-\s*(\d+\.*\d*)")
_TC_DASH_TEXT = re.compile(r"\d+\.*\d*\s*-\s*\d+\.*\d*")
# Keyword fallback of format_tvg: sentences (split on ! ? newline) mentioning one of these.
_TC_KEYWORDS = ("starts", "ends", "happens in", "start time", "end time", "start", "end", "happen")
_TC_SENTENCE_SPLIT = re.compile(r"[!?\n]")
_TC_FIRST_NUMBER = re.compile(r"\b(\d+\.\d+\b|\b\d+)\b")
# format_dvc's block format: "start time: 105 seconds ... end time: 109 seconds".
_TC_START_TIME = re.compile(r"(?:start(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)", re.DOTALL | re.IGNORECASE)
_TC_END_TIME = re.compile(r"(?:end(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)", re.DOTALL | re.IGNORECASE)
_TC_DESCRIPTION = re.compile(r"description: (.*)")
_TC_BULLET = re.compile(r"\*\s*(.*)")
_TC_START_END_INLINE = re.compile(r"start time (\d+\.*\d*), end time (\d+\.*\d*)")
# format_dvc's per-sentence fallback.
_TC_CLOCK_PAIR = re.compile(r"\d+\.*\d*:\d+\.*\d*")
_TC_BARE_NUMBER = re.compile(r"\d+\.*\d*(?!\.)")
TIMECHAT_DVC_RADIUS = 20  # seconds: a single time t in format_dvc becomes [t - 20, t + 20] (or [t, t + 40])
TIMECHAT_MIN_CAPTION_CHARS = 5  # format_dvc keeps caption pieces longer than this (before stripping)
TIMECHAT_MIN_SENTENCE_CHARS = 7  # format_dvc's sentence fallback keeps pieces longer than this


def _finite_span(start: float, end: float) -> Span | None:
    """An ordered span, or None when a bound is not finite (a 400-digit "number")."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return None
    return Span(min(start, end), max(start, end))


def _timechat_pairs_tvg(text: str) -> list[tuple[float, float]]:
    """All candidate (start, end) pairs as format_tvg's ``extract_time`` builds them, in order."""
    paragraph = text.lower()
    pairs = [(float(a), float(b)) for a, b in _TC_DASH_PAIR.findall(paragraph)]
    if pairs:
        return pairs
    candidates = [s for s in _TC_SENTENCE_SPLIT.split(paragraph) if any(k in s for k in _TC_KEYWORDS)]
    times: list[float] = []
    for sentence in candidates:
        found = _TC_FIRST_NUMBER.findall(sentence)
        if found:
            times.append(float(found[0]))
    # Its third rule (hh:mm:ss in keyword sentences) can never add a pair: every such sentence
    # already yielded a number above, so it only runs when at most one time was found.
    return [(times[i], times[i + 1]) for i in range(0, len(times) // 2 * 2, 2)]


def _timechat_span(text: str) -> Span | None:
    try:
        pairs = _timechat_pairs_tvg(text)
    except ValueError:  # "1..2 - 3": the reference's float() raises; we report no span
        return None
    if not pairs:
        return None
    return _finite_span(*pairs[0])


def _timechat_time_part(time_part: str) -> list[str]:
    """format_dvc's ``extract_time_part``: a time range (as "a - b" text) from one sentence."""
    radius = TIMECHAT_DVC_RADIUS
    found = _TC_DASH_TEXT.findall(time_part)
    if not found:
        colons = time_part.count(":")
        if colons == 1:
            minutes, seconds = _TC_CLOCK_PAIR.findall(time_part)[0].split(":")[:2]
            t = int(minutes) * 60 + int(seconds)
            found = [f"{t - radius} - {t + radius}"] if t > radius else [f"{t} - {t + 2 * radius}"]
        elif colons == 2:
            start, end = _TC_CLOCK_PAIR.findall(time_part)
            s0, s1 = start.split(":")[:2]
            e0, e1 = end.split(":")[:2]
            found = [f"{int(s0) * 60 + int(s1)} - {int(e0) * 60 + int(e1)}"]
    if not found:
        found = _TC_BARE_NUMBER.findall(time_part)
        if len(found) == 1:
            t_f = float(found[0])
            found = [f"{t_f - radius} - {t_f + radius}"] if t_f > radius else [f"{t_f} - {t_f + 2 * radius}"]
        elif len(found) == 2:
            found = [f"{found[0]} - {found[1]}"]
    return found


def _timechat_dvc_paragraph(text: str) -> tuple[list[tuple[float, float]], list[str]]:
    """format_dvc's ``extract_time_from_para``: pairs and captions, truncated to equal length."""
    paragraph = text.lower()
    stamps: list[tuple[float, float]] = []
    captions: list[str] = []
    pairs = _TC_DASH_PAIR.findall(paragraph)
    if pairs:
        stamps = [(float(a), float(b)) for a, b in pairs]
        rest = paragraph
        for piece in _TC_DASH_TEXT.findall(paragraph):
            rest = rest.replace(piece, "\n")
        captions = rest.replace("seconds", "").split("\n")
    if not stamps:
        starts = _TC_START_TIME.findall(paragraph)
        ends = _TC_END_TIME.findall(paragraph)
        if starts and ends:
            stamps = [(float(a), float(b)) for a, b in zip(starts, ends, strict=False)]
            captions = _TC_DESCRIPTION.findall(paragraph) or _TC_BULLET.findall(paragraph)
    if not stamps:
        inline = _TC_START_END_INLINE.findall(paragraph)
        if inline:
            # The reference stops in pdb here; continuing from it, it keeps the pairs as written.
            stamps = [(float(a), float(b)) for a, b in inline]
            for a, b in inline:
                paragraph = paragraph.replace(f"start time {a}, end time {b}", "\n")
            captions = paragraph.split("\n")
    captions = [c.strip().strip(", ").rstrip() for c in captions if len(c) > TIMECHAT_MIN_CAPTION_CHARS]
    n = min(len(stamps), len(captions))
    return stamps[:n], captions[:n]


def _timechat_dvc_sentences(text: str) -> tuple[list[tuple[float, float]], list[str]]:
    """format_dvc's second pass over single sentences; it stops at the first one that parses."""
    if "\n" in text:
        pieces = [c for c in text.split("\n") if len(c) > TIMECHAT_MIN_SENTENCE_CHARS]
    else:
        pieces = [c + "." for c in text.split(".") if len(c) > TIMECHAT_MIN_SENTENCE_CHARS]
    for piece in pieces:
        parts = [p.strip(",") for p in piece.split("seconds")]
        try:
            found = _timechat_time_part(parts[0])
            if not found:
                continue
            bounds = found[0].split("-")
            start = round(float(bounds[0].strip()), 2)
            end = round(float(bounds[1].strip()), 2)
        except (ValueError, IndexError):  # the reference swallows every error and moves on
            continue
        return [(start, end)], [parts[-1].strip()]
    return [], []


def _timechat_captions(text: str) -> list[tuple[Span, str]]:
    try:
        stamps, captions = _timechat_dvc_paragraph(text)
    except ValueError:  # "1..2 - 3": the reference's float() raises; we report nothing parsed
        return []
    if not stamps:
        stamps, captions = _timechat_dvc_sentences(text)
    out: list[tuple[Span, str]] = []
    for (start, end), caption in zip(stamps, captions, strict=True):
        span = _finite_span(start, end)
        if span is not None:
            out.append((span, caption))
    return out


# ---------------------------------------------------------------------------------------------
# chronolens' default parser
# ---------------------------------------------------------------------------------------------

SECONDS_PER_MINUTE = 60.0
_NUM = r"\d+(?:\.\d+)?"
_CLOCK = r"(?:\d+:)?\d{1,2}:\d{2}(?:\.\d+)?"
_UNIT = r"(?:seconds?|secs?|s|minutes?|mins?|%)"
_DASHES = r"(?:-|–|—|−|~)"


def _time_group(name: str, *, after_separator: bool = False) -> str:
    """A named regex group for one time value followed by an optional named unit group.

    The value may not be part of a longer number, a date (``2023-01-05``) or an identifier
    (``v2``); the second value of a range may follow its separator directly (``3s-5s``).
    """
    behind = r"(?<![\w.:])" if after_separator else r"(?<![\w.:\-])"
    ahead = r"(?![\w:%]|\.\d|-\d)" if after_separator else r"(?![\w:%]|\.\d)"
    return rf"{behind}(?P<{name}>{_CLOCK}|{_NUM})(?:\s*(?P<{name}_unit>{_UNIT}))?{ahead}"


_SEPARATOR = rf"(?:{_DASHES}|\bto\b|\buntil\b|\btill\b|\bthrough\b)"
_RANGE = re.compile(
    rf"(?:between\s+{_time_group('a1')}\s+and\s+{_time_group('b1', after_separator=True)})"
    rf"|(?:{_time_group('a2')}\s*{_SEPARATOR}\s*{_time_group('b2', after_separator=True)})",
    re.IGNORECASE,
)
_START_END = re.compile(
    rf"\bstart(?:s|ing|ed)?\b(?:\s+time)?[^\d\n]{{0,30}}?{_time_group('a3')}"
    rf"[^\d]{{0,80}}?\bend(?:s|ing|ed)?\b(?:\s+time)?[^\d\n]{{0,30}}?{_time_group('b3')}",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Found:
    """One range found in the text: its character extent and its bounds in seconds."""

    begin: int  # character offset of the match
    stop: int  # character offset just past the match
    start: float  # seconds
    end: float  # seconds


def _to_seconds(value: str, unit: str | None, duration: float | None) -> float | None:
    """Seconds for one time value; None for a percentage when the duration is unknown."""
    if ":" in value:
        parts = [float(p) for p in value.split(":")]
        seconds = 0.0
        for part in parts:
            seconds = seconds * SECONDS_PER_MINUTE + part
        return seconds
    number = float(value)
    unit = (unit or "").lower()
    if unit == "%":
        return None if duration is None else number / 100.0 * duration
    if unit.startswith("m"):
        return number * SECONDS_PER_MINUTE
    return number


def _range_from_match(match: re.Match[str], a: str, b: str, duration: float | None) -> _Found | None:
    unit_a, unit_b = match.group(f"{a}_unit"), match.group(f"{b}_unit")
    # "from 1 to 2 minutes": a unit written only after the end applies to both ends.
    if unit_a is None and unit_b is not None and ":" not in match.group(a):
        unit_a = unit_b
    start = _to_seconds(match.group(a), unit_a, duration)
    end = _to_seconds(match.group(b), unit_b, duration)
    if start is None or end is None or not (math.isfinite(start) and math.isfinite(end)):
        return None
    return _Found(match.start(), match.end(), start, end)


def _find_ranges(text: str, duration: float | None) -> list[_Found]:
    """Every range in ``text``, ordered by position; explicit ranges win over overlapping start/end forms."""
    found: list[_Found] = []
    for match in _RANGE.finditer(text):
        names = ("a1", "b1") if match.group("a1") is not None else ("a2", "b2")
        item = _range_from_match(match, *names, duration)
        if item is not None:
            found.append(item)
    for match in _START_END.finditer(text):
        item = _range_from_match(match, "a3", "b3", duration)
        if item is not None and not any(f.begin < item.stop and item.begin < f.stop for f in found):
            found.append(item)
    return sorted(found, key=lambda f: f.begin)


def _make_span(start: float, end: float, duration: float | None) -> Span:
    if duration is not None:
        return clamp_span(start, end, duration)
    return Span(min(start, end), max(start, end))


def _default_span(text: str, duration: float | None) -> Span | None:
    ranges = _find_ranges(text, duration)
    if not ranges:
        return None
    return _make_span(ranges[0].start, ranges[0].end, duration)


_ENUMERATOR = re.compile(r"^\s*(?:[-*•]+|\(?\d{1,3}[.)](?!\d)|step\s+\d+\s*[:.])\s*", re.IGNORECASE)
_LABEL = re.compile(r"^\s*(?:description|caption|event|action)\s*:\s*", re.IGNORECASE)
_LEADING_UNIT = re.compile(r"^\s*(?:seconds?|secs?|s)\b\s*", re.IGNORECASE)
_EDGE_JUNK = " \t,:;-–—()[]"
_TRAILING_CONNECTOR = re.compile(r"\b(?:from|between|at|in|during)\s*$", re.IGNORECASE)


def _clean_caption_line(line: str) -> str:
    """Strip bullets, labels, a leading unit and punctuation from one caption fragment."""
    previous = None
    while previous != line:
        previous = line
        line = _LEADING_UNIT.sub("", line)
        line = _ENUMERATOR.sub("", line)
        line = _LABEL.sub("", line)
        line = _TRAILING_CONNECTOR.sub("", line)
        line = line.strip(_EDGE_JUNK)
    return line


def _first_caption(segment: str) -> str:
    for line in segment.split("\n"):
        cleaned = _clean_caption_line(line)
        if cleaned:
            return cleaned
    return ""


def _last_caption(segment: str) -> str:
    for line in reversed(segment.split("\n")):
        cleaned = _clean_caption_line(line)
        if cleaned:
            return cleaned
    return ""


def _default_captions(text: str, duration: float | None) -> list[tuple[Span, str]]:
    ranges = _find_ranges(text, duration)
    if not ranges:
        return []
    bounds = [0, *(f.begin for f in ranges[1:]), len(text)]
    after = [_first_caption(text[f.stop : bounds[i + 1]]) for i, f in enumerate(ranges)]
    previous_stops = [0, *(f.stop for f in ranges[:-1])]
    before = [_last_caption(text[previous_stops[i] : f.begin]) for i, f in enumerate(ranges)]
    # Layout: "0 - 5s, caption" (text after each time) or "caption (0 - 5s)" (text before it).
    use_before = sum(bool(c) for c in before[1:]) > sum(bool(c) for c in after[:-1]) or (
        not after[-1] and bool(before[0])
    )
    captions = before if use_before else after
    return [(_make_span(f.start, f.end, duration), c) for f, c in zip(ranges, captions, strict=True)]


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def check_parser(parser: str) -> None:
    """Raise ``ValueError`` naming the choices when ``parser`` is not one of ``PARSERS``."""
    if parser not in PARSERS:
        raise ValueError(f"parser: unknown parser {parser!r}; choose one of {', '.join(PARSERS)}")


def _check(parser: str, duration: float | None) -> None:
    check_parser(parser)
    if duration is not None and not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration: must be a finite number >= 0, got {duration!r}")


def parse_span(text: str, *, duration: float | None = None, parser: str = "default") -> Span | None:
    """Read the time span a model answer states, e.g. ``"from 3.2 to 5 seconds"`` -> ``Span(3.2, 5.0)``.

    Args:
        text: the model's free-text answer.
        duration: video duration in seconds; when given, the default parser clamps the span to
            ``[0, duration]`` and reads percentages of the video. The timechat parser ignores it.
        parser: ``"default"`` (chronolens) or ``"timechat"`` (TimeChat ``format_tvg.py`` parity).

    Returns:
        The first span stated in the answer (reversed pairs swapped), or None when there is none.
    """
    _check(parser, duration)
    if parser == "timechat":
        return _timechat_span(text)
    return _default_span(text, duration)


def parse_timestamped_captions(
    text: str, *, duration: float | None = None, parser: str = "default"
) -> list[tuple[Span, str]]:
    """Read the events of a dense-captioning answer: ``[(Span, caption), ...]`` in the order written.

    Args:
        text: the model's free-text answer, e.g. ``"0 - 5.5 seconds, cut the onion. 5.5 - 9
            seconds, fry it."``.
        duration: video duration in seconds; when given, the default parser clamps spans to
            ``[0, duration]``. The timechat parser ignores it.
        parser: ``"default"`` (chronolens) or ``"timechat"`` (TimeChat ``format_dvc.py`` parity,
            which lower-cases captions and may pair a preamble line with the first span, as the
            reference does).

    Returns:
        One ``(span, caption)`` per event; an empty list when nothing parses.
    """
    _check(parser, duration)
    if parser == "timechat":
        return _timechat_captions(text)
    return _default_captions(text, duration)


# ---------------------------------------------------------------------------------------------
# Highlight answers (TimeIT form)
# ---------------------------------------------------------------------------------------------

_HL_COUNT = re.compile(r"there are (\d+) highlight moments?", re.IGNORECASE)
_HL_SCORE = re.compile(r"score", re.IGNORECASE)
_HL_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w]|\.\d)")


def parse_highlight_answer(text: str) -> list[tuple[float, float]]:
    """Read a TimeIT highlight answer into ``[(time in seconds, saliency score), ...]``.

    The answer lists clip times, then their scores: ``"There are 2 highlight moments in the 4.0,
    6.0 second. Their saliency scores are 2.7, 3.3."``. Times are the numbers before the first
    ``"score"``, scores the numbers after it; the stated count (when present) caps both. A time
    without a score gets 0 (as TimeChat's ``format_vhd.py`` pads); scores without times are
    dropped.

    Returns:
        The pairs in the order written; an empty list when no time is found.
    """
    body = text
    count: int | None = None
    found = _HL_COUNT.search(body)
    if found:
        count = int(found.group(1))
        body = body[: found.start()] + body[found.end() :]
    split = _HL_SCORE.search(body)
    head, tail = (body[: split.start()], body[split.end() :]) if split else (body, "")
    times = [float(x) for x in _HL_NUMBER.findall(head)]
    scores = [float(x) for x in _HL_NUMBER.findall(tail)]
    if count is not None:
        times, scores = times[:count], scores[:count]
    times = [t for t in times if math.isfinite(t)]
    scores = scores[: len(times)] + [0.0] * max(0, len(times) - len(scores))
    return list(zip(times, scores, strict=True))


def highlight_saliency(
    pairs: Sequence[tuple[float, float]], duration: float, clip_length: float = CLIP_LENGTH
) -> list[float]:
    """Per-clip saliency from ``(time, score)`` pairs: the mean score of the pairs in each clip.

    A time ``t`` falls in clip ``floor(t / L)`` (TimeIT answers name clips by their start time);
    times outside ``[0, duration]`` are dropped, clips with no pair score 0. The video has
    ``int(duration / L)`` clips, as the QVHighlights evaluator counts them (at least one).
    """
    n = n_whole_clips(duration, clip_length)
    total = np.zeros(n, dtype=np.float64)
    count = np.zeros(n, dtype=np.float64)
    for t, score in pairs:
        if not (0 <= t <= duration):
            continue
        i = min(int(t / clip_length + 1e-9), n - 1)
        total[i] += score
        count[i] += 1
    return [float(v) for v in np.where(count > 0, total / np.maximum(count, 1), 0.0)]
