"""Video LLM inference with TimeChat: timestamped captions, questions, and grounding from free text.

A trained TimeChat checkpoint (``chronolens train timechat``; ``models.timechat.save_timechat``)
is loaded once; each video is sampled uniformly (``config.n_frames`` frames with their real
PTS timestamps), its frames go through the frozen image tower once, and every question asked
about that video reuses those features. Generation is greedy.

- :func:`caption` — dense captions: the model's answer to a TimeIT dense-captioning instruction,
  read into ``[(Span, caption), ...]`` by :func:`chronolens.timebase.text.parse_timestamped_captions`.
- :func:`ask` — any question, answered in free text (optionally with timestamped transcript
  lines in the prompt, as TimeChat does with ASR).
- :class:`TimeChatGrounder` — the model as a grounder behind
  :class:`~chronolens.tasks.results.GroundingResult`: the answer to a TimeIT grounding
  instruction is read by :func:`chronolens.timebase.text.parse_span`, clamped to ``[0, duration]`` and
  optionally snapped to the sampled frames' times. An answer with no span gives an empty result
  flagged ``parsed=False`` with the raw text kept — never a made-up span.

Text generation sits behind one boundary (:data:`GenerateFn`), so the parsing, clamping and
bookkeeping can be driven by any generator (tests inject a stub there).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.data.formats.timeit import DVC_INSTRUCTIONS, HIGHLIGHT_INSTRUCTIONS, TVG_INSTRUCTIONS
from chronolens.errors import ChronolensError
from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment, Span, clamp_span
from chronolens.timebase.grid import CLIP_LENGTH, saliency_from_span
from chronolens.timebase.intervals import snap_span
from chronolens.timebase.text import (
    check_parser,
    parse_span,
    parse_timestamped_captions,
)

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "GenerateFn",
    "GroundingAnswer",
    "SampledVideo",
    "TimeChatGrounder",
    "TimeChatSession",
    "TimedCaptions",
    "ask",
    "caption",
    "caption_instruction",
    "get_session",
    "grounding_instruction",
    "highlight_instruction",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 256  # greedy decoding stops at EOS or after this many new tokens
VIDEO_CACHE_SIZE = 8  # sampled videos (features + timestamps) kept per session
SESSION_CACHE_SIZE = 2  # loaded checkpoints kept by the module-level caption()/ask()

# (video, instructions, transcript) -> one answer per instruction, in order.
GenerateFn = Callable[["SampledVideo", Sequence[str], "str | None"], list[str]]


# ---------------------------------------------------------------------------------------------
# Instructions (TimeIT phrasings: the model answers in the form it was tuned on)
# ---------------------------------------------------------------------------------------------


def caption_instruction() -> str:
    """The TimeIT dense-captioning instruction asked by :func:`caption`."""
    return DVC_INSTRUCTIONS[0]


def grounding_instruction(query: str) -> str:
    """The TimeIT temporal-grounding instruction for ``query`` (single-quoted, as TimeIT does)."""
    return TVG_INSTRUCTIONS[0].replace("<query>", f"'{query}'")


def highlight_instruction(query: str) -> str:
    """The TimeIT highlight-detection instruction for ``query``."""
    return HIGHLIGHT_INSTRUCTIONS[0].replace("<query>", f"'{query}'")


# ---------------------------------------------------------------------------------------------
# Spans and saliency from answers
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SampledVideo:
    """One video as the model sees it: uniformly sampled frames' features and their real times."""

    path: str  # the video file
    features: np.ndarray  # (T, P, Dv) float32 patch features of the frozen image tower
    timestamps: np.ndarray  # (T,) float64 seconds, from the decoder's PTS
    duration: float  # seconds


@dataclass(frozen=True, kw_only=True)
class TimedCaptions:
    """A dense-captioning answer: the events read from it, and the text they were read from."""

    events: tuple[tuple[Span, str], ...]  # (span in seconds, caption) in the order written
    text: str  # the model's raw answer
    duration: float  # seconds

    def to_json(self) -> dict[str, Any]:
        """``{"duration", "text", "events": [{"timestamp": [s, e], "caption"}]}``."""
        return {
            "duration": self.duration,
            "text": self.text,
            "events": [{"timestamp": [s.start, s.end], "caption": c} for s, c in self.events],
        }


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


# ---------------------------------------------------------------------------------------------
# The session: one loaded checkpoint, sampled videos cached
# ---------------------------------------------------------------------------------------------


def _video_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def _check_video(video: str | os.PathLike[str]) -> Path:
    path = Path(video).expanduser().resolve()
    if not path.is_file():
        raise ChronolensError(f"no such video file: {path}")
    return path


def _check_checkpoint(checkpoint: str | os.PathLike[str]) -> Path:
    path = Path(checkpoint).expanduser().resolve()
    if not path.is_dir():
        raise ChronolensError(
            f"no TimeChat checkpoint directory at {path} (train one with 'chronolens train timechat')"
        )
    return path


