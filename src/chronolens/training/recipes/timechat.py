"""TimeChat instruction tuning on TimeIT data, with a grounding evaluation in the same run.

A recipe (``timechat_settings.load_recipe``: a TOML file with ``[model]``, ``[data]``,
``[train]``, ``[eval]`` plus ``section.key=value`` overrides) is run by
``run_timechat(recipe, out_dir)``, which:

1. reads the TimeIT train (and eval) json, samples ``n_frames`` frames per video uniformly and
   caches their frozen image-tower features on disk (``timechat_data``);
2. builds ``TimeChat`` (for ``llm = "tiny"`` a word-level tokenizer over the training text);
3. for the tiny random-init LLM only, optionally runs a short text-only stage
   (``train.lm_pretrain_steps``): the base LM learns the instruction and answer language
   (causal LM loss on question + answer text, no video), then it is frozen again. A randomly
   initialised LLM that stays frozen cannot write anything, which is why this stage exists; a real
   LLM backbone needs none;
4. trains what the paper trains (frame Q-Former, video Q-Former, projection, LoRA; or, with
   ``train.llm_mode = "full"``, the whole tiny LLM too) with the loss on answer tokens only, through
   the generic loop (seeded, resumable, gradient accumulation, bf16 autocast where supported);
   batches encode each distinct video once (``GroupedBatch``) and may cut grounding samples to
   random temporal crops with shifted answers (``train.crop_prob``) so answers cannot be memorised;
5. exports the trained weights + config with ``save_timechat`` to ``OUT/model``;
6. grounds the eval split's grounding queries with greedy decoding, parses the answers with
   ``chronolens.answers.parse_span`` (clamped to the video; unparsed answers are misses) and
   scores R1@{0.3,0.5,0.7} and mIoU next to the uniform-window and random baselines.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from chronolens.errors import ChronolensError
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.training.loop import LoopConfig, TrainResult, train
from chronolens.training.recipes.timechat_data import (
    TimeITTurn,
    VideoFeatures,
    build_samples,
    encode_videos,
    load_turns,
    stack_features,
)
from chronolens.training.recipes.timechat_eval import evaluate_grounding_split
from chronolens.training.recipes.timechat_settings import (
    EVAL_DIR,
    LM_STAGE_DIR,
    MODEL_DIR,
    RECIPE_FILE,
    TimeChatRecipe,
    TrainSettings,
)

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat, TimeChatBatch, TimeChatSample

__all__ = [
    "LMPretrainTask",
    "TimeChatRunResult",
    "TimeChatTask",
    "run_timechat",
]

logger = logging.getLogger(__name__)

_SPAN_TEXT = re.compile(r"(\d+(?:\.\d+)?)(\s*-\s*)(\d+(?:\.\d+)?)")


def _shift_span_text(answer: str, shift: float) -> str:
    """``answer`` with its first ``"s - e"`` pair moved by ``shift`` seconds (rounded to 0.1 s)."""

    def moved(match: re.Match[str]) -> str:
        start = round(float(match.group(1)) + shift, 1)
        end = round(float(match.group(3)) + shift, 1)
        return f"{max(start, 0.0)}{match.group(2)}{max(end, 0.0)}"

    return _SPAN_TEXT.sub(moved, answer, count=1)


# ---------------------------------------------------------------------------------------------
# Training tasks (loop.TrainTask)
# ---------------------------------------------------------------------------------------------


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ChronolensError("train.device = 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA when supported ("auto"); fp32 on CPU unless bf16 is asked for.

    On the 2-core CPU build machine bf16 autocast made the tiny model's steps slower (the
    matrices are too small for the bf16 kernels to pay for the casts), so "auto" keeps fp32 there.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def _batch_to(batch: TimeChatBatch, device: torch.device) -> TimeChatBatch:
    return batch if device.type == "cpu" else batch.to(device)


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
    ) -> None:
        self._model = model
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
            found = encode_text(
                self._model.tokenizer,
                sample.prompt,
                sample.answer,
                max_tokens=self._model.config.max_text_tokens,
            )
            self._encoded[index] = found
        return found

    def _frames(self, sample: TimeChatSample, keep: np.ndarray) -> VideoFeatures:
        """``n_frames`` of the sample's frame pool spread uniformly over the pool indices ``keep``."""
        n = min(self._model.config.n_frames, len(keep))
        pick = keep[np.unique(np.linspace(0, len(keep) - 1, n).round().astype(np.int64))]
        return VideoFeatures(
            features=sample.features[pick], timestamps=sample.timestamps[pick], duration=sample.duration
        )

    def _crop(
        self, group: list[int], anchor: int, generator: torch.Generator
    ) -> tuple[VideoFeatures, list[tuple[int, str]]] | None:
        """A random temporal crop holding the anchor's span: frames, and rows whose span fits in it.

        Times are shifted so the crop starts at 0 s and answers are rewritten with the shifted
        span, so the same question on the same video asks for other numbers each time.
        """
        span = self.spans[anchor]
        sample = self.samples[anchor]
        if span is None:
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
                rows.append((i, _shift_span_text(answer, -c0)))
        return frames, rows

    def make_batch(self, step: int, micro: int, generator: torch.Generator) -> GroupedBatch:
        """``batch_size`` rows from randomly drawn videos, each distinct video's frames once."""
        from chronolens.models.timechat.prompting import IGNORE_INDEX, encode_text, pad_token_id

        del step, micro
        tokenizer, config = self._model.tokenizer, self._model.config
        videos: list[VideoFeatures] = []
        encoded: list[tuple[list[int], list[int]]] = []
        index: list[int] = []
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
                rows = [
                    encode_text(tokenizer, self.samples[i].prompt, answer, max_tokens=config.max_text_tokens)
                    for i, answer in texts
                ]
            else:
                sample = self.samples[order[0]]
                frames = self._frames(sample, np.arange(len(sample.timestamps)))
                rows = [self._text(i) for i in order]
            rows = rows[: self.settings.batch_size - len(encoded)]
            index += [len(videos)] * len(rows)
            videos.append(frames)
            encoded += rows
        features, timestamps, frame_mask = stack_features(videos)  # (U, T, P, Dv), (U, T), (U, T)
        length = max(len(ids) for ids, _ in encoded)
        input_ids = torch.full((len(encoded), length), pad_token_id(tokenizer), dtype=torch.long)
        attention_mask = torch.zeros((len(encoded), length), dtype=torch.long)
        labels = torch.full((len(encoded), length), IGNORE_INDEX, dtype=torch.long)
        for r, (ids, lab) in enumerate(encoded):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            attention_mask[r, : len(ids)] = 1
            labels[r, : len(lab)] = torch.tensor(lab)
        self.tokens += int(attention_mask.sum())
        batch = GroupedBatch(
            features=features,
            timestamps=timestamps,
            frame_mask=frame_mask,
            video_index=torch.tensor(index, dtype=torch.long),
            input_ids=input_ids,
            attention_mask=attention_mask,
            labels=labels,
        )
        return batch if self.device.type == "cpu" else batch.to(self.device)

    def loss(self, batch: GroupedBatch) -> torch.Tensor:
        """Mean next-token cross-entropy over the answer tokens (``TimeChat.forward``'s loss)."""
        from chronolens.models.timechat.prompting import IGNORE_INDEX

        model = self._model
        with _autocast(self.device, self.autocast):
            tokens, token_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)
            tokens, token_mask = tokens[batch.video_index], token_mask[batch.video_index]  # (B, V, D)
            # TimeChat.splice_video is the model's own splicing of video tokens at <video>; reusing it
            # keeps this grouped forward identical to TimeChat.forward.
            embeds, mask, labels = model.splice_video(
                tokens, token_mask, batch.input_ids, batch.attention_mask, batch.labels, padding_side="right"
            )
            logits = model.llm(inputs_embeds=embeds, attention_mask=mask).logits  # (B, L', vocab)
        assert labels is not None
        return torch.nn.functional.cross_entropy(
            logits[:, :-1].float().reshape(-1, logits.shape[-1]),
            labels[:, 1:].reshape(-1),
            ignore_index=IGNORE_INDEX,
        )

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
        rows = [self.ids[i] for i in picks]
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.int64)
        mask = torch.zeros((len(rows), width), dtype=torch.int64)
        for i, row in enumerate(rows):
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
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


