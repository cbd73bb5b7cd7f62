"""Settings of the TimeChat recipe: TOML recipe files and ``section.key=value`` overrides.

A recipe has four sections, each a frozen dataclass: ``[model]`` (``TimeChatConfig`` plus a
``preset``), ``[data]`` (``DataSettings``), ``[train]`` (``TrainSettings``) and ``[eval]``
(``EvalSettings``). ``load_recipe`` reads the file, applies overrides read as TOML values, and
checks every key and type, naming the closest valid key on a typo (all through the loader both
recipes share, ``chronolens.training.config``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chronolens.errors import FormatError
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.training.config import invalid_values, read_tables, section_values

__all__ = [
    "SECTIONS",
    "DataSettings",
    "EvalSettings",
    "TimeChatRecipe",
    "TrainSettings",
    "load_recipe",
]

MODEL_DIR = "model"  # exported TimeChat (save_timechat) inside the run directory
LM_STAGE_DIR = "lm-pretrain"  # run directory of the text-only stage (its own checkpoints and log)
EVAL_DIR = "eval"  # predictions and metrics
RECIPE_FILE = "recipe.json"  # the resolved recipe of the run
PRESETS = ("tiny", "paper")
PRECISIONS = ("auto", "fp32", "bf16")
LLM_MODES = ("lora", "full")
DEVICES = ("auto", "cpu", "cuda")
WORD_INITS = ("random", "image-text")
GROUND_ATTN_TARGETS = ("span", "boundaries")


@dataclass(frozen=True, kw_only=True)
class DataSettings:
    """Where the TimeIT data and videos are."""

    root: str = ""  # directory that relative ``train``/``eval`` paths are under ("" = working directory)
    train: str = "annotations/timeit_train.json"  # TimeIT json to train on
    eval: str = "annotations/timeit_test.json"  # TimeIT json whose grounding queries are scored ("" = none)
    video_root: str = ""  # directory of relative video paths ("" = the json's directory or its parent)
    tasks: tuple[str, ...] = ("tvg",)  # TimeIT tasks to train on (tvg, vhd, dvc, step, ...); () = all
    max_train_items: int = 0  # use only the first N training items (0 = all)
    max_eval_queries: int = 0  # score only the first N grounding queries (0 = all)
    cache_dir: str = ""  # frame-feature cache ("" = $XDG_CACHE_HOME/chronolens/timechat-features)

    def __post_init__(self) -> None:
        if not self.train:
            raise ValueError("data.train must name a TimeIT json file")
        for name in ("max_train_items", "max_eval_queries"):
            if getattr(self, name) < 0:
                raise ValueError(f"data.{name} must be >= 0, got {getattr(self, name)}")

    def path(self, value: str) -> Path:
        """``value`` resolved against ``root``."""
        p = Path(value).expanduser()
        return p if p.is_absolute() or not self.root else Path(self.root).expanduser() / p


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """Optimisation of one run."""

    steps: int = 1000  # optimizer steps of the main stage
    batch_size: int = 8  # samples per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    lr: float = 1e-3  # peak learning rate
    min_lr_ratio: float = 0.1  # final LR of the cosine as a fraction of lr
    warmup_steps: int = 50  # linear warmup steps
    weight_decay: float = 0.05  # AdamW decay on weight matrices
    max_grad_norm: float = 1.0  # global gradient-norm clip
    seed: int = 0  # batch sampling and optimizer RNG (model init uses model.seed)
    checkpoint_every: int = 200  # steps between resumable checkpoints
    log_every: int = 25  # steps between loss / tokens-per-second lines
    precision: str = "auto"  # auto = bf16 autocast on CUDA with bf16 support, else fp32; or fp32 / bf16
    device: str = "auto"  # auto = cuda when available; or cpu / cuda
    threads: int = 0  # torch CPU threads (0 = torch's default)
    llm_mode: str = "lora"  # lora: LLM base frozen, LoRA trained (paper); full: train the whole tiny LLM
    lm_pretrain_steps: int = 0  # tiny LLM only: steps of the text-only LM stage before freezing it
    lm_pretrain_lr: float = 3e-3  # peak LR of the text-only stage
    lm_pretrain_batch_size: int = 32  # texts per step of the text-only stage
    frame_pool: int = 1  # training videos cache n_frames * frame_pool frames; batches pick n_frames of them
    crop_prob: float = 0.0  # P(a grounding sample's video is cut to a random crop holding its span)
    crop_min: float = 0.5  # shortest crop as a fraction of the video
    # tiny LLM only: "image-text" starts each word's embedding as the image tower's text embedding
    # of that word (timechat_align.init_word_embeddings); "random" keeps the LLM's init
    word_init: str = "random"
    # weight of the auxiliary loss pulling each video token towards the tower's image embedding of
    # its frames (timechat_align.VideoTokenAlignment); 0 = off
    align_weight: float = 0.0
    # weight of the auxiliary loss training one attention head (layer ground_attn_layer, head 0)
    # of the LLM, at the answer's positions, towards the video tokens of the answer's span
    # (timechat_attention.GroundingAttention); 0 = off
    ground_attn_weight: float = 0.0
    ground_attn_layer: int = 1
    # what the head is trained towards: "span" = the span's tokens at every answer position;
    # "boundaries" = the start time's tokens while the start number is written, the end time's
    # while the end number is, the span's elsewhere (timechat_attention.GroundingAttention)
    ground_attn_target: str = "span"
    # weight of the auxiliary loss asking fixed read-outs of each video token for the digits of its
    # time (timechat_timecode.VideoTokenTimeDigits); 0 = off
    time_digits_weight: float = 0.0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup_steps", "checkpoint_every", "threads", "lm_pretrain_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if not (self.lr > 0 and self.lm_pretrain_lr > 0):
            raise ValueError("train.lr and train.lm_pretrain_lr must be > 0")
        if self.frame_pool < 1:
            raise ValueError(f"train.frame_pool must be >= 1, got {self.frame_pool}")
        if not (0.0 <= self.crop_prob <= 1.0 and 0.0 < self.crop_min <= 1.0):
            raise ValueError("train.crop_prob must be in [0, 1] and train.crop_min in (0, 1]")
        for name in ("align_weight", "ground_attn_weight", "ground_attn_layer", "time_digits_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.lm_pretrain_batch_size < 1:
            raise ValueError(f"train.lm_pretrain_batch_size must be >= 1, got {self.lm_pretrain_batch_size}")
        for name, allowed in (
            ("precision", PRECISIONS),
            ("llm_mode", LLM_MODES),
            ("device", DEVICES),
            ("word_init", WORD_INITS),
            ("ground_attn_target", GROUND_ATTN_TARGETS),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"train.{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )


@dataclass(frozen=True, kw_only=True)
class EvalSettings:
    """The grounding evaluation run after training."""

    max_new_tokens: int = 32  # greedy decoding budget per answer
    transcription_max_new_tokens: int = 128  # greedy decoding budget per transcription answer
    batch_size: int = 16  # queries per generate call
    parser: str = "default"  # answer parser (chronolens.timebase.text.PARSERS)
    baseline_seed: int = 0  # seed of the uniform-window and random baselines
    baseline_windows: int = 10  # equal windows per video of the uniform-window baseline

    def __post_init__(self) -> None:
        from chronolens.timebase.text import PARSERS

        if self.max_new_tokens < 1 or self.batch_size < 1 or self.baseline_windows < 1:
            raise ValueError("eval.max_new_tokens, eval.batch_size and eval.baseline_windows must be >= 1")
        if self.transcription_max_new_tokens < 1:
            raise ValueError(
                f"eval.transcription_max_new_tokens must be >= 1, got {self.transcription_max_new_tokens}"
            )
        if self.parser not in PARSERS:
            raise ValueError(f"eval.parser must be one of {', '.join(PARSERS)}, got {self.parser!r}")


@dataclass(frozen=True, kw_only=True)
class TimeChatRecipe:
    """Everything that determines a TimeChat training run."""

    preset: str = "tiny"  # model.preset: the TimeChatConfig preset the [model] keys override
    model: TimeChatConfig = field(default_factory=TimeChatConfig.tiny)  # architecture
    data: DataSettings = field(default_factory=DataSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-ready nested dict (``model`` includes ``preset``)."""
        model = {"preset": self.preset, **self.model.to_dict()}
        out: dict[str, Any] = {"model": model}
        for name in ("data", "train", "eval"):
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out


