"""TimeIT instruction data: ``[{"video": path, "QA": [{"q": ..., "a": ...}], "source": ...}]``.

Answers follow the TimeIT templates exactly (TimeChat ``utils/construct_it_data``), so a model
tuned on this data answers in the form TimeChat's evaluation parsers expect:

- dense captioning / step localisation: ``"0.5 - 3.2 seconds, sentence.  4.0 - 6.0 seconds, ..."``
  (each item ends with ``". "`` and items are joined by a space);
- temporal grounding: ``"The given query happens in 0.0 - 6.9 seconds."``;
- highlight detection: ``"There are 3 highlight moments in the 4.0, 6.0, 8.0 second. Their
  saliency scores are 2.7, 3.3, 1.7."``;
- transcription (TimeIT's transcribed speech generation, ``process_tsg_data.py``):
  ``"Transcribed speech: 0.5 - 2.1 seconds, The red car drives. 4.0 - 5.2 seconds, Stir."``.

Speech (ASR) of a video may come with an item in two forms, both read by :func:`item_asr`:

- chronolens' ``"asr"`` field (:data:`ASR_FIELD`): a list of ``{"start": s, "end": e, "text": t}``
  objects or of ``"s - e: text"`` strings (``"s - e seconds, text"`` and ``"s - es: text"`` too),
  seconds on the video's clock;
- TimeIT's own inline form: TimeChat's ``asr_data_process.py`` prefixes each question with
  ``"Transcribed speech: 0.0 - 2.5 seconds, text. ... Based on the video content and possible
  transcribed speech, "`` (``"Transcribed speech: None. ..."`` for a video without speech).
  Such questions are used as written (the speech is already in the prompt);
  :func:`split_inline_asr` reads the segments out of them.

The instructions are chronolens' own phrasings (several per task, chosen by a seeded rng);
:data:`INSTRUCTIONS` holds them by task name (:mod:`chronolens.data.formats.timeit_tasks`).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.atomic import write_json_atomic
from chronolens.data.formats.timeit_tasks import DVC, STEP, TVC, TVG, VHD
from chronolens.errors import FormatError
from chronolens.speech.base import Segment
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = [
    "ASR_FIELD",
    "DVC_INSTRUCTIONS",
    "HIGHLIGHT_INSTRUCTIONS",
    "INSTRUCTIONS",
    "STEP_INSTRUCTIONS",
    "TRANSCRIBED_SPEECH",
    "TRANSCRIPTION_INSTRUCTIONS",
    "TVG_INSTRUCTIONS",
    "dvc_answer",
    "grounding_answer",
    "highlight_answer",
    "instruction",
    "item_asr",
    "parse_asr",
    "parse_transcription_answer",
    "read_timeit",
    "split_inline_asr",
    "timeit_entry",
    "transcription_answer",
    "write_timeit",
]

ASR_FIELD = "asr"  # item key of the video's timestamped speech (chronolens' TimeIT extension)

DVC_INSTRUCTIONS = (
    "Find every event in this video. For each one, give its start and end time in seconds and "
    "describe it in one sentence.",
    "List the events that happen in the video in order, each with its start and end timestamps "
    "and a short description.",
    "Describe the video as a sequence of timed events: for each event, say when it starts and "
    "ends (in seconds) and what happens.",
)
STEP_INSTRUCTIONS = (
    "Identify the steps shown in the video. For each step, give the start and end time in "
    "seconds and name the step briefly.",
    "Break the video down into its steps, with a start and end timestamp for each and a few "
    "words saying what the step is.",
)
TVG_INSTRUCTIONS = (
    "When does the following happen in the video: <query>? Give its start and end time in seconds.",
    "Find the start and end timestamps, in seconds, of the moment the sentence <query> describes.",
    "Locate the part of the video that matches the description <query> and report when it starts "
    "and when it ends.",
)
HIGHLIGHT_INSTRUCTIONS = (
    "Watch the video and find the highlight moments that match the query <query>. List their "
    "timestamps and give each a saliency score, in the form 'There are 2 highlight moments in "
    "the 4.0, 6.0 second. Their saliency scores are 2.7, 3.3.'",
    "Which moments of the video are most relevant to <query>? Answer with the timestamps of those "
    "moments and a saliency score for each, like 'There are 2 highlight moments in the 10.0, 12.0 "
    "second. Their saliency scores are 1.7, 3.0.'",
)
TRANSCRIPTION_INSTRUCTIONS = (
    "Transcribe the speech in the video with timestamps: for each spoken segment, give its start "
    "and end time in seconds and what is said, as 'start - end seconds, transcribed speech'.",
    "Write down what is said in the video and when: every speech segment with its start and end "
    "timestamps, in the form 'start - end seconds, transcribed speech'.",
)
# The instruction templates of each task, by its TimeIT name; a query goes in at ``<query>``.
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    TVG: TVG_INSTRUCTIONS,
    VHD: HIGHLIGHT_INSTRUCTIONS,
    DVC: DVC_INSTRUCTIONS,
    STEP: STEP_INSTRUCTIONS,
    TVC: TRANSCRIPTION_INSTRUCTIONS,
}
TRANSCRIBED_SPEECH = "Transcribed speech:"  # opens TimeIT's transcription answers and inline ASR
# TimeChat's asr_data_process.py: "Transcribed speech: {asr} Based on the video content and possible
# transcribed speech, {question}"
_INLINE_ASR = re.compile(
    r"^\s*Transcribed speech:\s*(?P<asr>.*?)\s*Based on the video content and possible transcribed "
    r"speech,\s*(?P<question>.*)$",
    re.DOTALL,
)
_NUMBER = r"(\d+(?:\.\d+)?)"
# "s - e: text", "s - es: text", "s - e seconds: text", "s - e seconds, text"
_ASR_LINE = re.compile(
    rf"^\s*{_NUMBER}\s*-\s*{_NUMBER}\s*(?:s|sec|secs|seconds?)?\s*[:,]\s*(?P<text>.*\S)\s*$"
)


def instruction(templates: tuple[str, ...], rng: np.random.Generator, query: str | None = None) -> str:
    """Pick an instruction (seeded) and put the query in it, single-quoted as TimeIT does."""
    text = templates[int(rng.integers(len(templates)))]
    if query is not None:
        text = text.replace("<query>", f"'{query}'")
    return text


def dvc_answer(segments: list[tuple[float, float]], sentences: list[str]) -> str:
    """``"s - e seconds, sentence.  s - e seconds, sentence."`` (TimeIT dense-caption answer)."""
    items = [
        f"{round(float(s), 1)} - {round(float(e), 1)} seconds, {text}. "
        for (s, e), text in zip(segments, sentences, strict=True)
    ]
    return " ".join(items).rstrip()


def grounding_answer(start: float, end: float) -> str:
    """``"The given query happens in s - e seconds."`` (TimeIT temporal-grounding answer)."""
    return f"The given query happens in {round(float(start), 1)} - {round(float(end), 1)} seconds."


def highlight_answer(clip_ids: list[int], scores: list[list[int]], clip_length: float = CLIP_LENGTH) -> str:
    """TimeIT highlight answer: clip start times and the mean annotator score of each clip."""
    times = ", ".join(str(round(cid * clip_length, 1)) for cid in clip_ids)
    means = ", ".join(str(round(sum(s) / len(s), 1)) for s in scores)
    return (
        f"There are {len(clip_ids)} highlight moments in the {times} second. "
        f"Their saliency scores are {means}."
    )


def transcription_answer(segments: list[Segment] | tuple[Segment, ...]) -> str:
    """TimeIT's transcription answer: ``"Transcribed speech: s - e seconds, text. s - e seconds, ..."``.

    As TimeChat's ``process_tsg_data.py`` writes it: times to 0.1 s, each text ending with a
    period, ``"None."`` for no speech.
    """
    items = []
    for seg in segments:
        text = " ".join(seg.text.split())
        if not text:
            continue
        if not text.endswith("."):
            text += "."
        items.append(f"{seg.start:.1f} - {seg.end:.1f} seconds, {text}")
    return f"{TRANSCRIBED_SPEECH} {' '.join(items) if items else 'None.'}"


def parse_transcription_answer(text: str, *, duration: float | None = None) -> list[Segment]:
    """The timed segments of a transcription answer (TimeIT's form, or any timestamped captions).

    A leading ``"Transcribed speech:"`` is dropped; the rest is read by
    ``chronolens.timebase.text.parse_timestamped_captions`` (clamped to ``duration`` when given).
    """
    from chronolens.timebase.text import parse_timestamped_captions

    body = text.strip()
    if body.lower().startswith(TRANSCRIBED_SPEECH.lower()):
        body = body[len(TRANSCRIBED_SPEECH) :]
    return [
        Segment(span.start, span.end, caption)
        for span, caption in parse_timestamped_captions(body, duration=duration)
        if caption.strip() and caption.strip().lower() != "none."
    ]


def split_inline_asr(question: str) -> tuple[tuple[Segment, ...], str] | None:
    """TimeIT's inline ASR prefix of a question: ``(segments, the question after it)``, or None.

    ``"Transcribed speech: None. Based on ..."`` gives no segments.
    """
    match = _INLINE_ASR.match(question)
    if match is None:
        return None
    segments = parse_transcription_answer(match.group("asr"))
    return tuple(segments), match.group("question").strip()


def _asr_segment(entry: Any) -> Segment | None:
    """One ASR entry (``{start, end, text}`` or ``"s - e: text"``), or None when malformed."""
    if isinstance(entry, dict):
        start, end, text = entry.get("start"), entry.get("end"), entry.get("text")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
        if not numbers or not isinstance(text, str):
            return None
        assert isinstance(start, int | float) and isinstance(end, int | float)
        return Segment(float(start), float(end), text.strip())
    if isinstance(entry, str):
        match = _ASR_LINE.match(entry)
        if match is None:
            return None
        return Segment(float(match.group(1)), float(match.group(2)), match.group("text"))
    return None


def parse_asr(value: Any, *, where: str) -> tuple[Segment, ...]:
    """Segments of an ``"asr"`` value: a list of ``{start, end, text}`` objects or ``"s - e: text"`` strings.

    A single string of such lines (one per line) is accepted too. Segments come back sorted by time.

    Raises:
        FormatError: naming ``where`` (file and item) and the first malformed entry: not a list,
            missing or non-numeric times, negative, non-finite or reversed times, no text.
    """
    entries = value.splitlines() if isinstance(value, str) else value
    if not isinstance(entries, list):
        raise FormatError(f"{where}: '{ASR_FIELD}' must be a list of {{start, end, text}} or 's - e: text'")
    segments = []
    for k, entry in enumerate(entries):
        if isinstance(entry, str) and not entry.strip():
            continue
        segment = _asr_segment(entry)
        if segment is None:
            raise FormatError(
                f"{where}: '{ASR_FIELD}' entry {k} is not {{'start': s, 'end': e, 'text': str}} or "
                f"'s - e: text': {entry!r:.80}"
            )
        if not (math.isfinite(segment.start) and math.isfinite(segment.end)) or not (
            0 <= segment.start <= segment.end
        ):
            raise FormatError(
                f"{where}: '{ASR_FIELD}' entry {k} has times {segment.start} - {segment.end}; "
                "need 0 <= start <= end"
            )
        segments.append(segment)
    return tuple(sorted(segments, key=lambda s: (s.start, s.end)))


def item_asr(item: dict[str, Any], *, where: str) -> tuple[Segment, ...] | None:
    """The speech an item carries: its ``"asr"`` field, else the inline ASR of its first question.

    Returns:
        Segments (possibly empty: the item says there is no speech), or None when it says nothing.

    Raises:
        FormatError: a malformed ``"asr"`` field (names ``where``).
    """
    if ASR_FIELD in item and item[ASR_FIELD] is not None:
        return parse_asr(item[ASR_FIELD], where=where)
    for turn in item.get("QA", ()):
        inline = split_inline_asr(str(turn.get("q", "")))
        if inline is not None:
            return inline[0]
    return None


def timeit_entry(video: str, question: str, answer: str, source: str) -> dict[str, object]:
    """One TimeIT item with a single QA turn."""
    return {"video": video, "QA": [{"q": question.rstrip(), "a": answer.rstrip()}], "source": source}


def write_timeit(path: str | os.PathLike[str], entries: list[dict[str, object]]) -> Path:
    """Write TimeIT items atomically."""
    return write_json_atomic(path, entries)


def read_timeit(path: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Read TimeIT items, checking each has a video and a non-empty list of q/a turns.

    Raises:
        FormatError: naming the file and the first malformed item.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FormatError(f"{p}: not readable TimeIT json: {exc}") from exc
    if not isinstance(data, list):
        raise FormatError(f"{p}: TimeIT data must be a list of items")
    for i, item in enumerate(data):
        qa = item.get("QA") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("video"), str)
            or not isinstance(qa, list)
            or not qa
            or not all(
                isinstance(t, dict) and isinstance(t.get("q"), str) and isinstance(t.get("a"), str)
                for t in qa
            )
        ):
            raise FormatError(
                f"{p}: item {i}: expected {{'video': str, 'QA': [{{'q': str, 'a': str}}, ...]}}"
            )
        if item.get(ASR_FIELD) is not None:
            parse_asr(item[ASR_FIELD], where=f"{p}: item {i} ({item['video']})")
    return data
