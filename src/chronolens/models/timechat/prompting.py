"""TimeChat prompts: the template, tokenisation with answer-only labels, and padding-aware collation.

A prompt holds exactly one ``<video>`` placeholder; the model replaces that one token by the
video tokens of the sliding video Q-Former (``TimeChat.splice_video``). Text is laid out as

    <bos> prompt-tokens (with one <video>) answer-tokens <eos>

With ``TimeChatConfig.frame_times_prompt`` the placeholder is followed by TimeChat's message naming
the sampled frames' times (``frame_times_text``), as TimeChat's ``load_video`` message follows
``</Video>`` in its training and inference prompts. ``encode_text`` inserts it from the frames'
timestamps at encoding time, so a temporal crop states the crop's times.

Only ``answer-tokens <eos>`` carry labels: the prompt, the placeholder (later the video tokens)
and padding are ``-100``, as in TimeChat's instruction tuning (which masks the
``[INST] ... [/INST]`` part of every turn).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from chronolens.models.timechat.tokenizer import VIDEO_TOKEN
from chronolens.models.token_batches import right_pad

if TYPE_CHECKING:
    from chronolens.models.timechat.config import TimeChatConfig

__all__ = [
    "IGNORE_INDEX",
    "VIDEO_PLACEHOLDER",
    "TimeChatBatch",
    "TimeChatSample",
    "build_prompt",
    "collate",
    "encode_text",
    "frame_times_text",
    "pad_frames",
    "pad_token_id",
    "video_token_id",
]

logger = logging.getLogger(__name__)

VIDEO_PLACEHOLDER = VIDEO_TOKEN  # where the video tokens go in a prompt
IGNORE_INDEX = -100  # label of positions without loss (torch cross_entropy's default ignore_index)


def frame_times_text(timestamps: Sequence[float] | np.ndarray) -> str:
    """TimeChat's message naming the sampled frames' times, rounded to 0.1 s as TimeChat does.

    >>> frame_times_text([0.0, 1.25, 12.5])
    'The video contains 3 frames sampled at 0.0, 1.2, 12.5 seconds.'
    """
    times = ", ".join(f"{float(t):.1f}" for t in timestamps)
    return f"The video contains {len(timestamps)} frames sampled at {times} seconds."


def build_prompt(instruction: str, transcript: str | None = None) -> str:
    """The prompt for one question about a video.

    Args:
        instruction: the task instruction or question (e.g. a TimeIT template filled in).
        transcript: optional speech transcript, typically timestamped ASR lines
            (``"0.0 - 2.5s: hello"``), placed between the video and the instruction.

    Returns:
        ``"<video>\\n[Transcript:\\n...\\n]{instruction}\\n"``; exactly one placeholder.
    """
    if VIDEO_PLACEHOLDER in instruction or (transcript and VIDEO_PLACEHOLDER in transcript):
        raise ValueError(f"instruction and transcript must not contain {VIDEO_PLACEHOLDER!r}")
    parts = [VIDEO_PLACEHOLDER]
    if transcript and transcript.strip():
        parts.append(f"Transcript:\n{transcript.strip()}")
    parts.append(instruction.strip())
    return "\n".join(parts) + "\n"


@dataclass(frozen=True)
class TimeChatSample:
    """One training / evaluation example: sampled frames' patch features and the text."""

    features: np.ndarray  # (T, P, Dv) float32 patch features of the sampled frames
    timestamps: np.ndarray  # (T,) float64 seconds of each sampled frame (from PTS)
    prompt: str  # from build_prompt: one <video> placeholder
    answer: str | None  # target text; None at inference
    video: str  # video path or id
    duration: float  # video duration in seconds
    transcript: str | None = None  # the transcript lines in ``prompt`` (None = no speech in the prompt)


