"""The recipe that trains a Moment-DETR / QD-DETR head: ``chronolens train moment-detr --data DIR``.

Index the dataset's videos with the recipe's encoder into a library (incremental), turn every
QVHighlights query into clip + token features, train the head through the generic loop (seeded
batches, atomic checkpoints, resume, progress), export ``OUT/model`` (``save_head``: weights,
config and the extractor of its features) and score the validation split with the predictor
(sliding windows + the one NMS) and ``chronolens.metrics.qvhighlights``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chronolens.errors import ChronolensError
from chronolens.models.moment_detr.checkpoint import save_head
from chronolens.models.moment_detr.config import LossConfig, MomentDETRConfig
from chronolens.models.moment_detr.features import ClipFeatures, library_extractor
from chronolens.models.moment_detr.losses import Targets, set_criterion
from chronolens.models.moment_detr.model import ARCHS, DETRHead, build_head
from chronolens.models.moment_detr.targets import make_targets
from chronolens.tasks.ground.moment_detr import MomentDETRPredictor
from chronolens.timebase.grid import CLIP_LENGTH
from chronolens.training.config import invalid_values, read_tables, section_values
from chronolens.training.loop import LoopConfig, TrainResult, loop_config, train
from chronolens.training.recipes.moment_detr.data import Example, crop, load_examples, read_split

__all__ = [
    "SECTIONS",
    "DETRBatch",
    "MomentDETRRecipeConfig",
    "MomentDETRTask",
    "RecipeResult",
    "default_config",
    "load_config",
    "run_moment_detr",
    "run_recipe",
]

logger = logging.getLogger(__name__)

MODEL_DIR = "model"  # the exported head inside the run directory
LIBRARY_DIR = "library"  # the dataset's library inside the run directory (unless ``library`` is set)


@dataclass(frozen=True, kw_only=True)
class MomentDETRRecipeConfig:
    """Everything that determines a moment-detr training run."""

    model: MomentDETRConfig = field(
        default_factory=MomentDETRConfig
    )  # head sizes (dims set from the encoder)
    arch: str = "moment-detr"  # "moment-detr" | "qd-detr"
    encoder: str = "builtin:synth-clip"  # encoder registry name of clip and query features
    library: str = ""  # library directory holding the dataset's videos ("": OUT/library)
    train_split: str = "train"  # annotation split trained on
    val_split: str = "val"  # annotation split scored after training ("": none)
    steps: int = 2000  # optimizer steps
    batch_size: int = 32  # windows per step (moment_detr's bsz)
    lr: float = 1e-4  # peak learning rate (moment_detr's)
    weight_decay: float = 1e-4  # AdamW decay (moment_detr's)
    warmup_steps: int = 50  # linear warmup steps
    max_grad_norm: float = 0.1  # gradient clipping (moment_detr's grad_clip)
    saliency_pairs: int = 2  # (positive, negative) clip pairs per window for the margin loss
    seed: int = 0  # init, batches
    checkpoint_every: int = 250  # steps between checkpoints
    threads: int = 2  # torch intra-op threads
    progress: bool = True  # progress bars

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(
                f"MomentDETRRecipeConfig.arch must be one of {', '.join(ARCHS)}, got {self.arch!r}"
            )
        for name in ("steps", "batch_size", "saliency_pairs", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"MomentDETRRecipeConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.arch == "qd-detr" and self.batch_size < 2:
            raise ValueError("MomentDETRRecipeConfig.batch_size must be >= 2 for qd-detr (negative pairs)")

    @property
    def loss(self) -> LossConfig:
        """The arch's loss (QD-DETR adds rank-contrastive and negative-pair terms)."""
        return LossConfig.qd_detr() if self.arch == "qd-detr" else LossConfig()