# ---------------------------------------------------------------------------------------------
# Recipe files and key=value overrides (read through the shared chronolens.training.config)
# ---------------------------------------------------------------------------------------------

SECTIONS: dict[str, type] = {
    "model": TimeChatConfig,
    "data": DataSettings,
    "train": TrainSettings,
    "eval": EvalSettings,
}


def load_recipe(path: str | os.PathLike[str] | None, overrides: Sequence[str] = ()) -> TimeChatRecipe:
    """Read a recipe TOML file and apply ``section.key=value`` overrides.

    Args:
        path: the TOML file (``None``: defaults only).
        overrides: ``section.key=value`` strings, applied in order after the file (relative data
            paths resolve against ``data.root``).

    Returns:
        The validated recipe.

    Raises:
        FormatError: unreadable TOML, unknown sections or keys (with the closest valid name),
            values of the wrong type, or values a config rejects.
    """
    source, tables = read_tables(path, overrides, SECTIONS)
    model_table = dict(tables.get("model", {}))
    preset = model_table.pop("preset", "tiny")
    if preset not in PRESETS:
        raise FormatError(f"{source}: model.preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    with invalid_values(source):
        model_values = section_values(TimeChatConfig, model_table, "model", source)
        model = (
            TimeChatConfig.tiny(**model_values) if preset == "tiny" else TimeChatConfig.paper(**model_values)
        )
        settings = {
            name: cls(**section_values(cls, tables.get(name, {}), name, source))
            for name, cls in SECTIONS.items()
            if name != "model"
        }
    train = settings["train"]
    assert isinstance(train, TrainSettings)
    token_losses = {
        name: getattr(train, name)
        for name in ("align_weight", "time_digits_weight", "ground_attn_weight")
        if getattr(train, name) > 0
    }
    if model.compressor != "qformer" and token_losses:
        # These losses map each video token to its frames through the sliding Q-Former's layout
        # (align.chunk_weights); another compressor's tokens stand for other frames.
        names = " ".join(f"train.{n}=0" for n in token_losses)
        raise FormatError(
            f"{source}: model.compressor={model.compressor!r} cannot train with "
            f"{', '.join(f'train.{n}' for n in token_losses)} (they assume the video Q-Former's "
            f"tokens); set {names}"
        )
    return TimeChatRecipe(preset=preset, model=model, **settings)