@contextlib.contextmanager
def _autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


@contextlib.contextmanager
def _trainable(model: torch.nn.Module, names: set[str]) -> Iterator[None]:
    """Temporarily make exactly the parameters in ``names`` trainable."""
    before = {name: p.requires_grad for name, p in model.named_parameters()}
    try:
        for name, p in model.named_parameters():
            p.requires_grad_(name in names)
        yield
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(before[name])


def _base_llm_names(model: TimeChat) -> set[str]:
    """Names (in ``model``) of the LLM's own weights, LoRA adapters excluded."""
    prefix = next(name for name, module in model.named_children() if module is model.llm)
    return {f"{prefix}.{name}" for name, _ in model.llm.named_parameters() if "lora_" not in name}


# ---------------------------------------------------------------------------------------------
# The recipe
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeChatRunResult:
    """What a finished run produced."""

    model_dir: Path  # the exported model (load with chronolens.models.timechat.load_timechat)
    train: TrainResult  # main-stage loop outcome
    lm_pretrain: TrainResult | None  # text-only stage outcome (tiny LLM with lm_pretrain_steps > 0)
    metrics: dict[str, dict[str, float | int]]  # {"timechat"|"uniform-window"|"random": grounding metrics}
    timings: dict[str, float]  # seconds: features, lm_pretrain, train, eval, total
    n_train_samples: int  # training samples (question/answer turns)
    n_trainable: int  # trainable parameters in the main stage
    tokens_per_s: float  # text tokens per second over the main stage


