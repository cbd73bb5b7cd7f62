"""A small, generic, plain-PyTorch training loop shared by the chronolens recipes.

A recipe supplies a ``TrainTask``: the model, a function that builds the batch for
``(step, micro)`` from a generator seeded by ``(seed, step, micro)`` and a loss. Because a batch
depends only on those numbers, resuming from a checkpoint replays exactly the batches an
uninterrupted run would have seen, with no data-loader state to save.

Features: seed, fixed number of optimizer steps, gradient accumulation, AdamW with linear warmup
then cosine decay, gradient clipping, periodic atomic checkpoints (``checkpoint.py``),
``resume``, a progress bar with loss and throughput (``chronolens.progress``), and a JSON-lines loss log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from chronolens.progress import progress_bar
from chronolens.training.checkpoint import find_latest, load_checkpoint, save_checkpoint

__all__ = ["LoopConfig", "TrainResult", "TrainTask", "cosine_lr", "loop_config", "train"]

logger = logging.getLogger(__name__)

LOG_FILE = "train_log.jsonl"
CHECKPOINT_DIR = "checkpoints"
# Mixes (seed, step, micro) into one generator seed; a large odd prime keeps streams apart.
_SEED_STRIDE = 1_000_003


class TrainTask(Protocol):
    """What a recipe gives the loop."""

    @property
    def model(self) -> nn.Module:
        """The module whose parameters with ``requires_grad=True`` are trained and checkpointed."""
        ...

    def make_batch(self, step: int, micro: int, generator: torch.Generator) -> Any:
        """Build micro-batch ``micro`` of optimizer step ``step`` using only ``generator`` for randomness."""
        ...

    def loss(self, batch: Any) -> torch.Tensor:
        """Forward ``batch`` and return a 0-d loss."""
        ...

    def batch_size(self, batch: Any) -> int:
        """Number of samples in ``batch`` (for throughput)."""
        ...

    def after_step(self) -> None:
        """Called after every optimizer step (e.g. to clamp a logit scale)."""
        ...


@dataclass(frozen=True, kw_only=True)
class LoopConfig:
    """Optimisation settings of one run."""

    steps: int  # optimizer steps in the whole run
    lr: float = 1e-3  # peak learning rate after warmup
    min_lr_ratio: float = 0.0  # final LR of the cosine as a fraction of lr
    warmup_steps: int = 0  # linear warmup from 0 to lr over this many steps
    weight_decay: float = 0.1  # AdamW decoupled weight decay on matrices (not biases/norms/embeddings)
    betas: tuple[float, float] = (0.9, 0.98)  # AdamW betas (CLIP uses 0.98 for stability)
    eps: float = 1e-6  # AdamW epsilon
    grad_accum: int = 1  # micro-batches per optimizer step
    max_grad_norm: float | None = 1.0  # clip the global gradient norm; None disables
    seed: int = 0  # seeds initial RNG and every batch generator
    checkpoint_every: int = 0  # steps between checkpoints; 0 = only at the end
    keep_checkpoints: int = 2  # most recent checkpoints kept on disk
    log_every: int = 50  # steps between logged loss lines
    progress: bool = True  # show a progress bar (drawn only when stderr is a terminal)
    extra: dict[str, Any] = field(default_factory=dict)  # recipe settings recorded in the log header

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ValueError(f"LoopConfig.steps must be >= 1, got {self.steps}")
        if not self.lr > 0:
            raise ValueError(f"LoopConfig.lr must be > 0, got {self.lr}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ValueError(f"LoopConfig.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if not 0 <= self.warmup_steps <= self.steps:
            raise ValueError(f"LoopConfig.warmup_steps must be in [0, steps], got {self.warmup_steps}")
        if self.weight_decay < 0:
            raise ValueError(f"LoopConfig.weight_decay must be >= 0, got {self.weight_decay}")
        if self.grad_accum < 1:
            raise ValueError(f"LoopConfig.grad_accum must be >= 1, got {self.grad_accum}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"LoopConfig.max_grad_norm must be > 0 or None, got {self.max_grad_norm}")
        if self.checkpoint_every < 0:
            raise ValueError(f"LoopConfig.checkpoint_every must be >= 0, got {self.checkpoint_every}")
        if self.keep_checkpoints < 1:
            raise ValueError(f"LoopConfig.keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        if self.log_every < 1:
            raise ValueError(f"LoopConfig.log_every must be >= 1, got {self.log_every}")


def loop_config(*, steps: int, warmup_steps: int = 0, **settings: Any) -> LoopConfig:
    """The ``LoopConfig`` a recipe's settings give: the one place recipes build one.

    A recipe's warmup is clamped to its run's length (a 50-step warmup in a 3-step test run is a
    3-step warmup), the rule every recipe followed when each built its own.

    Args:
        steps: optimizer steps of the run.
        warmup_steps: the recipe's warmup (clamped to ``steps``).
        **settings: any other ``LoopConfig`` field.
    """
    return LoopConfig(steps=steps, warmup_steps=min(warmup_steps, steps), **settings)


@dataclass(frozen=True, slots=True)
class TrainResult:
    """Outcome of ``train``."""

    steps: int  # optimizer steps completed in total (including those before a resume)
    start_step: int  # step the run started from (0, or the resumed checkpoint's)
    final_loss: float  # mean loss of the last step
    wall_s: float  # seconds spent in this call
    samples: int  # samples processed in this call
    losses: list[float]  # per-step mean loss of the steps run in this call


def cosine_lr(step: int, config: LoopConfig) -> float:
    """LR of optimizer step ``step`` (0-based): linear warmup, then cosine down to ``min_lr_ratio * lr``."""
    if config.warmup_steps and step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def _no_decay(name: str, param: nn.Parameter) -> bool:
    # Biases, norm gains, scalars (logit scale) and embedding tables are not decayed (as in CLIP).
    return param.ndim < 2 or "embedding" in name or "norm" in name


def build_optimizer(model: nn.Module, config: LoopConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, with weight decay only on weight matrices."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if param.requires_grad:
            (no_decay if _no_decay(name, param) else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, eps=config.eps)


def batch_generator(seed: int, step: int, micro: int, grad_accum: int) -> torch.Generator:
    """The generator for micro-batch ``micro`` of step ``step``: a pure function of its arguments."""
    return torch.Generator().manual_seed(seed * _SEED_STRIDE + step * grad_accum + micro)


def _append_log(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def train(
    task: TrainTask,
    config: LoopConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Run (or resume) the optimisation described by ``config`` on ``task``.

    Args:
        task: the model, batch builder and loss.
        config: optimisation settings.
        out_dir: run directory; checkpoints go to ``out_dir/checkpoints``, the loss log to
            ``out_dir/train_log.jsonl``.
        resume: continue from the latest complete checkpoint in ``out_dir`` if there is one.
        on_log: optional callback receiving each logged record.

    Returns:
        A ``TrainResult``; the trained weights are in ``task.model``.
    """
    # One function (~100 lines) on purpose: an optimizer step, its logging window and its
    # checkpoint share state (losses, samples, the window's counters) that reads best top to bottom.
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_root = out / CHECKPOINT_DIR
    log_path = out / LOG_FILE
    model = task.model
    optimizer = build_optimizer(model, config)
    torch.manual_seed(config.seed)
    start = 0
    if resume:
        latest = find_latest(ckpt_root)
        if latest is None:
            logger.info("no checkpoint in %s; starting from step 0", ckpt_root)
        else:
            start = load_checkpoint(latest, model, optimizer)
            logger.info("resumed from %s (step %d)", latest.path, start)
    elif find_latest(ckpt_root) is not None:
        logger.warning("%s already holds checkpoints; starting over (pass resume to continue)", ckpt_root)
    _append_log(log_path, {"event": "start", "step": start, "config": _jsonable(config)})

    model.train()
    losses: list[float] = []
    samples = 0
    t0 = time.perf_counter()
    bar = progress_bar(total=config.steps, initial=start, desc="train", unit="step", enabled=config.progress)
    window_loss, window_samples, window_steps, window_t = 0.0, 0, 0, time.perf_counter()
    for step in range(start, config.steps):
        lr = cosine_lr(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        step_loss = 0.0
        for micro in range(config.grad_accum):
            batch = task.make_batch(step, micro, batch_generator(config.seed, step, micro, config.grad_accum))
            loss = task.loss(batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite loss {loss.item()} at step {step}")
            (loss / config.grad_accum).backward()
            step_loss += float(loss.detach()) / config.grad_accum
            n = task.batch_size(batch)
            samples += n
            window_samples += n
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(
                [p for p in model.parameters() if p.requires_grad], config.max_grad_norm
            )
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        task.after_step()
        losses.append(step_loss)
        window_loss += step_loss
        window_steps += 1
        done = step + 1
        if not bar.disable:
            rate = samples / max(time.perf_counter() - t0, 1e-9)
            bar.update(1)
            bar.set_postfix(loss=f"{step_loss:.4f}", lr=f"{lr:.2e}", samples_s=f"{rate:.0f}")
        if done % config.log_every == 0 or done == config.steps:
            elapsed = max(time.perf_counter() - window_t, 1e-9)
            record = {
                "event": "step",
                "step": done,
                "loss": window_loss / window_steps,
                "lr": lr,
                "samples_per_s": window_samples / elapsed,
            }
            logger.info(
                "step %d/%d loss %.4f lr %.2e %.1f samples/s",
                done,
                config.steps,
                record["loss"],
                lr,
                record["samples_per_s"],
            )
            _append_log(log_path, record)
            if on_log is not None:
                on_log(record)
            window_loss, window_samples, window_steps, window_t = 0.0, 0, 0, time.perf_counter()
        if (config.checkpoint_every and done % config.checkpoint_every == 0) or done == config.steps:
            save_checkpoint(ckpt_root, done, model, optimizer, keep=config.keep_checkpoints)
    bar.close()
    wall = time.perf_counter() - t0
    final = losses[-1] if losses else float("nan")
    _append_log(log_path, {"event": "end", "step": config.steps, "wall_s": wall, "final_loss": final})
    model.eval()
    return TrainResult(
        steps=config.steps, start_step=start, final_loss=final, wall_s=wall, samples=samples, losses=losses
    )


def _jsonable(config: LoopConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(config), default=str))
