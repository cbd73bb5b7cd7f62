"""TimeChat as a moment finder: a query in, a :class:`~chronolens.tasks.results.GroundingResult` out.

The answer to a TimeIT grounding instruction is read by :func:`chronolens.timebase.text.parse_span`,
clamped to ``[0, duration]`` and optionally snapped to the sampled frames' times. An answer with
no span gives an empty result flagged ``parsed=False`` with the raw text kept — never a made-up
span.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from chronolens.models.timechat.features import VideoFeatures
from chronolens.tasks.answer.instructions import grounding_instruction
from chronolens.tasks.answer.results import GroundingAnswer
from chronolens.tasks.answer.session import TimeChatSession, get_session
from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment, clamp_span
from chronolens.timebase.grid import CLIP_LENGTH, saliency_from_span
from chronolens.timebase.intervals import snap_span
from chronolens.timebase.text import check_parser, parse_span

__all__ = ["TimeChatGrounder"]


class TimeChatGrounder:
    """TimeChat as a grounder: a query in, a :class:`GroundingResult` out (one window, score 1).

    Args:
        checkpoint: a TimeChat checkpoint directory (or pass ``session``).
        session: an existing session to share its loaded model and cached videos.
        parser: ``"default"`` or ``"timechat"`` (``format_tvg.py`` parity).
        snap: move the span's ends to the nearest sampled-frame times.
        clip_length: seconds per saliency clip of the result.
        max_new_tokens: cap on generated tokens per answer.
        device: torch device (with ``checkpoint``).
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        session: TimeChatSession | None = None,
        parser: str = "default",
        snap: bool = False,
        clip_length: float = CLIP_LENGTH,
        max_new_tokens: int = 64,
        device: str | None = None,
    ) -> None:
        check_parser(parser)
        if not clip_length > 0:
            raise ValueError(f"clip_length: must be > 0, got {clip_length}")
        if session is None:
            if checkpoint is None:
                raise ValueError("TimeChatGrounder needs a checkpoint or a session")
            session = get_session(checkpoint, device=device)
        self.session = session
        self.parser = parser
        self.snap = snap
        self.clip_length = clip_length
        self.max_new_tokens = max_new_tokens

    def read_answer(self, text: str, video: VideoFeatures) -> GroundingAnswer:
        """Turn one answer about ``video`` into a :class:`GroundingAnswer` (no generation)."""
        span = parse_span(text, duration=video.duration, parser=self.parser)
        if span is None:
            empty = GroundingResult(
                windows=(), saliency=(), clip_length=self.clip_length, duration=video.duration
            )
            return GroundingAnswer(text=text, parsed=False, result=empty)
        span = clamp_span(span.start, span.end, video.duration)  # the timechat parser does not clamp
        if self.snap:
            snapped = snap_span(span, video.timestamps)
            span = clamp_span(snapped.start, snapped.end, video.duration)
        result = GroundingResult(
            windows=(Moment(span.start, span.end, 1.0),),
            saliency=saliency_from_span(span, video.duration, self.clip_length),
            clip_length=self.clip_length,
            duration=video.duration,
        )
        return GroundingAnswer(text=text, parsed=True, result=result)

    def answer_many(self, video: str | os.PathLike[str], queries: Sequence[str]) -> list[GroundingAnswer]:
        """Ground several queries in one video (one sampling, batched generation)."""
        sampled = self.session.sample(video)
        texts = self.session.generate(
            sampled, [grounding_instruction(q) for q in queries], max_new_tokens=self.max_new_tokens
        )
        return [self.read_answer(t, sampled) for t in texts]

    def answer(self, video: str | os.PathLike[str], query: str) -> GroundingAnswer:
        """Ground ``query`` in ``video``, keeping the model's answer and whether it parsed."""
        (out,) = self.answer_many(video, [query])
        return out

    def ground(self, video: str | os.PathLike[str], query: str) -> GroundingResult:
        """Where ``query`` happens in ``video``; no windows when the answer states no span."""
        return self.answer(video, query).result