def _grounding_span(turn: TimeITTurn) -> tuple[float, float] | None:
    """The span a grounding turn's answer states (None for other tasks or no span)."""
    from chronolens.answers import parse_span

    if turn.task != "tvg":
        return None
    span = parse_span(turn.answer)
    return None if span is None else (span.start, span.end)


def _corpus(turns: Sequence[TimeITTurn], config: TimeChatConfig) -> list[str]:
    from chronolens.models.timechat import build_prompt

    texts = [build_prompt(t.question) for t in turns] + [t.answer for t in turns]
    texts.append(config.timestamp_instruction(12.5))
    return texts


def _log_progress(
    stage: str, task: TimeChatTask | LMPretrainTask, on_log: Callable[[dict[str, Any]], None] | None
) -> Callable[[dict[str, Any]], None]:
    """A loop ``on_log`` callback adding text tokens/s to each record."""
    state = {"tokens": task.tokens, "t": time.perf_counter()}

    def callback(record: dict[str, Any]) -> None:
        now = time.perf_counter()
        rate = (task.tokens - state["tokens"]) / max(now - state["t"], 1e-9)
        state["tokens"], state["t"] = task.tokens, now
        record = {**record, "stage": stage, "tokens_per_s": rate}
        logger.info("%s step %d loss %.4f %.0f tokens/s", stage, record["step"], record["loss"], rate)
        if on_log is not None:
            on_log(record)

    return callback


