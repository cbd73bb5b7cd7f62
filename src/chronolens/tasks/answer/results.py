"""What a video language model's answers become: timed captions, a grounded span, an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Span

__all__ = ["GroundingAnswer", "TimedCaptions", "VideoAnswer"]


@dataclass(frozen=True, kw_only=True)
class TimedCaptions:
    """A dense-captioning answer: the events read from it, and the text they were read from."""

    events: tuple[tuple[Span, str], ...]  # (span in seconds, caption) in the order written
    text: str  # the model's raw answer
    duration: float  # seconds
    # why there are no events (``diagnosis.empty_answer_note``); None when there are some
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"duration", "text", "events": [{"timestamp": [s, e], "caption"}]}``, plus ``"note"`` if any."""
        out: dict[str, Any] = {
            "duration": self.duration,
            "text": self.text,
            "events": [{"timestamp": [s.start, s.end], "caption": c} for s, c in self.events],
        }
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True, kw_only=True)
class VideoAnswer:
    """A free-text answer to a question about a video, with the video's duration."""

    question: str
    text: str  # the model's answer, stripped
    duration: float  # seconds, as sampled
    # why the answer is empty (``diagnosis.empty_answer_note``); None when it is not
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"question", "answer", "duration"}``, plus ``"note"`` when the answer is empty."""
        out: dict[str, Any] = {"question": self.question, "answer": self.text, "duration": self.duration}
        if self.note is not None:
            out["note"] = self.note
        return out


@dataclass(frozen=True, kw_only=True)
class GroundingAnswer:
    """The model's answer to a grounding query and the result read from it.

    ``parsed`` is False when the answer states no span: then ``result`` has no windows and no
    saliency, and ``text`` says what the model answered instead.
    """

    text: str  # the model's raw answer
    parsed: bool  # a span was read from the text
    result: GroundingResult  # empty when not parsed

    def to_json(self) -> dict[str, Any]:
        """The result's JSON plus ``"answer"`` and ``"parsed"``."""
        return {"answer": self.text, "parsed": self.parsed, **self.result.to_json()}
