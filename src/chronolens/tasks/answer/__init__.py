"""tasks/answer: a video language model answers in words with timestamps.

The TimeChat-family session (one loaded checkpoint, cached per path) captions a video with timed
events, answers a free question, and grounds a query as a moment finder. The text it writes is
turned into spans by :mod:`chronolens.timebase.text`.
"""

from chronolens.tasks.answer.timechat import (
    GroundingAnswer,
    SampledVideo,
    TimeChatGrounder,
    TimeChatSession,
    TimedCaptions,
    ask,
    caption,
    get_session,
)

__all__ = [
    "GroundingAnswer",
    "SampledVideo",
    "TimeChatGrounder",
    "TimeChatSession",
    "TimedCaptions",
    "ask",
    "caption",
    "get_session",
]