def run_timechat(
    recipe: TimeChatRecipe,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TimeChatRunResult:
    """Train TimeChat as ``recipe`` says, export it and score grounding on the eval split.

    Args:
        recipe: the run's settings (``load_recipe``).
        out_dir: run directory: ``checkpoints/``, ``train_log.jsonl``, ``lm-pretrain/``,
            ``model/`` (the export), ``eval/`` (answers and metrics), ``recipe.json``.
        resume: continue from the latest checkpoints of each stage in ``out_dir``.
        progress: progress bars.
        on_log: receives every logged training record (with ``stage`` and ``tokens_per_s``).

    Returns:
        A ``TimeChatRunResult``.
    """
    from chronolens.atomic import write_json_atomic
    from chronolens.models.timechat import TimeChat
    from chronolens.models.timechat.weights import save_timechat

    t0 = time.perf_counter()
    settings, config = recipe.train, recipe.model
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = _resolve_device(settings.device)
    autocast = _autocast_dtype(settings.precision, device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / RECIPE_FILE, recipe.to_dict(), indent=2)
    data = recipe.data
    train_turns = load_turns(
        data.path(data.train),
        tasks=data.tasks or None,
        video_root=data.video_root or None,
        max_items=data.max_train_items or None,
    )
    eval_turns: list[TimeITTurn] = []
    if data.eval:
        eval_turns = load_turns(data.path(data.eval), tasks=("tvg",), video_root=data.video_root or None)
        if data.max_eval_queries:
            eval_turns = eval_turns[: data.max_eval_queries]
    train_features, cache = encode_videos(
        [t.video for t in train_turns],
        encoder=config.image_encoder,
        n_frames=config.n_frames * settings.frame_pool,
        cache_dir=data.cache_dir or None,
        progress=progress,
    )
    features: dict[Path, VideoFeatures] = {}
    if eval_turns:  # evaluated as at inference: n_frames spread uniformly over each video
        features, eval_cache = encode_videos(
            [t.video for t in eval_turns],
            encoder=config.image_encoder,
            n_frames=config.n_frames,
            cache_dir=data.cache_dir or None,
            progress=progress,
        )
        cache.hits, cache.misses = cache.hits + eval_cache.hits, cache.misses + eval_cache.misses
    t_features = time.perf_counter() - t0
    samples = build_samples(train_turns, train_features)
    spans = [_grounding_span(t) for t in train_turns]

    torch.manual_seed(config.seed)
    model = TimeChat.build(config, corpus=_corpus(train_turns, config) if config.is_tiny_llm else None)
    model.to(device)

    lm_result: TrainResult | None = None
    t_lm = 0.0
    if settings.lm_pretrain_steps and config.is_tiny_llm:
        t1 = time.perf_counter()
        texts = [f"{t.question}\n{t.answer}" for t in train_turns]
        lm_task = LMPretrainTask(
            model, texts, settings.lm_pretrain_batch_size, device=device, max_tokens=config.max_text_tokens
        )
        lm_loop = LoopConfig(
            steps=settings.lm_pretrain_steps,
            lr=settings.lm_pretrain_lr,
            min_lr_ratio=settings.min_lr_ratio,
            warmup_steps=min(settings.warmup_steps, settings.lm_pretrain_steps),
            weight_decay=settings.weight_decay,
            seed=settings.seed,
            checkpoint_every=settings.checkpoint_every,
            log_every=settings.log_every,
            progress=progress,
            extra={"recipe": "timechat", "stage": "lm-pretrain"},
        )
        with _trainable(model, _base_llm_names(model)):
            lm_result = train(
                lm_task,
                lm_loop,
                out / LM_STAGE_DIR,
                resume=resume,
                on_log=_log_progress("lm", lm_task, on_log),
            )
        t_lm = time.perf_counter() - t1
    elif settings.lm_pretrain_steps:
        logger.info("train.lm_pretrain_steps ignored: the LLM %s is pretrained", config.llm)

    if settings.llm_mode == "full":
        if not config.is_tiny_llm:
            raise ChronolensError("train.llm_mode = 'full' is for the tiny LLM only; real LLMs train LoRA")
        model.unfreeze_llm()  # recorded by save_timechat, so the export holds the whole LLM
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    task = TimeChatTask(model, samples, settings, device=device, autocast=autocast, spans=spans)
    loop = LoopConfig(
        steps=settings.steps,
        lr=settings.lr,
        min_lr_ratio=settings.min_lr_ratio,
        warmup_steps=min(settings.warmup_steps, settings.steps),
        weight_decay=settings.weight_decay,
        grad_accum=settings.grad_accum,
        max_grad_norm=settings.max_grad_norm,
        seed=settings.seed,
        checkpoint_every=settings.checkpoint_every,
        log_every=settings.log_every,
        progress=progress,
        extra={"recipe": "timechat", "stage": "main"},
    )
    n_trainable = sum(p.numel() for name, p in model.named_parameters() if name in trainable)
    logger.info(
        "training %d samples, %d trainable parameters (%s), precision %s, device %s",
        len(samples),
        n_trainable,
        settings.llm_mode,
        "bf16" if autocast is not None else "fp32",
        device,
    )
    t2 = time.perf_counter()
    with _trainable(model, trainable):
        result = train(task, loop, out, resume=resume, on_log=_log_progress("main", task, on_log))
        t_train = time.perf_counter() - t2
        tokens_per_s = task.tokens / max(t_train, 1e-9)
        model_dir = save_timechat(model, out / MODEL_DIR)

    metrics: dict[str, dict[str, float | int]] = {}
    t_eval = 0.0
    if eval_turns:
        t3 = time.perf_counter()
        evaluation = evaluate_grounding_split(
            model, eval_turns, features, recipe.eval, device=device, autocast=autocast, progress=progress
        )
        t_eval = time.perf_counter() - t3
        metrics = evaluation.metrics
        # answers + gt re-score to the same figures with `chronolens eval charades-sta`
        write_json_atomic(out / EVAL_DIR / "grounding_answers.json", evaluation.answers)
        write_json_atomic(out / EVAL_DIR / "grounding_gt.json", evaluation.ground_truth)
        write_json_atomic(out / EVAL_DIR / "grounding_metrics.json", metrics, indent=2)
        for name, values in metrics.items():
            logger.info("grounding %s: %s", name, {k: round(float(v), 2) for k, v in values.items()})
    timings = {
        "features": t_features,
        "lm_pretrain": t_lm,
        "train": t_train,
        "eval": t_eval,
        "total": time.perf_counter() - t0,
    }
    summary = {
        "timings_s": timings,
        "metrics": metrics,
        "n_train_samples": len(samples),
        "n_trainable": n_trainable,
        "tokens_per_s": tokens_per_s,
        "feature_cache": {"hits": cache.hits, "misses": cache.misses, "dir": str(cache.root)},
        "final_loss": result.final_loss,
    }
    write_json_atomic(out / "summary.json", summary, indent=2)
    if not math.isfinite(result.final_loss) and result.losses:
        logger.warning("final loss is not finite")
    return TimeChatRunResult(
        model_dir=model_dir,
        train=result,
        lm_pretrain=lm_result,
        metrics=metrics,
        timings=timings,
        n_train_samples=len(samples),
        n_trainable=n_trainable,
        tokens_per_s=tokens_per_s,
    )