# [model] is the head (MomentDETRConfig), [train] every other setting; progress is a run-time switch.
SECTIONS: dict[str, type] = {"model": MomentDETRConfig, "train": MomentDETRRecipeConfig}
_NOT_TRAIN_SETTINGS = ("model", "progress")


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()
) -> MomentDETRRecipeConfig:
    """Read a moment-detr config TOML (``[model]``, ``[train]``) and apply ``section.key=value`` overrides.

    Raises:
        FormatError: unreadable TOML, unknown keys (with the closest), wrong types, rejected values.
    """
    source, tables = read_tables(path, overrides, SECTIONS)
    with invalid_values(source):
        model = MomentDETRConfig(**section_values(MomentDETRConfig, tables.get("model", {}), "model", source))
        values = section_values(
            MomentDETRRecipeConfig, tables.get("train", {}), "train", source, exclude=_NOT_TRAIN_SETTINGS
        )
        return MomentDETRRecipeConfig(model=model, **values)


def default_config() -> MomentDETRRecipeConfig:
    """The recipe's settings with every default (the registry's entry point)."""
    return MomentDETRRecipeConfig()


@dataclass(frozen=True, slots=True)
class DETRBatch:
    """One training batch of windows."""

    video: torch.Tensor  # (B, T, D) clip features, zero-padded
    video_mask: torch.Tensor  # (B, T) bool
    text: torch.Tensor  # (B, L, D) token features
    text_mask: torch.Tensor  # (B, L) bool
    targets: Targets


@dataclass(frozen=True, slots=True)
class RecipeResult:
    """What a finished run produced."""

    model_dir: Path  # the exported head (MomentDETRPredictor.from_checkpoint reads it)
    train: TrainResult  # loop outcome
    metrics: dict[str, Any]  # the validation split's QVHighlights "brief" metrics (x100); {} without one
    wall_s: float  # the whole recipe, indexing and evaluation included


class MomentDETRTask:
    """Set-prediction training of a head over cropped windows (implements ``loop.TrainTask``)."""

    def __init__(self, head: DETRHead, examples: Sequence[Example], config: MomentDETRRecipeConfig) -> None:
        if not examples:
            raise ChronolensError("no training queries")
        self.model = head
        self.examples = list(examples)
        self.config = config
        self.loss_config = config.loss

    def make_batch(self, step: int, micro: int, generator: torch.Generator) -> DETRBatch:
        """``batch_size`` queries drawn with ``generator``, each cropped to the head's window length."""
        del step, micro  # the generator is already seeded by them
        picks = torch.randint(len(self.examples), (self.config.batch_size,), generator=generator).tolist()
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (), generator=generator)))
        crops = [crop(self.examples[i], self.model.config.max_clips, rng) for i in picks]
        t_max = max(c.shape[0] for c, _, _ in crops)
        l_max = max(self.examples[i].tokens.shape[0] for i in picks)
        dim = crops[0][0].shape[1]
        video = np.zeros((len(picks), t_max, dim), np.float32)
        text = np.zeros((len(picks), l_max, dim), np.float32)
        video_mask = np.zeros((len(picks), t_max), bool)
        text_mask = np.zeros((len(picks), l_max), bool)
        for b, (i, (clips, _, _)) in enumerate(zip(picks, crops, strict=True)):
            video[b, : len(clips)], video_mask[b, : len(clips)] = clips, True
            tokens = self.examples[i].tokens
            text[b, : len(tokens)], text_mask[b, : len(tokens)] = tokens, True
        targets = make_targets(
            [m.tolist() for _, m, _ in crops],
            [lv for _, _, lv in crops],
            [c.shape[0] * CLIP_LENGTH for c, _, _ in crops],
            pairs=self.config.saliency_pairs,
            rng=rng,
        )
        return DETRBatch(
            video=torch.as_tensor(video),
            video_mask=torch.as_tensor(video_mask),
            text=torch.as_tensor(text),
            text_mask=torch.as_tensor(text_mask),
            targets=targets,
        )

    def loss(self, batch: DETRBatch) -> torch.Tensor:
        """The weighted set-prediction loss (``losses.set_criterion``)."""
        out = self.model(batch.video, batch.video_mask, batch.text, batch.text_mask)
        return set_criterion(out, batch.targets, self.loss_config)["loss"]

    def batch_size(self, batch: DETRBatch) -> int:
        """Windows in ``batch``."""
        return int(batch.video.shape[0])

    def after_step(self) -> None:
        """Nothing to do after a step."""


