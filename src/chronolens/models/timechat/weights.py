"""TimeChat checkpoints: the trained weights only, plus what is needed to rebuild the rest.

A checkpoint directory holds

- ``config.json``: ``TimeChatConfig.to_dict()``;
- ``checkpoint.json``: format version, whether the whole LLM was trained, the trained names;
- ``trained.safetensors``: every parameter that trains (Q-Formers, queries, frame positions,
  projection, LoRA; the LLM too after ``unfreeze_llm``), by ``TimeChat.named_parameters`` name;
- for ``llm="tiny"``: ``frozen.safetensors`` with the remaining (random-init) LLM weights, which
  must persist, and ``tokenizer/`` with the word-level tokenizer.

A pretrained LLM's base weights are not copied: they are loaded again from ``config.llm``. The
directory is written beside its destination and swapped in, so a kill never leaves half a
checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from chronolens.atomic import atomic_directory, write_json_atomic
from chronolens.errors import ChronolensError, ModelNotFoundError
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.models.timechat.model import TimeChat
from chronolens.models.tokenizer_files import save_portable_tokenizer

__all__ = ["CHECKPOINT_FILE", "CONFIG_FILE", "FORMAT_VERSION", "load_timechat", "save_timechat"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.json"
TRAINED_FILE = "trained.safetensors"
FROZEN_FILE = "frozen.safetensors"
TOKENIZER_DIR = "tokenizer"


def _tensors(model: TimeChat, *, trained: bool) -> dict[str, torch.Tensor]:
    return {
        name: param.detach().to("cpu").contiguous()
        for name, param in model.named_parameters()
        if param.requires_grad == trained
    }


def save_timechat(model: TimeChat, directory: str | os.PathLike[str]) -> Path:
    """Write a checkpoint of ``model`` to ``directory`` (replaced atomically if it exists).

    Args:
        model: the model.
        directory: destination folder.

    Returns:
        ``directory`` as a ``Path``.
    """
    from safetensors.torch import save_file

    out = Path(directory)
    with atomic_directory(out) as tmp:
        trained = _tensors(model, trained=True)
        save_file(trained, str(tmp / TRAINED_FILE), metadata={"format": "pt"})
        if model.config.is_tiny_llm:
            frozen = _tensors(model, trained=False)
            save_file(frozen, str(tmp / FROZEN_FILE), metadata={"format": "pt"})
            save_portable_tokenizer(model.tokenizer, tmp / TOKENIZER_DIR)
        write_json_atomic(tmp / CONFIG_FILE, model.config.to_dict(), indent=2)
        write_json_atomic(
            tmp / CHECKPOINT_FILE,
            {
                "format_version": FORMAT_VERSION,
                "llm_trainable": model.llm_trainable,
                "trained": sorted(trained),
            },
            indent=1,
        )
    logger.info("saved TimeChat checkpoint (%d trained tensors) to %s", len(trained), out)
    return out


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise ModelNotFoundError(f"{path.parent} is not a TimeChat checkpoint: {path.name} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChronolensError(f"corrupt TimeChat checkpoint file {path}: {exc}") from exc


def _read_tensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    if not path.is_file():
        raise ModelNotFoundError(
            f"{path.parent} is not a complete TimeChat checkpoint: {path.name} is missing"
        )
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own SafetensorError for truncated/garbled files
        raise ChronolensError(f"corrupt TimeChat weights file {path}: {exc}") from exc


def load_timechat(directory: str | os.PathLike[str], *, device: str | torch.device | None = None) -> TimeChat:
    """Rebuild a model saved by ``save_timechat``.

    Args:
        directory: the checkpoint folder.
        device: where to put the model; default CPU.

    Returns:
        The model in eval mode; its trainable set is as it was when saved.

    Raises:
        ModelNotFoundError: no such directory, a missing file, or the base LLM cannot be loaded.
        ChronolensError: a corrupt file, a newer format, or weights that do not fit the config.
    """
    from transformers import AutoTokenizer

    root = Path(directory)
    if not root.is_dir():
        raise ModelNotFoundError(f"TimeChat checkpoint directory {root} does not exist")
    meta = _read_json(root / CHECKPOINT_FILE)
    if not isinstance(meta, dict) or not isinstance(meta.get("format_version"), int):
        raise ChronolensError(f"corrupt TimeChat checkpoint file {root / CHECKPOINT_FILE}: no format_version")
    if meta["format_version"] > FORMAT_VERSION:
        raise ChronolensError(
            f"{root} has checkpoint format {meta['format_version']}; this chronolens reads up to "
            f"{FORMAT_VERSION}: upgrade chronolens"
        )
    raw_config = _read_json(root / CONFIG_FILE)
    try:
        config = TimeChatConfig.from_dict(raw_config)
    except (TypeError, ValueError) as exc:
        raise ChronolensError(f"invalid TimeChat config in {root / CONFIG_FILE}: {exc}") from exc
    trained = _read_tensors(root / TRAINED_FILE)
    if config.is_tiny_llm:
        frozen = _read_tensors(root / FROZEN_FILE)
        try:
            tokenizer = AutoTokenizer.from_pretrained(root / TOKENIZER_DIR, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"cannot read the tokenizer of checkpoint {root}: {exc}") from exc
        model = TimeChat(config, tokenizer=tokenizer)
    else:
        frozen = {}
        model = TimeChat.build(config)
    if meta.get("llm_trainable"):
        model.unfreeze_llm()
    expected = {name for name, p in model.named_parameters() if p.requires_grad}
    if set(trained) != expected:
        missing = sorted(expected - set(trained))[:5]
        extra = sorted(set(trained) - expected)[:5]
        raise ChronolensError(
            f"TimeChat checkpoint {root} does not fit its config: missing {missing}, unexpected {extra}"
        )
    state = {**frozen, **trained}
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, tensor in state.items():
            param = params.get(name)
            if param is None:
                raise ChronolensError(f"TimeChat checkpoint {root} holds unknown weight {name!r}")
            if param.shape != tensor.shape:
                raise ChronolensError(
                    f"TimeChat checkpoint {root}: {name} has shape {tuple(tensor.shape)}, the model "
                    f"expects {tuple(param.shape)}"
                )
            param.copy_(tensor)
    if config.is_tiny_llm and set(state) != set(params):
        raise ChronolensError(f"TimeChat checkpoint {root} lacks {len(set(params) - set(state))} LLM weights")
    model.to(torch.device(device) if device is not None else torch.device("cpu"))
    model.eval()
    logger.info("loaded TimeChat checkpoint %s (%s LLM)", root, config.llm)
    return model
