"""Where and how a TimeChat run computes: device, autocast precision, which weights train."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from chronolens.errors import ChronolensError

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat

__all__ = ["autocast_dtype", "base_llm_names", "resolve_device", "trainable_only"]


def resolve_device(name: str) -> torch.device:
    """``train.device`` as a torch device (``auto``: CUDA when torch sees one)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ChronolensError("train.device = 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
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


@contextlib.contextmanager
def trainable_only(model: torch.nn.Module, names: set[str]) -> Iterator[None]:
    """Temporarily make exactly the parameters in ``names`` trainable."""
    before = {name: p.requires_grad for name, p in model.named_parameters()}
    try:
        for name, p in model.named_parameters():
            p.requires_grad_(name in names)
        yield
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(before[name])


def base_llm_names(model: TimeChat) -> set[str]:
    """Names (in ``model``) of the LLM's own weights, LoRA adapters excluded."""
    prefix = next(name for name, module in model.named_children() if module is model.llm)
    return {f"{prefix}.{name}" for name, _ in model.llm.named_parameters() if "lora_" not in name}
