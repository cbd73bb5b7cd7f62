"""The video's speech in TimeChat prompts: timestamped transcript lines, chosen to fit a budget.

With ``TimeChatConfig.transcript`` the prompt carries what is said in the video, between the
video (and its frame-times message) and the instruction (``build_prompt``'s ``Transcript:``
block)::

    <video>
    The video contains 16 frames sampled at 0.0, 0.5, ... seconds.
    Transcript:
    0.5 - 2.1s: The red car drives into the garage.
    4.0 - 5.2s: Stir slowly.
    When does ... ?

Each line is one segment, ``"{start:.1f} - {end:.1f}s: text"``, its times in seconds on the
video's clock (the audio's PTS, the clock of the frames' timestamps), rounded to 0.1 s as the
frame-times message is. TimeChat's ``evaluate.py --asr`` reads at most 15 pre-made Whisper lines
into its prompts; here the limit is ``transcript_max_lines`` (default 15) and the lines kept are
spread evenly over the whole video, first and last included (indices
``round(linspace(0, n - 1, k))``), rather than TimeChat's ``range(1, n, n // 15)`` stride, which
skips the first line and can keep up to 29. The block must also fit
``TimeChatConfig.transcript_token_budget`` LLM tokens: the number of lines is lowered (still
spread evenly) until it does, so truncation never cuts a line in half; a block whose single
line does not fit is left out. A video without speech gives no block at all, so its prompt is
byte-identical to a prompt built without transcripts.

At inference the transcript of a video file comes from chronolens' own transcript JSON beside
it (``VIDEO.transcript.json``, what ``chronolens transcribe --format json`` writes) or, failing
that, its subtitle sidecar (``VIDEO.srt`` / ``VIDEO.vtt``, :func:`chronolens.speech.find_subtitles`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.speech.base import Segment, Transcript

if TYPE_CHECKING:
    from chronolens.models.timechat.config import TimeChatConfig

__all__ = [
    "TRANSCRIPT_JSON_SUFFIX",
    "config_transcript_text",
    "find_transcript",
    "select_lines",
    "transcript_line",
    "transcript_text",
    "video_transcript",
]

logger = logging.getLogger(__name__)

TRANSCRIPT_JSON_SUFFIX = (
    ".transcript.json"  # chronolens' transcript JSON beside a video: clip.transcript.json
)


def transcript_line(segment: Segment) -> str:
    """One prompt line: ``"0.5 - 2.1s: The red car drives."`` (seconds rounded to 0.1, text on one line)."""
    text = " ".join(segment.text.split())
    return f"{segment.start:.1f} - {segment.end:.1f}s: {text}"


def select_lines(n: int, k: int) -> list[int]:
    """Indices of ``k`` of ``n`` lines spread evenly, first and last included (all when ``k >= n``).

    >>> select_lines(10, 4)
    [0, 3, 6, 9]
    """
    if k >= n:
        return list(range(n))
    if k <= 0:
        return []
    if k == 1:
        return [0]
    return sorted({int(i) for i in np.linspace(0, n - 1, k).round()})


def transcript_text(
    segments: Sequence[Segment] | Transcript | None,
    *,
    max_lines: int,
    max_tokens: int | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> str | None:
    """The transcript block's lines for a prompt, or None when there is nothing to say.

    Args:
        segments: the video's speech (segments with text; empty ones are skipped), in any order.
        max_lines: most lines (evenly spread, see the module docstring).
        max_tokens: most tokens of the block (``count_tokens`` of the joined lines); None = no limit.
        count_tokens: counts a text's tokens (the LLM tokenizer); None counts whitespace words.

    Returns:
        Lines joined by newlines, in time order; None for no speech or when not one line fits.
    """
    if segments is None:
        return None
    items = segments.segments if isinstance(segments, Transcript) else segments
    lines = [transcript_line(s) for s in sorted(items, key=lambda s: (s.start, s.end)) if s.text.strip()]
    if not lines:
        return None
    count = count_tokens or (lambda text: len(text.split()))
    k = min(max_lines, len(lines))
    while k > 0:
        text = "\n".join(lines[i] for i in select_lines(len(lines), k))
        if max_tokens is None or count(text) <= max_tokens:
            if k < len(lines):
                logger.debug("transcript: %d of %d lines kept", k, len(lines))
            return text
        k -= 1
    logger.warning("transcript left out: not one line fits %s tokens", max_tokens)
    return None


def config_transcript_text(
    segments: Sequence[Segment] | Transcript | None, config: TimeChatConfig, tokenizer: Any = None
) -> str | None:
    """:func:`transcript_text` under a config's limits (None when ``config.transcript`` is off).

    Args:
        segments: the video's speech.
        config: gives ``transcript``, ``transcript_max_lines`` and ``transcript_token_budget``.
        tokenizer: the LLM tokenizer that counts the budget; None counts whitespace words.
    """
    if not config.transcript:
        return None
    count = None
    if tokenizer is not None:

        def count(text: str) -> int:
            return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return transcript_text(
        segments,
        max_lines=config.transcript_max_lines,
        max_tokens=config.transcript_token_budget,
        count_tokens=count,
    )


def find_transcript(video: str | os.PathLike[str]) -> Path | None:
    """The transcript file beside a video: ``VIDEO.transcript.json``, else its ``.srt`` / ``.vtt``."""
    from chronolens.speech.transcribe import find_subtitles

    path = Path(video)
    own = path.with_name(path.stem + TRANSCRIPT_JSON_SUFFIX)
    if own.is_file():
        return own
    return find_subtitles(path)


def video_transcript(video: str | os.PathLike[str]) -> Transcript | None:
    """The transcript beside a video (:func:`find_transcript`), or None when there is none.

    Raises:
        FormatError: the file exists but is not a transcript (names the file).
    """
    from chronolens.speech.transcribe import read_subtitles

    found = find_transcript(video)
    if found is None:
        return None
    if not found.name.endswith(TRANSCRIPT_JSON_SUFFIX):
        return read_subtitles(found)
    try:
        data = json.loads(found.read_text(encoding="utf-8"))
        return Transcript.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{found}: not a chronolens transcript JSON: {exc}") from exc
