"""tasks/answer: a video language model answers in words with timestamps.

The TimeChat-family session (one loaded checkpoint, cached per path) captions a video with timed
events, answers a free question, and grounds a query as a moment finder. The text it writes is
turned into spans by :mod:`chronolens.timebase.text`.

- ``session``: :class:`TimeChatSession` (sampling, feature cache, generation), :func:`get_session`,
  and the one-call :func:`caption` / :func:`ask` of the public API;
- ``grounder``: :class:`TimeChatGrounder`, the model behind a ``GroundingResult``;
- ``results``: :class:`TimedCaptions`, :class:`VideoAnswer`, :class:`GroundingAnswer`;
- ``choices``: multiple choice (:class:`ChoiceAnswer`): candidates scored by likelihood, or
  listed and the generated answer parsed (:func:`parse_choice`); a CLIP-style
  :func:`encoder_choice` for encoder-only models;
- ``instructions``: the TimeIT instructions each task is asked with;
- ``diagnosis``: :func:`empty_answer_note`, why an answer came back empty (what the model wrote,
  what the checkpoint's run records about its training), and :func:`training_record`.

A sampled video is a :class:`~chronolens.models.timechat.features.VideoFeatures` (the type the
training recipe caches too).
"""

from chronolens.models.timechat.features import VideoFeatures
from chronolens.tasks.answer.choices import (
    CHOICE_METHODS,
    ChoiceAnswer,
    encoder_choice,
    parse_choice,
    parse_choices_text,
)
from chronolens.tasks.answer.diagnosis import TrainingRecord, empty_answer_note, training_record
from chronolens.tasks.answer.grounder import TimeChatGrounder
from chronolens.tasks.answer.instructions import (
    caption_instruction,
    grounding_instruction,
    highlight_instruction,
)
from chronolens.tasks.answer.results import GroundingAnswer, TimedCaptions, VideoAnswer
from chronolens.tasks.answer.session import (
    DEFAULT_MAX_NEW_TOKENS,
    GenerateFn,
    TimeChatSession,
    ask,
    caption,
    choose,
    get_session,
)

__all__ = [
    "CHOICE_METHODS",
    "DEFAULT_MAX_NEW_TOKENS",
    "ChoiceAnswer",
    "GenerateFn",
    "GroundingAnswer",
    "TimeChatGrounder",
    "TimeChatSession",
    "TimedCaptions",
    "TrainingRecord",
    "VideoAnswer",
    "VideoFeatures",
    "ask",
    "caption",
    "caption_instruction",
    "choose",
    "empty_answer_note",
    "encoder_choice",
    "get_session",
    "grounding_instruction",
    "highlight_instruction",
    "parse_choice",
    "parse_choices_text",
    "training_record",
]