class TimeChatSession:
    """A loaded TimeChat checkpoint answering questions about videos; each video is sampled once.

    Args:
        checkpoint: a directory written by ``save_timechat`` (config + trained weights); loaded
            on first use.
        model: an already loaded model instead of ``checkpoint`` (e.g. right after training).
        device: torch device for the model and the image tower (default: what ``load_timechat``
            picks; with ``model``: the model's).
        max_new_tokens: default cap on generated tokens per answer.
        generate_fn: replaces the model's text generation (the model is still used for its
            config: frames sampled, image tower); used to test everything around generation.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        model: TimeChat | None = None,
        device: str | None = None,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        generate_fn: GenerateFn | None = None,
    ) -> None:
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens: must be >= 1, got {max_new_tokens}")
        if (checkpoint is None) == (model is None):
            raise ValueError("TimeChatSession needs exactly one of checkpoint and model")
        self.checkpoint = _check_checkpoint(checkpoint) if checkpoint is not None else None
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.generate_fn = generate_fn
        self._model: TimeChat | None = model
        if model is not None:
            model.eval()
        self._features: Any = None  # FrameFeatures, built on first use
        self._videos: OrderedDict[tuple[str, int, int], SampledVideo] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def model(self) -> TimeChat:
        """The loaded model (loaded on first use)."""
        if self._model is None:
            from chronolens.models.timechat.weights import load_timechat

            assert self.checkpoint is not None  # __init__ requires one of checkpoint and model

            logger.info("loading TimeChat from %s", self.checkpoint)
            model = load_timechat(self.checkpoint, device=self.device)
            model.eval()
            self._model = model
        return self._model

    @property
    def name(self) -> str:
        """The checkpoint directory's name (``"model"`` for an in-memory model)."""
        return self.checkpoint.name if self.checkpoint is not None else "model"

    @property
    def n_frames(self) -> int:
        """Frames sampled per video (the checkpoint's ``config.n_frames``)."""
        return int(self.model.config.n_frames)

    def sample(self, video: str | os.PathLike[str]) -> SampledVideo:
        """Sample ``video`` and compute its frame features, or return them from the cache.

        Raises:
            ChronolensError: the file does not exist. DecodeError: it cannot be decoded.
        """
        path = _check_video(video)
        key = _video_key(path)
        with self._lock:
            cached = self._videos.get(key)
            if cached is not None:
                self._videos.move_to_end(key)
                return cached
        from chronolens.models.timechat.features import FrameFeatures, sample_video

        model = self.model
        frames, timestamps, duration = sample_video(path, self.n_frames)
        if self._features is None:
            # The tower runs where the model runs (FrameFeatures alone would pick CUDA if present).
            device = self.device or str(next(model.parameters()).device)
            self._features = FrameFeatures(model.config.image_encoder, device=device)
        features = np.asarray(self._features(frames), dtype=np.float32)  # (T, P, Dv)
        sampled = SampledVideo(
            path=str(path),
            features=features,
            timestamps=np.asarray(timestamps, dtype=np.float64),
            duration=float(duration),
        )
        logger.debug("%s: %d frames sampled over %.2f s", path, len(sampled.timestamps), sampled.duration)
        with self._lock:
            self._videos[key] = sampled
            while len(self._videos) > VIDEO_CACHE_SIZE:
                self._videos.popitem(last=False)
        return sampled

    def generate(
        self,
        video: str | os.PathLike[str] | SampledVideo,
        instructions: Sequence[str],
        *,
        transcript: str | Sequence[str] | None = None,
        max_new_tokens: int | None = None,
        batch_size: int = 8,
    ) -> list[str]:
        """Greedy answers to several instructions about one video (batched, features shared).

        Args:
            video: a video file, or an already sampled video.
            instructions: one instruction (question) per answer.
            transcript: timestamped transcript lines put in every prompt (a string or lines).
            max_new_tokens: cap on generated tokens (default: the session's).
            batch_size: prompts generated together.

        Returns:
            One answer per instruction, stripped.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
        sampled = video if isinstance(video, SampledVideo) else self.sample(video)
        text = _transcript_text(transcript)
        limit = max_new_tokens or self.max_new_tokens
        answers: list[str] = []
        for i in range(0, len(instructions), batch_size):
            chunk = list(instructions[i : i + batch_size])
            if self.generate_fn is not None:
                out = list(self.generate_fn(sampled, chunk, text))
            else:
                out = self._generate(sampled, chunk, text, limit)
            if len(out) != len(chunk):
                raise RuntimeError(f"generation returned {len(out)} answers for {len(chunk)} prompts")
            answers.extend(a.strip() for a in out)
        return answers

    def _generate(
        self, video: SampledVideo, instructions: list[str], transcript: str | None, limit: int
    ) -> list[str]:
        import torch

        from chronolens.models.timechat.prompting import build_prompt

        model = self.model
        device = next(model.parameters()).device
        b = len(instructions)
        features = torch.from_numpy(video.features).to(device)  # (T, P, Dv)
        features = features.unsqueeze(0).expand(b, *features.shape)  # (B, T, P, Dv)
        timestamps = torch.from_numpy(video.timestamps).to(device=device, dtype=torch.float32)
        timestamps = timestamps.unsqueeze(0).expand(b, -1)  # (B, T)
        mask = torch.ones(timestamps.shape, dtype=torch.bool, device=device)  # (B, T)
        prompts = [build_prompt(q, transcript) for q in instructions]
        return list(model.generate(features, timestamps, mask, prompts, max_new_tokens=limit))

    def caption(
        self,
        video: str | os.PathLike[str],
        *,
        instruction: str | None = None,
        parser: str = "default",
        max_new_tokens: int | None = None,
    ) -> TimedCaptions:
        """Describe ``video`` as timed events (the answer and the events read from it)."""
        check_parser(parser)
        sampled = self.sample(video)
        (text,) = self.generate(
            sampled, [instruction or caption_instruction()], max_new_tokens=max_new_tokens
        )
        events = [
            (_clamp(span, sampled.duration), c)
            for span, c in parse_timestamped_captions(text, duration=sampled.duration, parser=parser)
        ]
        if not events:
            logger.info("%s: no timestamped events in the answer %r", sampled.path, text[:200])
        return TimedCaptions(events=tuple(events), text=text, duration=sampled.duration)

    def ask(
        self,
        video: str | os.PathLike[str] | SampledVideo,
        question: str,
        *,
        transcript: str | Sequence[str] | None = None,
        max_new_tokens: int | None = None,
    ) -> str:
        """The model's free-text answer to ``question`` about ``video`` (a file or a sampled video)."""
        if not question.strip():
            raise ChronolensError("the question is empty")
        (text,) = self.generate(video, [question], transcript=transcript, max_new_tokens=max_new_tokens)
        return text


