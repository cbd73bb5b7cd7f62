"""Synthetic speech in TimeIT form: the ``"asr"`` field, transcription and spoken-moment items.

:func:`render_speech_timeit` renders videos whose audio speaks known sentences at known times
(:func:`chronolens.data.synth.speech.render_speech_video`, espeak-ng) and writes a TimeIT json
(``annotations/timeit_<split>.json``) with, per video:

- a transcription item (TimeIT's transcribed speech generation, source ``synth_tvc``): a
  transcription instruction, and the timestamped transcript as the answer
  (:func:`chronolens.data.formats.timeit.transcription_answer`);
- one grounding item per sentence (source ``synth_tvg``): "when is '<sentence>' said?", the
  sentence's voiced span as the answer (:func:`chronolens.data.formats.timeit.grounding_answer`);

every item carrying the video's speech in chronolens' ``"asr"`` field (:func:`asr_field`), so
``model.transcript = true`` puts it in the grounding prompts. The true times are the voiced
samples' (``SpokenSentence.start`` / ``end``), on the video's clock.

To give the main synthetic generator's items an ``"asr"`` field, set
``item[ASR_FIELD] = asr_field(truth)`` with the ``SpokenSentence`` list its renderer returns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chronolens.data.formats.timeit import (
    ASR_FIELD,
    TRANSCRIPTION_INSTRUCTIONS,
    TVG_INSTRUCTIONS,
    grounding_answer,
    instruction,
    timeit_entry,
    transcription_answer,
    write_timeit,
)
from chronolens.data.synth.speech import SpokenSentence, render_speech_video
from chronolens.speech.base import Segment

__all__ = ["TRANSCRIPTION_SOURCE", "asr_field", "render_speech_timeit", "speech_items"]

TRANSCRIPTION_SOURCE = "synth_tvc"  # source of the transcription items (timeit_tasks.task_of -> tvc)
SPOKEN_GROUNDING_SOURCE = "synth_tvg"  # source of the spoken-moment grounding items (-> tvg)
_DIGITS = 3  # decimals of the times in the "asr" field (milliseconds)


def _segments(truth: Sequence[SpokenSentence]) -> list[Segment]:
    return [Segment(s.start, s.end, s.text) for s in sorted(truth, key=lambda s: s.start)]


def asr_field(truth: Sequence[SpokenSentence]) -> list[dict[str, float | str]]:
    """The ``"asr"`` value of an item: ``[{"start": s, "end": e, "text": t}, ...]`` in time order (ms)."""
    return [
        {"start": round(s.start, _DIGITS), "end": round(s.end, _DIGITS), "text": s.text}
        for s in _segments(truth)
    ]


def speech_items(
    video: str, truth: Sequence[SpokenSentence], rng: np.random.Generator
) -> list[dict[str, object]]:
    """The TimeIT items of one speech video: a transcription item, then one grounding item per sentence."""
    segments = _segments(truth)
    asr = asr_field(truth)
    items = [
        timeit_entry(
            video,
            instruction(TRANSCRIPTION_INSTRUCTIONS, rng),
            transcription_answer(segments),
            TRANSCRIPTION_SOURCE,
        )
    ]
    for seg in segments:
        spoken = seg.text.strip().rstrip(".")
        query = f"someone says {spoken[:1].lower()}{spoken[1:]}"
        items.append(
            timeit_entry(
                video,
                instruction(TVG_INSTRUCTIONS, rng, query),
                grounding_answer(seg.start, seg.end),
                SPOKEN_GROUNDING_SOURCE,
            )
        )
    for item in items:
        item[ASR_FIELD] = asr
    return items


def render_speech_timeit(
    out_dir: str | os.PathLike[str],
    videos: Sequence[Sequence[tuple[float, str] | tuple[float, str, str, int]]],
    *,
    duration: float,
    split: str = "train",
    seed: int = 0,
    fps: float = 5,
) -> Path:
    """Render speech videos under ``out_dir/videos`` and write ``out_dir/annotations/timeit_<split>.json``.

    Args:
        out_dir: dataset root (video paths in the json are relative to it).
        videos: per video, its sentences as :func:`render_speech_video` takes them.
        duration: seconds of each video.
        split: the json's split name.
        seed: seeds the instruction phrasings.
        fps: frame rate of the (plain) frames.

    Returns:
        The json file written.

    Raises:
        EspeakMissingError: espeak-ng is not installed.
    """
    root = Path(out_dir)
    (root / "videos").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items: list[dict[str, object]] = []
    for k, sentences in enumerate(videos):
        name = f"videos/speech-{split}-{k:03d}.mp4"
        truth = render_speech_video(root / name, sentences, duration=duration, fps=fps)
        items += speech_items(name, truth, rng)
    return write_timeit(root / "annotations" / f"timeit_{split}.json", items)
