"""Spatio-temporal pooling: average k x k neighbours on each frame's token grid and s frames in time.

The parameter-free compressor of the video-LLM comparisons (e.g. PLLaVA's adaptive pooling,
LLaVA-Video's 2 x 2 spatial pooling): a T-frame video with an h x w grid of tokens per frame gives
``ceil(T / s) * ceil(h / k) * ceil(w / k)`` tokens. Edges that do not fill a whole window are
averaged over what is there; padded frames never count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from chronolens.models.layers.tokens import CompressedTokens, frame_spans, span_union

__all__ = ["STPool", "STPoolConfig", "grid_shape"]


def grid_shape(tokens_per_unit: int) -> tuple[int, int]:
    """The most nearly square ``(h, w)`` grid with ``h * w == tokens_per_unit`` and ``h <= w``."""
    if tokens_per_unit < 1:
        raise ValueError(f"tokens_per_unit must be >= 1, got {tokens_per_unit}")
    h = max(d for d in range(1, math.isqrt(tokens_per_unit) + 1) if tokens_per_unit % d == 0)
    return h, tokens_per_unit // h


@dataclass(frozen=True, kw_only=True)
class STPoolConfig:
    """Pooling sizes (defaults: 2 x 2 spatial, as LLaVA-Video; 2 frames in time)."""

    kernel: int = 2  # k: k x k neighbouring tokens of a frame's grid are averaged into one
    stride: int = 2  # s: s consecutive frames (units) are averaged into one

    def __post_init__(self) -> None:
        for name in ("kernel", "stride"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"STPoolConfig.{name} must be an integer >= 1, got {value!r}")

    def output_tokens(self, n_frames: int, grid: tuple[int, int] = (1, 1)) -> int:
        """Tokens out for ``n_frames`` frames of an ``(h, w)`` grid: ``ceil(T/s) * ceil(h/k) * ceil(w/k)``."""
        h, w = grid
        if n_frames < 1 or h < 1 or w < 1:
            raise ValueError(f"n_frames and the grid must be >= 1, got {n_frames}, {grid}")
        return math.ceil(n_frames / self.stride) * math.ceil(h / self.kernel) * math.ceil(w / self.kernel)

    @classmethod
    def tiny(cls, **overrides: Any) -> STPoolConfig:
        """The defaults (pooling has no weights to shrink)."""
        return cls(**overrides)


class STPool(nn.Module):
    """Units ``(B, U, K, D)`` with K tokens on an ``(h, w)`` grid -> pooled tokens, frame-major order."""

    def __init__(self, config: STPoolConfig) -> None:
        super().__init__()
        self.config = config

    def forward(
        self,
        units: torch.Tensor,
        unit_mask: torch.Tensor,
        unit_spans: torch.Tensor | None = None,
        *,
        grid: tuple[int, int] | None = None,
    ) -> CompressedTokens:
        """Pool.

        Args:
            units: ``(B, U, K, D)``.
            unit_mask: ``(B, U)`` bool, True = a real unit.
            unit_spans: ``(B, U, 2)`` frame spans (default: unit u is frame u).
            grid: ``(h, w)`` with ``h * w == K``; default ``grid_shape(K)``.

        Returns:
            ``(B, ceil(U/s) * ceil(h/k) * ceil(w/k), D)`` tokens; each stands for its s units.
        """
        batch, n_units, per_unit, dim = units.shape
        h, w = grid if grid is not None else grid_shape(per_unit)
        if h * w != per_unit:
            raise ValueError(f"grid {(h, w)} does not hold {per_unit} tokens per unit")
        k, s = self.config.kernel, self.config.stride
        ut, uh, uw = math.ceil(n_units / s), math.ceil(h / k), math.ceil(w / k)
        unit_mask = unit_mask.bool()
        x = units.reshape(batch, n_units, h, w, dim)
        weight = unit_mask[:, :, None, None].expand(-1, -1, h, w).to(units.dtype)  # (B, U, h, w)
        pad = (0, uw * k - w, 0, uh * k - h, 0, ut * s - n_units)
        x = nn.functional.pad(x, (0, 0, *pad))  # (B, ut*s, uh*k, uw*k, D)
        weight = nn.functional.pad(weight, pad)
        x = x * weight[..., None]
        x = x.reshape(batch, ut, s, uh, k, uw, k, dim).sum(dim=(2, 4, 6))  # (B, ut, uh, uw, D)
        count = weight.reshape(batch, ut, s, uh, k, uw, k).sum(dim=(2, 4, 6))  # (B, ut, uh, uw)
        tokens = (x / count.clamp(min=1.0)[..., None]).reshape(batch, ut * uh * uw, dim)
        real = count.reshape(batch, ut * uh * uw) > 0
        spans = frame_spans(unit_mask) if unit_spans is None else unit_spans
        group_mask = nn.functional.pad(unit_mask, (0, ut * s - n_units)).reshape(batch, ut, s)
        group_spans = nn.functional.pad(spans, (0, 0, 0, ut * s - n_units), value=-1).reshape(batch, ut, s, 2)
        unit_group = span_union(group_spans, group_mask)  # (B, ut, 2)
        token_spans = unit_group[:, :, None, :].expand(-1, -1, uh * uw, -1).reshape(batch, ut * uh * uw, 2)
        return CompressedTokens(tokens=tokens, mask=real, spans=token_spans.clone())