@dataclass
class TimeChatBatch:
    """A padded batch. Frames are padded at the end (``frame_mask`` False), text on the right."""

    features: torch.Tensor  # (B, T, P, Dv) float32
    timestamps: torch.Tensor  # (B, T) float32 seconds
    frame_mask: torch.Tensor  # (B, T) bool, True = a real frame
    input_ids: torch.Tensor  # (B, L) long, one video id per row
    attention_mask: torch.Tensor  # (B, L) long, 1 = a real token
    labels: torch.Tensor  # (B, L) long, IGNORE_INDEX except answer tokens and eos

    def to(self, device: torch.device | str) -> TimeChatBatch:
        """The same batch on ``device``."""
        return TimeChatBatch(
            features=self.features.to(device),
            timestamps=self.timestamps.to(device),
            frame_mask=self.frame_mask.to(device),
            input_ids=self.input_ids.to(device),
            attention_mask=self.attention_mask.to(device),
            labels=self.labels.to(device),
        )

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])


def video_token_id(tokenizer: Any) -> int:
    """The id of ``<video>`` in ``tokenizer``.

    Raises:
        ValueError: the tokenizer has no such special token (``TimeChat.build`` adds it).
    """
    token_id = tokenizer.convert_tokens_to_ids(VIDEO_PLACEHOLDER)
    if token_id is None or token_id == tokenizer.unk_token_id:
        raise ValueError(f"tokenizer has no {VIDEO_PLACEHOLDER!r} token; build the model with TimeChat.build")
    return int(token_id)


def pad_token_id(tokenizer: Any) -> int:
    """The padding id: the tokenizer's pad token, else its eos token."""
    for token_id in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if token_id is not None:
            return int(token_id)
    raise ValueError("tokenizer has neither a pad nor an eos token")