def _clamp(span: Span, duration: float) -> Span:
    return clamp_span(span.start, span.end, duration)


def _transcript_text(transcript: str | Sequence[str] | None) -> str | None:
    if transcript is None:
        return None
    text = transcript if isinstance(transcript, str) else "\n".join(line.rstrip() for line in transcript)
    return text.strip() or None


_SESSIONS: OrderedDict[tuple[str, str | None, tuple[tuple[str, int], ...]], TimeChatSession] = OrderedDict()
_SESSIONS_LOCK = threading.Lock()


def _checkpoint_stamp(path: Path) -> tuple[tuple[str, int], ...]:
    """Names and modification times of the checkpoint's files: a rewritten checkpoint is reloaded."""
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file()))


def get_session(checkpoint: str | os.PathLike[str], *, device: str | None = None) -> TimeChatSession:
    """A cached :class:`TimeChatSession` for ``checkpoint`` (reloaded when its files change)."""
    path = _check_checkpoint(checkpoint)
    key = (str(path), device, _checkpoint_stamp(path))
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = TimeChatSession(path, device=device)
            _SESSIONS[key] = session
            while len(_SESSIONS) > SESSION_CACHE_SIZE:
                _SESSIONS.popitem(last=False)
        else:
            _SESSIONS.move_to_end(key)
        return session


def caption(
    video: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    parser: str = "default",
    instruction: str | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
) -> list[tuple[Span, str]]:
    """Dense captions of ``video``: ``[(Span, caption), ...]`` in the order the model wrote them.

    Args:
        video: a video file.
        checkpoint: a TimeChat checkpoint directory.
        parser: answer parser, ``"default"`` or ``"timechat"`` (:mod:`chronolens.timebase.text`).
        instruction: what to ask (default: the TimeIT dense-captioning instruction).
        max_new_tokens: cap on generated tokens.
        device: torch device.

    Returns:
        Events with spans clamped to ``[0, duration]``; empty when the answer has no timestamps.
    """
    session = get_session(checkpoint, device=device)
    result = session.caption(video, instruction=instruction, parser=parser, max_new_tokens=max_new_tokens)
    return list(result.events)


def ask(
    video: str | os.PathLike[str],
    question: str,
    *,
    checkpoint: str | os.PathLike[str],
    transcript: str | Sequence[str] | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
) -> str:
    """Answer ``question`` about ``video`` in free text.

    Args:
        video: a video file.
        question: the question.
        checkpoint: a TimeChat checkpoint directory.
        transcript: timestamped transcript (ASR) lines given to the model with the question.
        max_new_tokens: cap on generated tokens.
        device: torch device.
    """
    session = get_session(checkpoint, device=device)
    return session.ask(video, question, transcript=transcript, max_new_tokens=max_new_tokens)


# ---------------------------------------------------------------------------------------------
# Grounding
# ---------------------------------------------------------------------------------------------


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

    def read_answer(self, text: str, video: SampledVideo) -> GroundingAnswer:
        """Turn one answer about ``video`` into a :class:`GroundingAnswer` (no generation)."""
        span = parse_span(text, duration=video.duration, parser=self.parser)
        if span is None:
            empty = GroundingResult(
                windows=(), saliency=(), clip_length=self.clip_length, duration=video.duration
            )
            return GroundingAnswer(text=text, parsed=False, result=empty)
        span = _clamp(span, video.duration)  # the timechat parser does not clamp
        if self.snap:
            span = _clamp(snap_span(span, video.timestamps), video.duration)
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