def _loop_config(config: MomentDETRRecipeConfig) -> LoopConfig:
    return loop_config(
        steps=config.steps,
        lr=config.lr,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        betas=(0.9, 0.999),
        eps=1e-8,
        max_grad_norm=config.max_grad_norm,
        seed=config.seed,
        checkpoint_every=config.checkpoint_every,
        progress=config.progress,
        extra={"recipe": "moment-detr", "arch": config.arch},
    )


def evaluate(predictor: MomentDETRPredictor, examples: Sequence[Example]) -> dict[str, Any]:
    """QVHighlights metrics of ``predictor`` on ``examples`` (``evaluate_qvhighlights``'s ``brief``)."""
    from chronolens.metrics.qvhighlights import evaluate_qvhighlights

    predictions = []
    for ex in examples:
        clips = ClipFeatures(ex.clips, duration=float(ex.record.duration))
        pred = predictor.predict_features(clips, ex.tokens).to_qvhighlights()
        predictions.append({"qid": ex.record.qid, "query": ex.record.query, "vid": ex.record.vid, **pred})
    metrics: dict[str, Any] = evaluate_qvhighlights(predictions, [ex.record.to_json() for ex in examples])[
        "brief"
    ]
    return metrics


def run_moment_detr(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: MomentDETRRecipeConfig,
    *,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    command: str = "",
) -> RecipeResult:
    """Index, train, export and score a head.

    Args:
        data_dir: QVHighlights-format annotations under ``annotations/`` and the videos.
        out_dir: run directory (``library/``, ``checkpoints/``, ``train_log.jsonl``, ``model/``).
        config: the run's settings.
        resume: continue from the latest checkpoint in ``out_dir``.
        on_log: receives each logged training record.
        command: the command line, recorded in the checkpoint.
    """
    from chronolens.library import Library
    from chronolens.tasks.ground.nms import temporal_nms

    started = time.perf_counter()
    out = Path(out_dir)
    torch.set_num_threads(config.threads)
    library_dir = Path(config.library) if config.library else out / LIBRARY_DIR
    with Library.open(library_dir, model=config.encoder if not Library.exists(library_dir) else None) as lib:
        extractor = library_extractor(lib)
        if lib.manifest.encoder != config.encoder:
            raise ChronolensError(
                f"library {library_dir} holds {lib.manifest.encoder} features, "
                f"the config asks for {config.encoder}"
            )
        train_examples = load_examples(
            data_dir, read_split(data_dir, config.train_split), lib, progress=config.progress
        )
        val_examples = (
            load_examples(data_dir, read_split(data_dir, config.val_split), lib, progress=config.progress)
            if config.val_split
            else []
        )
    model_config = replace(config.model, video_dim=extractor.dim, text_dim=extractor.dim)
    head = build_head(config.arch, model_config, seed=config.seed)
    result = train(
        MomentDETRTask(head, train_examples, config), _loop_config(config), out, resume=resume, on_log=on_log
    )
    provenance = {
        "command": command,
        "steps": result.steps,
        "recipe": asdict(replace(config, model=model_config)),
    }
    model_dir = save_head(head, extractor, out / MODEL_DIR, extra=provenance)
    metrics: dict[str, Any] = {}
    if val_examples:
        metrics = evaluate(MomentDETRPredictor(head, extractor, suppress=temporal_nms), val_examples)
        logger.info("val %s", {k: round(v, 2) for k, v in metrics.items() if isinstance(v, float)})
    return RecipeResult(
        model_dir=model_dir, train=result, metrics=metrics, wall_s=time.perf_counter() - started
    )


def run_recipe(
    config: MomentDETRRecipeConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str = "",
) -> RecipeResult:
    """The registry's entry point: :func:`run_moment_detr` on ``data_dir``.

    Raises:
        ChronolensError: no ``data_dir``.
    """
    # The loop's own log lines are the recipe's only ones (as builtin-clip): the CLI's loss-line
    # printer reads TimeChat's record fields, which the generic loop's records do not have.
    del on_log
    if data_dir is None:
        raise ChronolensError("the moment-detr recipe needs a dataset directory (--data)")
    config = replace(config, progress=config.progress and progress)
    return run_moment_detr(data_dir, out_dir, config, resume=resume, command=command)