def encode_text(
    tokenizer: Any,
    prompt: str,
    answer: str | None,
    *,
    max_tokens: int,
    frame_times: Sequence[float] | np.ndarray | None = None,
) -> tuple[list[int], list[int]]:
    """Token ids and labels of ``<bos> prompt answer <eos>`` (no answer: ``<bos> prompt`` only).

    Over-long samples keep the answer (at least up to half of ``max_tokens``, its eos always) and
    lose the middle of the prompt (e.g. a long transcript), keeping its start up to the
    placeholder (and the frame-times message) and its end (the instruction); the answer is cut
    only beyond that.

    Args:
        tokenizer: the LLM tokenizer (holds ``<video>``).
        prompt: text with exactly one ``<video>``.
        answer: target text, or None.
        max_tokens: most ids returned.
        frame_times: the sampled frames' seconds: ``frame_times_text`` of them goes on its own
            line right after the placeholder. None: no message.

    Returns:
        ``(ids, labels)`` of equal length; labels are ``IGNORE_INDEX`` except answer tokens + eos.

    Raises:
        ValueError: the prompt does not hold exactly one placeholder, or ``max_tokens`` is too small.
    """
    video_id = video_token_id(tokenizer)
    bos = [int(tokenizer.bos_token_id)] if tokenizer.bos_token_id is not None else []
    head_text = ""  # the prompt's start that truncation keeps: up to the placeholder or the message
    if frame_times is not None and prompt.count(VIDEO_PLACEHOLDER) == 1:
        at = prompt.index(VIDEO_PLACEHOLDER) + len(VIDEO_PLACEHOLDER)
        head_text = prompt[:at] + "\n" + frame_times_text(frame_times)
        prompt = head_text + prompt[at:]
    prompt_ids = bos + list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    if prompt_ids.count(video_id) != 1:
        raise ValueError(f"a prompt must hold exactly one {VIDEO_PLACEHOLDER!r}, got: {prompt[:80]!r}")
    answer_ids: list[int] = []
    if answer is not None:
        if tokenizer.eos_token_id is None:
            raise ValueError("tokenizer has no eos token to end answers")
        answer_ids = [*tokenizer(answer, add_special_tokens=False)["input_ids"], int(tokenizer.eos_token_id)]
    video_at = prompt_ids.index(video_id)
    head = video_at + 1  # tokens up to and including the placeholder always stay ...
    if head_text:  # ... and the frame-times message after it
        head_ids = bos + list(tokenizer(head_text, add_special_tokens=False)["input_ids"])
        if prompt_ids[: len(head_ids)] == head_ids:
            head = len(head_ids)
    min_prompt = head + 1
    if max_tokens < min_prompt + min(len(answer_ids), 1):
        raise ValueError(f"max_tokens={max_tokens} cannot hold the placeholder, a prompt token and eos")
    if len(prompt_ids) + len(answer_ids) > max_tokens:
        logger.warning(
            "sample of %d text tokens cut to max_text_tokens=%d",
            len(prompt_ids) + len(answer_ids),
            max_tokens,
        )
        answer_room = max(max_tokens - len(prompt_ids), min(len(answer_ids), max_tokens // 2))
        answer_room = max(answer_room, min(len(answer_ids), 1))
        if len(answer_ids) > answer_room:
            answer_ids = [*answer_ids[: answer_room - 1], answer_ids[-1]]
        prompt_room = max(max_tokens - len(answer_ids), min_prompt)
        if len(prompt_ids) > prompt_room:
            tail = prompt_room - head
            prompt_ids = prompt_ids[:head] + prompt_ids[len(prompt_ids) - tail :]
        if len(prompt_ids) + len(answer_ids) > max_tokens:  # tiny max_tokens: the answer yields
            answer_ids = [*answer_ids[: max_tokens - len(prompt_ids) - 1], answer_ids[-1]]
    ids = prompt_ids + answer_ids
    labels = [IGNORE_INDEX] * len(prompt_ids) + answer_ids
    return ids, labels


def pad_frames(
    features: Sequence[np.ndarray], timestamps: Sequence[np.ndarray]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Videos of different lengths as one batch, padded at the end to the longest.

    Args:
        features: per video ``(T_i, P, Dv)`` patch features (same ``P``, ``Dv``).
        timestamps: per video ``(T_i,)`` seconds.

    Returns:
        ``(features (B, T, P, Dv) float32, timestamps (B, T) float32, frame_mask (B, T) bool)``,
        zeros and False over the padding.
    """
    t_max = max(f.shape[0] for f in features)
    n_patches, dim = features[0].shape[1:]
    out = torch.zeros(len(features), t_max, n_patches, dim, dtype=torch.float32)
    times = torch.zeros(len(features), t_max, dtype=torch.float32)
    mask = torch.zeros(len(features), t_max, dtype=torch.bool)
    for i, (f, t) in enumerate(zip(features, timestamps, strict=True)):
        n = f.shape[0]
        out[i, :n] = torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32))
        times[i, :n] = torch.from_numpy(np.asarray(t, dtype=np.float32))
        mask[i, :n] = True
    return out, times, mask


def collate(samples: Sequence[TimeChatSample], tokenizer: Any, config: TimeChatConfig) -> TimeChatBatch:
    """Pad samples into a batch: frames at the end (masked), text on the right.

    Args:
        samples: one or more samples; all must share P and Dv.
        tokenizer: the LLM tokenizer.
        config: gives ``max_text_tokens`` and ``frame_times_prompt``.

    Returns:
        The batch; samples without an answer get all-``IGNORE_INDEX`` labels.
    """
    if not samples:
        raise ValueError("collate needs at least one sample")
    shapes = {s.features.shape[1:] for s in samples}
    if len(shapes) != 1:
        raise ValueError(f"samples have different patch feature shapes (P, Dv): {sorted(shapes)}")
    texts = []
    for sample in samples:
        count = len(sample.timestamps)
        if count == 0 or sample.features.shape[0] != count:
            raise ValueError(
                f"sample {sample.video!r}: {sample.features.shape[0]} feature rows for {count} timestamps"
            )
        texts.append(
            encode_text(
                tokenizer,
                sample.prompt,
                sample.answer,
                max_tokens=config.max_text_tokens,
                frame_times=sample.timestamps if config.frame_times_prompt else None,
            )
        )
    features, timestamps, frame_mask = pad_frames(
        [s.features for s in samples], [s.timestamps for s in samples]
    )
    input_ids, attention_mask = right_pad([ids for ids, _ in texts], pad_token_id(tokenizer))
    labels, _ = right_pad([lab for _, lab in texts], IGNORE_INDEX)
    return TimeChatBatch(
        features=features,
        timestamps=timestamps,
        frame_mask=frame_mask,
        input_ids=input_ids,
        attention_mask=attention_mask,
        labels=labels,
    )
