"""Training checkpoints: trainable weights in safetensors, optimizer state, step and RNG, written atomically.

Layout of one checkpoint (a directory, renamed into place only once complete)::

    OUT/checkpoints/step-00000100/
        model.safetensors   trainable parameters (name -> tensor)
        optimizer.pt        optimizer state_dict (loaded with weights_only=True)
        state.json          {"step": 100, "rng": {...}}  -- written last
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from chronolens.errors import ChronolensError

__all__ = ["Checkpoint", "find_latest", "load_checkpoint", "rng_state", "save_checkpoint", "set_rng_state"]

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
OPTIMIZER_FILE = "optimizer.pt"
STATE_FILE = "state.json"
_STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A complete checkpoint directory on disk."""

    path: Path  # the step-XXXXXXXX directory
    step: int  # optimizer steps completed when it was written


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters that require grad, detached, contiguous and on CPU (safetensors-ready)."""
    return {
        name: p.detach().to("cpu").contiguous().clone()
        for name, p in model.named_parameters()
        if p.requires_grad
    }


def rng_state() -> dict[str, Any]:
    """Capture Python, NumPy and torch CPU RNG states as JSON-serialisable values."""
    py_version, py_state, py_gauss = random.getstate()
    np_state: tuple[Any, ...] = tuple(np.random.get_state())
    return {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state().tolist(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the states captured by ``rng_state``."""
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))


def save_checkpoint(
    root: str | os.PathLike[str],
    step: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    keep: int = 2,
) -> Checkpoint:
    """Write a checkpoint for ``step`` under ``root`` atomically and prune older ones.

    The files go into a hidden temporary directory that is renamed to ``step-XXXXXXXX`` only
    once every file is written, so a kill leaves either a complete checkpoint or none.

    Args:
        root: the checkpoints directory.
        step: optimizer steps completed.
        model: its trainable parameters are saved.
        optimizer: its state_dict is saved.
        keep: how many most recent checkpoints to keep (>= 1).

    Returns:
        The checkpoint written.
    """
    from safetensors.torch import save_file

    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")
    root_path = Path(root)
    root_path.mkdir(parents=True, exist_ok=True)
    final = root_path / f"step-{step:08d}"
    tmp = root_path / f".step-{step:08d}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file(trainable_state(model), str(tmp / WEIGHTS_FILE), metadata={"step": str(step)})
    torch.save(optimizer.state_dict(), tmp / OPTIMIZER_FILE)
    (tmp / STATE_FILE).write_text(json.dumps({"step": step, "rng": rng_state()}), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    logger.info("checkpoint saved: %s", final)
    for old in _complete(root_path)[:-keep]:
        shutil.rmtree(old.path, ignore_errors=True)
    return Checkpoint(path=final, step=step)


def _complete(root: Path) -> list[Checkpoint]:
    found = []
    if root.is_dir():
        for child in root.iterdir():
            match = _STEP_DIR.match(child.name)
            if match and (child / STATE_FILE).is_file() and (child / WEIGHTS_FILE).is_file():
                found.append(Checkpoint(path=child, step=int(match.group(1))))
    return sorted(found, key=lambda c: c.step)


def find_latest(root: str | os.PathLike[str]) -> Checkpoint | None:
    """The most recent complete checkpoint under ``root``, or ``None``."""
    found = _complete(Path(root))
    return found[-1] if found else None


def load_checkpoint(checkpoint: Checkpoint, model: nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Load weights, optimizer state and RNG state from ``checkpoint``; return its step.

    Raises:
        ChronolensError: when the checkpoint does not match the model's trainable parameters.
    """
    from safetensors.torch import load_file

    weights = load_file(str(checkpoint.path / WEIGHTS_FILE))
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(weights) != expected:
        missing, extra = sorted(expected - set(weights)), sorted(set(weights) - expected)
        raise ChronolensError(
            f"checkpoint {checkpoint.path} does not match the model "
            f"(missing {missing[:3]}, unexpected {extra[:3]})"
        )
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in weights.items():
            params[name].copy_(tensor)
    optimizer.load_state_dict(torch.load(checkpoint.path / OPTIMIZER_FILE, weights_only=True))
    state = json.loads((checkpoint.path / STATE_FILE).read_text(encoding="utf-8"))
    set_rng_state(state["rng"])
    return int(state["step"])
