"""The training tasks of the TimeChat recipe (``loop.TrainTask`` implementations).

``TimeChatTask`` is instruction tuning on TimeIT samples: batches group questions by video
(``GroupedBatch``: each distinct video is encoded once) and may cut grounding samples to random
temporal crops with the answer's span shifted to match. ``LMPretrainTask`` is the text-only
causal LM stage of the tiny random-init LLM. ``run_timechat`` (``timechat.py``) wires them to
the generic loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np
import torch

from chronolens.models.timechat.features import VideoFeatures
from chronolens.models.token_batches import right_pad
from chronolens.training.recipes.timechat.data import stack_features
from chronolens.training.recipes.timechat.settings import TrainSettings

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat, TimeChatSample
    from chronolens.training.recipes.timechat.align import VideoTokenAlignment
    from chronolens.training.recipes.timechat.attention import GroundingAttention
    from chronolens.training.recipes.timechat.timecode import VideoTokenTimeDigits

__all__ = ["AUX_LOSSES", "GroupedBatch", "LMPretrainTask", "TimeChatTask", "shift_span_text"]

# The auxiliary losses TimeChatTask may add to the answer loss: (log-record key, display name).
# The task keeps each one's last unweighted value as ``last_<key>``.
AUX_LOSSES: tuple[tuple[str, str], ...] = (
    ("align_loss", "alignment"),
    ("ground_loss", "grounding attention"),
    ("time_loss", "time digits"),
)

_SPAN_TEXT = re.compile(r"(\d+(?:\.\d+)?)(\s*-\s*)(\d+(?:\.\d+)?)")


def shift_span_text(answer: str, shift: float) -> str:
    """``answer`` with its first ``"s - e"`` pair moved by ``shift`` seconds (rounded to 0.1 s)."""

    def moved(match: re.Match[str]) -> str:
        start = round(float(match.group(1)) + shift, 1)
        end = round(float(match.group(3)) + shift, 1)
        return f"{max(start, 0.0)}{match.group(2)}{max(end, 0.0)}"

    return _SPAN_TEXT.sub(moved, answer, count=1)


@dataclass(frozen=True, slots=True)
class GroupedBatch:
    """A training batch whose rows share videos: each distinct video is encoded once.

    TimeChat's frame and video Q-Formers see only the frames and their timestamps (never the
    question), so the video tokens of a video are the same for all its questions; encoding them
    once per distinct video and indexing the rows into them gives the same loss and gradients as
    ``TimeChat.forward`` on a row-per-video batch at a fraction of the cost.
    """

    features: torch.Tensor  # (U, T, P, Dv) patch features of the U distinct videos
    timestamps: torch.Tensor  # (U, T) seconds
    frame_mask: torch.Tensor  # (U, T) bool
    video_index: torch.Tensor  # (B,) long: the video of each text row
    input_ids: torch.Tensor  # (B, L) long, right-padded, one <video> per row
    attention_mask: torch.Tensor  # (B, L) long
    labels: torch.Tensor  # (B, L) long, IGNORE_INDEX except answer tokens and eos
    spans: torch.Tensor  # (B, 2) seconds: each row's span in its (cropped) video; NaN = none

    def to(self, device: torch.device) -> GroupedBatch:
        """The same batch on ``device``."""
        return GroupedBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


class TimeChatTask:
    """Instruction tuning of ``TimeChat`` on samples (implements ``loop.TrainTask``).

    A batch draws videos at random (with replacement, from the step's generator) and takes all
    of each video's training samples, in a random order, until ``batch_size`` rows are filled.
    Each sample's features are a pool of frames (``n_frames * frame_pool``); a batch uses
    ``n_frames`` of them: spread over the whole video, or, with probability ``crop_prob`` for
    grounding samples (``spans`` given), spread over a random temporal crop (see ``_crop``).
    Samples whose prompt carries a transcript are never cropped: its times would not shift.
    """

    def __init__(
        self,
        model: TimeChat,
        samples: Sequence[TimeChatSample],
        settings: TrainSettings,
        *,
        device: torch.device,
        autocast: torch.dtype | None,
        spans: Sequence[tuple[float, float] | None] | None = None,
        alignment: VideoTokenAlignment | None = None,
        grounding: GroundingAttention | None = None,
        timecode: VideoTokenTimeDigits | None = None,
    ) -> None:
        self._model = model
        self.alignment = alignment  # auxiliary video-token loss, weighted by settings.align_weight
        self.last_align_loss: float | None = None  # its unweighted value on the last batch
        self.grounding = grounding  # auxiliary attention loss, weighted by settings.ground_attn_weight
        self.last_ground_loss: float | None = None  # its unweighted value on the last batch
        self.timecode = timecode  # auxiliary video-token loss, weighted by settings.time_digits_weight
        self.last_time_loss: float | None = None  # its unweighted value on the last batch
        self.samples = samples
        self.settings = settings
        self.device = device
        self.autocast = autocast
        self.tokens = 0  # text tokens (prompt + answer, excluding padding) seen so far
        by_video: dict[str, list[int]] = {}
        for i, sample in enumerate(samples):
            by_video.setdefault(sample.video, []).append(i)
        self.groups = list(by_video.values())  # sample indices per distinct video
        self.spans = list(spans) if spans is not None else [None] * len(samples)
        self._encoded: dict[int, tuple[list[int], list[int]]] = {}

    @property
    def model(self) -> torch.nn.Module:
        """The TimeChat module."""
        return self._model

    def _text(self, index: int) -> tuple[list[int], list[int]]:
        from chronolens.models.timechat.prompting import encode_text

        found = self._encoded.get(index)
        if found is None:
            sample = self.samples[index]
            config = self._model.config
            # the times of the frames make_batch's uncropped path feeds (_frames over the whole pool)
            whole = np.arange(len(sample.timestamps))
            times = sample.timestamps[self._pick(whole)] if config.frame_times_prompt else None
            found = encode_text(
                self._model.tokenizer,
                sample.prompt,
                sample.answer,
                max_tokens=config.max_text_tokens,
                frame_times=times,
            )
            self._encoded[index] = found
        return found

    def _pick(self, keep: np.ndarray) -> np.ndarray:
        """``n_frames`` pool indices spread uniformly over the pool indices ``keep``."""
        n = min(self._model.config.n_frames, len(keep))
        return keep[np.unique(np.linspace(0, len(keep) - 1, n).round().astype(np.int64))]

    def _frames(self, sample: TimeChatSample, keep: np.ndarray) -> VideoFeatures:
        """``n_frames`` of the sample's frame pool spread uniformly over the pool indices ``keep``."""
        pick = self._pick(keep)
        return VideoFeatures(
            features=sample.features[pick], timestamps=sample.timestamps[pick], duration=sample.duration
        )

    def _crop(
        self, group: list[int], anchor: int, generator: torch.Generator
    ) -> tuple[VideoFeatures, list[tuple[int, str, tuple[float, float]]]] | None:
        """A random temporal crop holding the anchor's span: frames, and rows whose span fits in it.

        Times are shifted so the crop starts at 0 s and answers are rewritten with the shifted
        span, so the same question on the same video asks for other numbers each time.
        """
        span = self.spans[anchor]
        sample = self.samples[anchor]
        if span is None or sample.transcript is not None:  # a transcript's times would not shift
            return None
        start, end = span
        duration = sample.duration
        u = torch.rand(2, generator=generator).tolist()
        length = duration * (self.settings.crop_min + (1.0 - self.settings.crop_min) * u[0])
        length = max(length, end - start)
        lo, hi = max(0.0, end - length), min(start, duration - length)
        if hi < lo:
            return None
        c0 = round(lo + (hi - lo) * u[1], 1)
        c1 = c0 + length
        keep = np.flatnonzero((sample.timestamps >= c0) & (sample.timestamps <= c1))
        if len(keep) < 2:
            return None
        frames = self._frames(sample, keep)
        frames = VideoFeatures(
            features=frames.features, timestamps=frames.timestamps - c0, duration=min(length, duration - c0)
        )
        rows = []
        for i in group:
            other = self.spans[i]
            answer = self.samples[i].answer
            if other is not None and answer is not None and c0 <= other[0] and other[1] <= c1:
                rows.append((i, shift_span_text(answer, -c0), (other[0] - c0, other[1] - c0)))
        return frames, rows

    def make_batch(self, step: int, micro: int, generator: torch.Generator) -> GroupedBatch:
        """``batch_size`` rows from randomly drawn videos, each distinct video's frames once."""
        from chronolens.models.timechat.prompting import IGNORE_INDEX, encode_text, pad_token_id

        del step, micro
        tokenizer, config = self._model.tokenizer, self._model.config
        videos: list[VideoFeatures] = []
        encoded: list[tuple[list[int], list[int]]] = []
        index: list[int] = []
        spans: list[tuple[float, float]] = []
        none = (float("nan"), float("nan"))
        while len(encoded) < self.settings.batch_size:
            group = self.groups[int(torch.randint(len(self.groups), (1,), generator=generator))]
            order = [group[k] for k in torch.randperm(len(group), generator=generator).tolist()]
            cropped = None
            if (
                self.settings.crop_prob > 0
                and float(torch.rand((), generator=generator)) < self.settings.crop_prob
            ):
                cropped = self._crop(order, order[0], generator)
            if cropped is not None:
                frames, texts = cropped
                times = frames.timestamps if config.frame_times_prompt else None
                rows = [
                    encode_text(
                        tokenizer,
                        self.samples[i].prompt,
                        answer,
                        max_tokens=config.max_text_tokens,
                        frame_times=times,
                    )
                    for i, answer, _ in texts
                ]
                row_spans = [span for _, _, span in texts]
            else:
                sample = self.samples[order[0]]
                frames = self._frames(sample, np.arange(len(sample.timestamps)))
                rows = [self._text(i) for i in order]
                row_spans = [self.spans[i] or none for i in order]
            rows = rows[: self.settings.batch_size - len(encoded)]
            spans += row_spans[: len(rows)]
            index += [len(videos)] * len(rows)
            videos.append(frames)
            encoded += rows
        features, timestamps, frame_mask = stack_features(videos)  # (U, T, P, Dv), (U, T), (U, T)
        input_ids, attention_mask = right_pad([ids for ids, _ in encoded], pad_token_id(tokenizer))
        labels, _ = right_pad([lab for _, lab in encoded], IGNORE_INDEX)
        self.tokens += int(attention_mask.sum())
        batch = GroupedBatch(
            features=features,
            timestamps=timestamps,
            frame_mask=frame_mask,
            video_index=torch.tensor(index, dtype=torch.long),
            input_ids=input_ids,
            attention_mask=attention_mask,
            labels=labels,
            spans=torch.tensor(spans, dtype=torch.float32).reshape(-1, 2),
        )
        return batch if self.device.type == "cpu" else batch.to(self.device)

    def loss(self, batch: GroupedBatch) -> torch.Tensor:
        """Mean next-token cross-entropy over the answer tokens (``TimeChat.forward``'s loss).

        With an ``alignment``, plus ``settings.align_weight`` times its loss on the batch's videos;
        with a ``timecode``, plus ``settings.time_digits_weight`` times its loss on them; with a
        ``grounding``, plus ``settings.ground_attn_weight`` times its loss on the LLM's
        attention (which the LLM then returns, so it must run eager attention).
        """
        from chronolens.models.timechat.prompting import IGNORE_INDEX

        model = self._model
        dtype = self.autocast  # None = fp32: autocast disabled, as in the recipe's evaluation
        with torch.autocast(device_type=self.device.type, dtype=dtype, enabled=dtype is not None):
            video, video_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)
            tokens, token_mask = video[batch.video_index], video_mask[batch.video_index]  # (B, V, D)
            # TimeChat.splice_video is the model's own splicing of video tokens at <video>; reusing it
            # keeps this grouped forward identical to TimeChat.forward.
            embeds, mask, labels = model.splice_video(
                tokens, token_mask, batch.input_ids, batch.attention_mask, batch.labels, padding_side="right"
            )
            grounding = self.grounding if self.settings.ground_attn_weight > 0 else None
            out = model.llm(
                inputs_embeds=embeds, attention_mask=mask, output_attentions=grounding is not None
            )
            logits = out.logits  # (B, L', vocab)
        assert labels is not None
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.shape[-1]),
            labels[:, 1:].reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
        if self.alignment is not None and self.settings.align_weight > 0:
            aux = self.alignment(video, video_mask, batch.features, batch.frame_mask)
            self.last_align_loss = float(aux.detach())
            loss = loss + self.settings.align_weight * aux
        if self.timecode is not None and self.settings.time_digits_weight > 0:
            aux = self.timecode(video, video_mask, batch.timestamps, batch.frame_mask)
            self.last_time_loss = float(aux.detach())
            loss = loss + self.settings.time_digits_weight * aux
        if grounding is not None:
            targets = grounding.targets(
                batch.timestamps, batch.frame_mask, video_mask, batch.video_index, batch.spans
            )
            # right-padded rows: the video tokens start where the row's <video> id was
            video_start = (batch.input_ids == model.video_id).int().argmax(dim=1)
            aux = grounding(out.attentions, targets, video_start, labels)
            self.last_ground_loss = float(aux.detach())
            loss = loss + self.settings.ground_attn_weight * aux
        return loss

    def batch_size(self, batch: GroupedBatch) -> int:
        """Text rows in ``batch``."""
        return int(batch.input_ids.shape[0])

    def after_step(self) -> None:
        """Nothing to do after a step."""


