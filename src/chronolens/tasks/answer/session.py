"""A TimeChat session: one loaded checkpoint answering about videos, each video sampled once.

A trained TimeChat checkpoint (``chronolens train timechat``; ``models.timechat.save_timechat``)
is loaded once; each video is sampled uniformly (``config.n_frames`` frames with their real
PTS timestamps), its frames go through the frozen image tower once, and every question asked
about that video reuses those features (:class:`~chronolens.models.timechat.features.VideoFeatures`).
Generation is greedy.

- :func:`caption` — dense captions: the model's answer to a TimeIT dense-captioning instruction,
  read into ``[(Span, caption), ...]`` by :func:`chronolens.timebase.text.parse_timestamped_captions`.
- :func:`ask` — any question, answered in free text (optionally with timestamped transcript
  lines in the prompt, as TimeChat does with ASR).
- :func:`choose` — a multiple-choice question: each candidate scored by its likelihood, or the
  candidates listed and the generated answer parsed (:mod:`chronolens.tasks.answer.choices`).

Text generation sits behind one boundary (:data:`GenerateFn`), so the parsing, clamping and
bookkeeping can be driven by any generator (tests inject a stub there). Sessions are cached per
checkpoint by :func:`get_session` (what :func:`caption` and :func:`ask` use).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from chronolens.errors import ChronolensError
from chronolens.models.timechat.features import VideoFeatures
from chronolens.tasks.answer.choices import (
    CHOICE_METHODS,
    ChoiceAnswer,
    check_choices,
    choice_prompt,
    parse_choice,
    score_candidates,
)
from chronolens.tasks.answer.diagnosis import empty_answer_note
from chronolens.tasks.answer.instructions import caption_instruction
from chronolens.tasks.answer.results import TimedCaptions, VideoAnswer
from chronolens.timebase import Span, clamp_span
from chronolens.timebase.text import check_parser, parse_timestamped_captions

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat

__all__ = [
    "DEFAULT_MAX_NEW_TOKENS",
    "GenerateFn",
    "TimeChatSession",
    "ask",
    "caption",
    "choose",
    "get_session",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 256  # greedy decoding stops at EOS or after this many new tokens
VIDEO_CACHE_SIZE = 8  # sampled videos (features + timestamps) kept per session
SESSION_CACHE_SIZE = 2  # loaded checkpoints kept by the module-level caption()/ask()

# (video, instructions, transcript) -> one answer per instruction, in order.
GenerateFn = Callable[[VideoFeatures, Sequence[str], "str | None"], list[str]]


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
        self._videos: OrderedDict[tuple[str, int, int], VideoFeatures] = OrderedDict()
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

    def sample(self, video: str | os.PathLike[str]) -> VideoFeatures:
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
        from chronolens.models.timechat.features import FrameFeatures, encode_video

        model = self.model
        if self._features is None:
            # The tower runs where the model runs (FrameFeatures alone would pick CUDA if present).
            device = self.device or str(next(model.parameters()).device)
            self._features = FrameFeatures(model.config.image_encoder, device=device)
        sampled = encode_video(path, self.n_frames, self._features)
        logger.debug("%s: %d frames sampled over %.2f s", path, len(sampled.timestamps), sampled.duration)
        with self._lock:
            self._videos[key] = sampled
            while len(self._videos) > VIDEO_CACHE_SIZE:
                self._videos.popitem(last=False)
        return sampled

    def generate(
        self,
        video: str | os.PathLike[str] | VideoFeatures,
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
        sampled = video if isinstance(video, VideoFeatures) else self.sample(video)
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
        self, video: VideoFeatures, instructions: list[str], transcript: str | None, limit: int
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
            (clamp_span(span.start, span.end, sampled.duration), c)
            for span, c in parse_timestamped_captions(text, duration=sampled.duration, parser=parser)
        ]
        note = None
        if not events:
            logger.info("%s: no timestamped events in the answer %r", sampled.path, text[:200])
            note = empty_answer_note(text, kind="caption", checkpoint=self.checkpoint)
        return TimedCaptions(events=tuple(events), text=text, duration=sampled.duration, note=note)

    def ask(
        self,
        video: str | os.PathLike[str] | VideoFeatures,
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

    def choose(
        self,
        video: str | os.PathLike[str] | VideoFeatures,
        question: str,
        candidates: Sequence[str],
        *,
        method: str = "likelihood",
        transcript: str | Sequence[str] | None = None,
        max_new_tokens: int | None = None,
    ) -> ChoiceAnswer:
        """Pick one of ``candidates`` (methods in :mod:`chronolens.tasks.answer.choices`).

        Args:
            video: a video file or a sampled video.
            question: the question.
            candidates: two or more candidate answers.
            method: ``"likelihood"`` (score each candidate; never unparsed) or ``"generate"``
                (list them, generate, parse the answer; ``choice`` None when it names none).
            transcript: timestamped transcript lines for the prompt.
            max_new_tokens: cap on generated tokens (``generate``).

        Raises:
            ChronolensError: an empty question, fewer than two or repeated candidates, an
                unknown method.
        """
        if not question.strip():
            raise ChronolensError("the question is empty")
        if method not in CHOICE_METHODS:
            raise ChronolensError(
                f"unknown multiple-choice method {method!r}; choose from {', '.join(CHOICE_METHODS)}"
            )
        options = check_choices(candidates)
        sampled = video if isinstance(video, VideoFeatures) else self.sample(video)
        text = _transcript_text(transcript)
        if method == "generate":
            (answer,) = self.generate(
                sampled, [choice_prompt(question, options)], transcript=text, max_new_tokens=max_new_tokens
            )
            choice = parse_choice(answer, options)
            if choice is None:
                logger.info("%s: no single candidate in the answer %r", sampled.path, answer[:200])
            return ChoiceAnswer(
                question=question, candidates=tuple(options), choice=choice, method=method, text=answer,
                duration=sampled.duration,
            )  # fmt: skip
        scores = score_candidates(self.model, sampled, question, options, transcript=text)
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))  # ties: the first candidate
        return ChoiceAnswer(
            question=question, candidates=tuple(options), choice=best, scores=tuple(scores), method=method,
            duration=sampled.duration,
        )  # fmt: skip


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


@overload
def caption(
    video: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    parser: str = ...,
    instruction: str | None = ...,
    max_new_tokens: int | None = ...,
    device: str | None = ...,
    details: Literal[False] = ...,
) -> list[tuple[Span, str]]: ...


@overload
def caption(
    video: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    parser: str = ...,
    instruction: str | None = ...,
    max_new_tokens: int | None = ...,
    device: str | None = ...,
    details: Literal[True],
) -> TimedCaptions: ...


def caption(
    video: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str],
    parser: str = "default",
    instruction: str | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
    details: bool = False,
) -> list[tuple[Span, str]] | TimedCaptions:
    """Dense captions of ``video``: ``[(Span, caption), ...]`` in the order the model wrote them.

    Args:
        video: a video file.
        checkpoint: a TimeChat checkpoint directory.
        parser: answer parser, ``"default"`` or ``"timechat"`` (:mod:`chronolens.timebase.text`).
        instruction: what to ask (default: the TimeIT dense-captioning instruction).
        max_new_tokens: cap on generated tokens.
        device: torch device.
        details: return the whole :class:`TimedCaptions` (events, the raw answer, the duration,
            and a ``note`` saying why when no events were read).

    Returns:
        Events with spans clamped to ``[0, duration]``; empty when the answer has no timestamps.
    """
    session = get_session(checkpoint, device=device)
    result = session.caption(video, instruction=instruction, parser=parser, max_new_tokens=max_new_tokens)
    return result if details else list(result.events)


@overload
def ask(
    video: str | os.PathLike[str],
    question: str,
    *,
    checkpoint: str | os.PathLike[str],
    transcript: str | Sequence[str] | None = ...,
    max_new_tokens: int | None = ...,
    device: str | None = ...,
    details: Literal[False] = ...,
) -> str: ...


@overload
def ask(
    video: str | os.PathLike[str],
    question: str,
    *,
    checkpoint: str | os.PathLike[str],
    transcript: str | Sequence[str] | None = ...,
    max_new_tokens: int | None = ...,
    device: str | None = ...,
    details: Literal[True],
) -> VideoAnswer: ...


def ask(
    video: str | os.PathLike[str],
    question: str,
    *,
    checkpoint: str | os.PathLike[str],
    transcript: str | Sequence[str] | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
    details: bool = False,
) -> str | VideoAnswer:
    """Answer ``question`` about ``video`` in free text.

    Args:
        video: a video file.
        question: the question.
        checkpoint: a TimeChat checkpoint directory.
        transcript: timestamped transcript (ASR) lines given to the model with the question.
        max_new_tokens: cap on generated tokens.
        device: torch device.
        details: return a :class:`VideoAnswer` (the question, the answer, the video's duration,
            and a ``note`` saying why when the answer is empty).

    Raises:
        ChronolensError: no checkpoint there, no such video, an empty question (with ``details``
            the video is checked first, as ``chronolens ask`` always has).
    """
    session = get_session(checkpoint, device=device)
    if not details:
        return session.ask(video, question, transcript=transcript, max_new_tokens=max_new_tokens)
    sampled = session.sample(video)
    text = session.ask(sampled, question, transcript=transcript, max_new_tokens=max_new_tokens)
    note = empty_answer_note(text, kind="ask", checkpoint=session.checkpoint)
    return VideoAnswer(question=question, text=text, duration=sampled.duration, note=note)


def choose(
    video: str | os.PathLike[str],
    question: str,
    candidates: Sequence[str],
    *,
    checkpoint: str | os.PathLike[str],
    method: str = "likelihood",
    transcript: str | Sequence[str] | None = None,
    max_new_tokens: int | None = None,
    device: str | None = None,
) -> ChoiceAnswer:
    """Answer a multiple-choice question about ``video`` with a TimeChat checkpoint.

    Args:
        video: a video file.
        question: the question.
        candidates: two or more candidate answers.
        checkpoint: a TimeChat checkpoint directory.
        method: ``"likelihood"`` (default) or ``"generate"`` (see :mod:`chronolens.tasks.answer.choices`).
        transcript: timestamped transcript lines given with the question.
        max_new_tokens: cap on generated tokens (``generate``).
        device: torch device.

    Returns:
        The chosen candidate (``choice`` None when a generated answer names none), with the
        per-candidate scores of the likelihood method.
    """
    session = get_session(checkpoint, device=device)
    return session.choose(
        video, question, candidates, method=method, transcript=transcript, max_new_tokens=max_new_tokens
    )
