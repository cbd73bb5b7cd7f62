"""TimeIT instruction data: ``[{"video": path, "QA": [{"q": ..., "a": ...}], "source": ...}]``.

Answers follow the TimeIT templates exactly (TimeChat ``utils/construct_it_data``), so a model
tuned on this data answers in the form TimeChat's evaluation parsers expect:

- dense captioning / step localisation: ``"0.5 - 3.2 seconds, sentence.  4.0 - 6.0 seconds, ..."``
  (each item ends with ``". "`` and items are joined by a space);
- temporal grounding: ``"The given query happens in 0.0 - 6.9 seconds."``;
- highlight detection: ``"There are 3 highlight moments in the 4.0, 6.0, 8.0 second. Their
  saliency scores are 2.7, 3.3, 1.7."``.

The instructions are chronolens' own phrasings (several per task, chosen by a seeded rng);
:data:`INSTRUCTIONS` holds them by task name (:mod:`chronolens.data.formats.timeit_tasks`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from chronolens.atomic import write_json_atomic
from chronolens.data.formats.timeit_tasks import DVC, STEP, TVG, VHD
from chronolens.errors import FormatError
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = [
    "DVC_INSTRUCTIONS",
    "HIGHLIGHT_INSTRUCTIONS",
    "INSTRUCTIONS",
    "STEP_INSTRUCTIONS",
    "TVG_INSTRUCTIONS",
    "dvc_answer",
    "grounding_answer",
    "highlight_answer",
    "instruction",
    "read_timeit",
    "timeit_entry",
    "write_timeit",
]

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
# The instruction templates of each task, by its TimeIT name; a query goes in at ``<query>``.
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    TVG: TVG_INSTRUCTIONS,
    VHD: HIGHLIGHT_INSTRUCTIONS,
    DVC: DVC_INSTRUCTIONS,
    STEP: STEP_INSTRUCTIONS,
}


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
    return data
