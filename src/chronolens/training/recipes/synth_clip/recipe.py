"""The recipe that trains ``builtin:synth-clip`` on the synthetic benchmark.

``run_builtin_clip(data_dir, out_dir, config)``: build a word-level tokenizer from the training
captions, decode train frames (cached), train a tiny ``CLIPModel`` with symmetric multi-positive
InfoNCE through the generic loop, evaluate on val frames and export a loadable model directory
with a model card. Same seed, same data -> same weights.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from chronolens.errors import ChronolensError
from chronolens.models.synth_clip.config import SynthClipConfig, build_clip_model
from chronolens.models.synth_clip.tokenizer import build_tokenizer
from chronolens.models.token_batches import right_pad
from chronolens.training.config import invalid_values, read_tables, section_values
from chronolens.training.loop import LoopConfig, TrainResult, loop_config, train
from chronolens.training.losses import clamp_logit_scale, clip_contrastive_loss
from chronolens.training.recipes.synth_clip.data import FrameBank, build_frame_bank

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerBase

__all__ = [
    "SECTIONS",
    "BuiltinClipConfig",
    "ClipBatch",
    "ClipPairTask",
    "RecipeResult",
    "default_config",
    "load_config",
    "run_builtin_clip",
    "run_recipe",
]

logger = logging.getLogger(__name__)

MODEL_DIR = "model"  # exported artefact inside the run directory
CACHE_DIR = "cache"  # decoded-frame cache inside the run directory
# Texts up to this many tokens (event captions, most scene captions) are encoded as one padded
# group and longer ones (video captions) as another, which saves most of the padding cost.
SHORT_TEXT_TOKENS = 24


@dataclass(frozen=True, kw_only=True)
class BuiltinClipConfig:
    """Everything that determines a ``builtin:synth-clip`` training run."""

    model: SynthClipConfig = field(default_factory=SynthClipConfig)  # architecture
    # optimizer steps: 4,500 x 64 pairs on 1,960 train videos (~4.2 passes over 69k frames), the
    # first stage of the shipped run, which was then resumed to 9,000 and 13,500 steps (--steps N
    # --resume; docs/builtin-model.md); 3,000 on 980 videos was the run before; on the earlier
    # 280-video set 1,500 was best and 3,000 overfit
    steps: int = 4500
    batch_size: int = 64  # pairs per step (contrastive negatives come from the same batch)
    lr: float = 5e-4  # peak learning rate (2e-3 collapsed both towers to constant embeddings)
    warmup_steps: int = 50  # linear warmup steps
    weight_decay: float = 0.1  # AdamW decay on weight matrices
    seed: int = 0  # model init, batch sampling
    sample_fps: float = 1.0  # frames decoded per second of training video (inference default: 1)
    event_frame_fraction: float = 0.75  # share of each batch drawn from frames with an active event
    # frames drawn from each sampled video (1 = every frame from a different video). Several frames
    # of one video share its background and distractors, so an event caption's negatives include
    # the same video at other moments. 4 measured no gain on val (docs/builtin-model.md).
    frames_per_video: int = 1
    # P(an event caption's row brings one hard-negative caption: the caption with one object
    # attribute swapped, clip_data.hard_negative_captions); 0 = in-batch negatives only. 1.0
    # measured no gain on val (docs/builtin-model.md).
    hard_negative_prob: float = 0.0
    scene_text_prob: float = 0.15  # P(text = scene caption) for a frame with an active event
    video_text_prob: float = 0.15  # P(text = video caption) for a frame with an active event
    idle_video_text_prob: float = 0.4  # P(text = video caption) for a frame with no event (else scene)
    checkpoint_every: int = 250  # steps between checkpoints
    max_videos: int | None = None  # cap on train videos (quick experiments); None = all
    threads: int = 2  # torch intra-op threads
    progress: bool = True  # tqdm bars

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"BuiltinClipConfig.steps must be >= 1, got {self.steps}")
        if self.batch_size < 2:
            raise ValueError(f"BuiltinClipConfig.batch_size must be >= 2, got {self.batch_size}")
        if not self.sample_fps > 0:
            raise ValueError(f"BuiltinClipConfig.sample_fps must be > 0, got {self.sample_fps}")
        for name in (
            "event_frame_fraction",
            "hard_negative_prob",
            "scene_text_prob",
            "video_text_prob",
            "idle_video_text_prob",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"BuiltinClipConfig.{name} must be in [0, 1], got {value}")
        if self.scene_text_prob + self.video_text_prob > 1.0:
            raise ValueError("BuiltinClipConfig.scene_text_prob + video_text_prob must be <= 1")
        if not 1 <= self.frames_per_video <= self.batch_size:
            raise ValueError(
                f"BuiltinClipConfig.frames_per_video must be in [1, batch_size], got {self.frames_per_video}"
            )
        if self.threads < 1:
            raise ValueError(f"BuiltinClipConfig.threads must be >= 1, got {self.threads}")


# Sections of a builtin-clip config file: [model] is the architecture (SynthClipConfig), [train]
# every other BuiltinClipConfig field. ``progress`` is a run-time switch (--no-progress), not a
# setting.
SECTIONS: dict[str, type] = {"model": SynthClipConfig, "train": BuiltinClipConfig}
_NOT_TRAIN_SETTINGS = ("model", "progress")


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()
) -> BuiltinClipConfig:
    """Read a builtin-clip config TOML file (``[model]``, ``[train]``) and apply overrides.

    Args:
        path: the TOML file (``None``: the recipe's defaults).
        overrides: ``section.key=value`` strings (``train.steps=200``, ``model.image_size=64``),
            applied in order after the file.

    Returns:
        The validated config.

    Raises:
        FormatError: unreadable TOML, unknown sections or keys (with the closest valid name),
            values of the wrong type, or values a config rejects.
    """
    source, tables = read_tables(path, overrides, SECTIONS)
    with invalid_values(source):
        model = SynthClipConfig(**section_values(SynthClipConfig, tables.get("model", {}), "model", source))
        train_values = section_values(
            BuiltinClipConfig, tables.get("train", {}), "train", source, exclude=_NOT_TRAIN_SETTINGS
        )
        return BuiltinClipConfig(model=model, **train_values)


def default_config() -> BuiltinClipConfig:
    """The recipe's settings with every default (the registry's entry point)."""
    return BuiltinClipConfig()


def run_recipe(
    config: BuiltinClipConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str = "",
) -> RecipeResult:
    """The registry's entry point: :func:`run_builtin_clip` on ``data_dir``.

    Raises:
        ChronolensError: no ``data_dir`` (the dataset is not part of this recipe's config).
    """
    del on_log  # the loop's own log lines are the recipe's only ones
    if data_dir is None:
        raise ChronolensError("the builtin-clip recipe needs a dataset directory (--data)")
    config = replace(config, progress=config.progress and progress)
    return run_builtin_clip(data_dir, out_dir, config, resume=resume, command=command)


def _loop_config(config: BuiltinClipConfig) -> LoopConfig:
    """The loop settings of a builtin-clip run (the loop's defaults for everything not named)."""
    return loop_config(
        steps=config.steps,
        lr=config.lr,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        seed=config.seed,
        checkpoint_every=config.checkpoint_every,
        progress=config.progress,
        extra={"recipe": "builtin-clip"},
    )


@dataclass(frozen=True, slots=True)
class ClipBatch:
    """One training batch."""

    pixel_values: torch.Tensor  # (B, 3, S, S) float32, normalised
    input_ids: torch.Tensor  # (B + M, L) int64, <bos> ... <eos> <pad>...: B paired texts, M hard negatives
    attention_mask: torch.Tensor  # (B + M, L) int64
    positives: torch.Tensor  # (B, B + M) bool: text j truly describes image i


@dataclass(frozen=True, slots=True)
class RecipeResult:
    """What a finished run produced."""

    model_dir: Path  # the exported, loadable model directory
    train: TrainResult  # loop outcome
    metrics: dict[str, float]  # val metrics (see ``clip_eval.evaluate_frames``)
    wall_s: float  # whole recipe wall time incl. decoding and evaluation


class ClipPairTask:
    """Frame-caption contrastive training of a ``CLIPModel`` (implements ``loop.TrainTask``)."""

    def __init__(
        self,
        model: CLIPModel,
        tokenizer: PreTrainedTokenizerBase,
        bank: FrameBank,
        config: BuiltinClipConfig,
    ) -> None:
        from chronolens.encoders.preprocess import ImagePreprocessConfig

        self.model = model
        self.config = config
        self.bank = bank
        size = config.model.image_size
        self.preprocess = ImagePreprocessConfig(shortest_edge=size, crop_size=(size, size))
        self.event_frames = torch.as_tensor(bank.event_frames, dtype=torch.int64)
        is_event = np.zeros(len(bank), dtype=bool)
        is_event[bank.event_frames] = True
        self.video_frames: list[tuple[torch.Tensor, torch.Tensor]] = []  # per video: (event, idle) frames
        for v in range(len(bank.videos)):
            rows = np.flatnonzero(bank.video_index == v)
            self.video_frames.append(
                (torch.as_tensor(rows[is_event[rows]]), torch.as_tensor(rows[~is_event[rows]]))
            )
        self.sampled_videos = torch.as_tensor(
            [v for v, (ev, idle) in enumerate(self.video_frames) if len(ev) + len(idle)], dtype=torch.int64
        )
        self.valid = [t.valid for t in bank.texts]
        self.pad_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        vocab_texts = sorted({text for valid in self.valid for text in valid})
        self.tokenizer = tokenizer
        encoded = tokenizer(vocab_texts, truncation=True, max_length=config.model.max_text_len)
        self.token_ids: dict[str, list[int]] = dict(zip(vocab_texts, encoded["input_ids"], strict=True))
        self._negatives: dict[tuple[int, str], tuple[str, ...]] = {}  # (video, caption) -> hard negatives

    def _choose_text(self, index: int, generator: torch.Generator) -> tuple[str, str | None]:
        """A true text for frame ``index``, and the canonical caption when it describes an event."""
        texts = self.bank.texts[index]
        u = float(torch.rand((), generator=generator))
        if texts.events:
            if u < self.config.scene_text_prob and texts.scene:
                return texts.scene, None
            if u < self.config.scene_text_prob + self.config.video_text_prob:
                return texts.video, None
            options = texts.events[int(torch.randint(len(texts.events), (), generator=generator))]
            return options[int(torch.randint(len(options), (), generator=generator))], options[0]
        if u < self.config.idle_video_text_prob or not texts.scene:
            return texts.video, None
        return texts.scene, None

    def _hard_negatives(self, video: int, caption: str) -> tuple[str, ...]:
        """``hard_negative_captions`` of the event of ``video`` captioned ``caption`` (memoised)."""
        from chronolens.training.recipes.synth_clip.data import hard_negative_captions

        key = (video, caption)
        found = self._negatives.get(key)
        if found is None:
            v = self.bank.videos[video]
            slot = next(i for i, e in enumerate(v.events) if e.caption == caption)
            rng = np.random.default_rng([self.config.seed, video, slot])  # same texts in any order
            found = self._negatives[key] = hard_negative_captions(v.events[slot], v, rng)
        return found

    def _ids(self, text: str) -> list[int]:
        found = self.token_ids.get(text)
        if found is None:
            encoded = self.tokenizer([text], truncation=True, max_length=self.config.model.max_text_len)
            found = self.token_ids[text] = list(encoded["input_ids"][0])
        return found

    def make_batch(self, step: int, micro: int, generator: torch.Generator) -> ClipBatch:
        """Sample ``batch_size`` frames (mostly event frames), one true text each, then any hard negatives."""
        from chronolens.encoders.preprocess import preprocess_images

        n = self.config.batch_size
        if self.config.frames_per_video > 1:
            indices = self._grouped_indices(generator)
        else:
            n_event = round(n * self.config.event_frame_fraction) if len(self.event_frames) else 0
            pick_event = (
                self.event_frames[torch.randint(len(self.event_frames), (n_event,), generator=generator)]
                if (n_event)
                else torch.empty(0, dtype=torch.int64)
            )
            pick_any = torch.randint(len(self.bank), (n - n_event,), generator=generator)
            indices = torch.cat([pick_event, pick_any]).tolist()
        chosen = [self._choose_text(i, generator) for i in indices]
        texts = [text for text, _ in chosen]
        for i, (_, caption) in zip(indices, chosen, strict=True):
            if caption is None or self.config.hard_negative_prob == 0.0:
                continue
            if float(torch.rand((), generator=generator)) >= self.config.hard_negative_prob:
                continue
            negatives = self._hard_negatives(int(self.bank.video_index[i]), caption)
            if negatives:
                texts.append(negatives[int(torch.randint(len(negatives), (), generator=generator))])
        input_ids, attention = right_pad([self._ids(t) for t in texts], self.pad_id)
        positives = torch.tensor([[t in self.valid[i] for t in texts] for i in indices], dtype=torch.bool)
        pixels = preprocess_images(self.bank.images[indices], self.preprocess)
        return ClipBatch(
            pixel_values=pixels, input_ids=input_ids, attention_mask=attention, positives=positives
        )

    def _grouped_indices(self, generator: torch.Generator) -> list[int]:
        """``frames_per_video`` distinct frames from each of ``batch_size / frames_per_video`` videos.

        In each video about ``event_frame_fraction`` of its frames come from frames with an active
        event (fewer when the video has fewer), the rest from its other frames.
        """
        k = self.config.frames_per_video
        n_videos = min(-(-self.config.batch_size // k), len(self.sampled_videos))
        order = torch.randperm(len(self.sampled_videos), generator=generator)[:n_videos]
        indices: list[int] = []
        for v in self.sampled_videos[order].tolist():
            event, idle = self.video_frames[v]
            n_event = min(round(k * self.config.event_frame_fraction), len(event))
            n_idle = min(k - n_event, len(idle))
            n_event = min(k - n_idle, len(event))  # a video short of idle frames gives more event frames
            indices += event[torch.randperm(len(event), generator=generator)[:n_event]].tolist()
            indices += idle[torch.randperm(len(idle), generator=generator)[:n_idle]].tolist()
        return indices[: self.config.batch_size]

    def loss(self, batch: ClipBatch) -> torch.Tensor:
        """Symmetric multi-positive InfoNCE with the model's clamped learnable temperature."""
        image = self.model.get_image_features(pixel_values=batch.pixel_values)
        image = _as_tensor(image)
        text = self._text_features(batch.input_ids, batch.attention_mask)
        scale = clamp_logit_scale(self.model.logit_scale).exp()
        return clip_contrastive_loss(image, text, scale, batch.positives)

    def _text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Encode short and long texts separately so a few long video captions don't pad every row."""
        lengths = attention_mask.sum(dim=1)  # (B,)
        short = lengths <= SHORT_TEXT_TOKENS
        out: torch.Tensor | None = None
        for rows in (short.nonzero().squeeze(1), (~short).nonzero().squeeze(1)):
            if rows.numel() == 0:
                continue
            width = int(lengths[rows].max())
            feats = _as_tensor(
                self.model.get_text_features(
                    input_ids=input_ids[rows, :width], attention_mask=attention_mask[rows, :width]
                )
            )  # (b, D)
            if out is None:
                out = feats.new_zeros((input_ids.shape[0], feats.shape[1]))
            out = out.index_copy(0, rows, feats)
        assert out is not None  # a batch has at least one row
        return out

    def batch_size(self, batch: ClipBatch) -> int:
        """Pairs in ``batch`` (hard-negative texts not counted)."""
        return int(batch.pixel_values.shape[0])

    def after_step(self) -> None:
        """Keep the stored log-scale inside CLIP's clamp range (as open_clip does after each step)."""
        with torch.no_grad():
            self.model.logit_scale.clamp_(0.0, float(np.log(100.0)))


def _as_tensor(features: Any) -> torch.Tensor:
    """``get_*_features`` returns a tensor in transformers 4.x and an output object in 5.x."""
    if isinstance(features, torch.Tensor):
        return features
    pooled: torch.Tensor = features.pooler_output
    return pooled


def run_builtin_clip(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: BuiltinClipConfig,
    *,
    resume: bool = False,
    command: str = "",
) -> RecipeResult:
    """Train, evaluate and export ``builtin:synth-clip``.

    Args:
        data_dir: a directory written by ``chronolens synth`` (needs train and val splits).
        out_dir: run directory (checkpoints, frame cache, log, ``model/``).
        config: the run's settings.
        resume: continue from the latest checkpoint in ``out_dir``.
        command: the command line, recorded in the model card.

    Returns:
        A ``RecipeResult``; the artefact is ``out_dir/model``.
    """
    from chronolens.data.synth import load_synth
    from chronolens.models.synth_clip.artifact import save_artifact
    from chronolens.training.recipes.synth_clip.card import model_card
    from chronolens.training.recipes.synth_clip.evaluate import evaluate_frames

    t0 = time.perf_counter()
    torch.set_num_threads(config.threads)
    out = Path(out_dir)
    dataset = load_synth(data_dir)
    cache = out / CACHE_DIR
    size = config.model.image_size
    train_bank = build_frame_bank(
        dataset,
        "train",
        fps=config.sample_fps,
        size=size,
        cache_dir=cache,
        max_videos=config.max_videos,
        progress=config.progress,
    )
    val_bank = build_frame_bank(dataset, "val", fps=1.0, size=size, cache_dir=cache, progress=config.progress)
    corpus = sorted({t for texts in train_bank.texts for t in texts.valid})
    tokenizer = build_tokenizer(corpus, max_length=config.model.max_text_len)
    model = build_clip_model(config.model, len(tokenizer), seed=config.seed)
    task = ClipPairTask(model, tokenizer, train_bank, config)
    t_train = time.perf_counter()
    result = train(task, _loop_config(config), out, resume=resume)
    train_wall = time.perf_counter() - t_train
    metrics = evaluate_frames(model, tokenizer, val_bank)
    logger.info("val metrics: %s", {k: round(v, 4) for k, v in metrics.items()})
    wall = time.perf_counter() - t0
    card = model_card(
        config=asdict(config),
        dataset=dataset,
        n_train_frames=len(train_bank),
        n_train_videos=len(train_bank.videos),
        vocab_size=len(tokenizer),
        n_params=sum(p.numel() for p in model.parameters()),
        train_wall_s=train_wall,
        total_wall_s=wall,
        metrics=metrics,
        command=command,
        machine=f"{platform.machine()}, torch {torch.__version__}, {config.threads} threads",
        resumed=result.start_step > 0,
    )
    model_dir = save_artifact(model, tokenizer, out / MODEL_DIR, model_card=card)
    return RecipeResult(model_dir=model_dir, train=result, metrics=metrics, wall_s=wall)