class LMPretrainTask:
    """Text-only causal LM training of the tiny LLM's base weights (implements ``loop.TrainTask``).

    Sequences are ``<bos> question answer <eos>`` with the loss on every token, so the LM learns
    the language of the instructions and the answer format before it is frozen.
    """

    def __init__(
        self,
        model: TimeChat,
        texts: Sequence[str],
        batch_size: int,
        *,
        device: torch.device,
        max_tokens: int,
    ) -> None:
        tokenizer = model.tokenizer
        self._model = model
        self.device = device
        self.batch_size_ = batch_size
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        eos = int(tokenizer.eos_token_id) if tokenizer.eos_token_id is not None else None
        encoded = tokenizer(list(texts), truncation=True, max_length=max_tokens)["input_ids"]
        self.ids = [list(ids) + ([eos] if eos is not None else []) for ids in encoded]
        self.tokens = 0

    @property
    def model(self) -> torch.nn.Module:
        """The TimeChat module (only its base LLM weights require grad in this stage)."""
        return self._model

    def make_batch(
        self, step: int, micro: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(input_ids, attention_mask)`` of texts drawn with replacement, right-padded."""
        del step, micro
        picks = torch.randint(len(self.ids), (self.batch_size_,), generator=generator).tolist()
        input_ids, mask = right_pad([self.ids[i] for i in picks], self.pad_id)
        self.tokens += int(mask.sum())
        return input_ids.to(self.device), mask.to(self.device)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Next-token cross-entropy over the non-padding tokens."""
        input_ids, mask = batch
        labels = input_ids.masked_fill(mask == 0, -100)
        out = self._model.llm(input_ids=input_ids, attention_mask=mask, labels=labels)
        loss: torch.Tensor = out.loss
        return loss

    def batch_size(self, batch: tuple[torch.Tensor, torch.Tensor]) -> int:
        """Texts in ``batch``."""
        return int(batch[0].shape[0])

    def after_step(self) -> None:
        """Nothing to do after a step."""
