"""Perceiver resampler (Flamingo, Alayrac et al. 2022): N learned latents read any number of tokens.

A fixed set of latent queries cross-attends to the video's tokens (plus learned temporal
embeddings per unit) through a few layers, so the output is always ``latents`` tokens whatever
the length of the video. Each attention layer lets the latents attend to the concatenation of the
media tokens and the latents themselves, as in Flamingo's ``PerceiverAttention``
(lucidrains/flamingo-pytorch ``PerceiverResampler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from chronolens.models.layers.tokens import CompressedTokens, frame_spans, span_union

__all__ = ["PerceiverConfig", "PerceiverResampler"]


@dataclass(frozen=True, kw_only=True)
class PerceiverConfig:
    """Perceiver resampler sizes; defaults are Flamingo's (64 latents, 6 layers, 8 heads of 64)."""

    dim: int = 1024  # D, width of the input and output tokens
    latents: int = 64  # N learned latent queries = output tokens per video
    layers: int = 6  # cross-attention + feed-forward blocks
    heads: int = 8  # attention heads
    head_dim: int = 64  # width of one head
    ff_mult: int = 4  # feed-forward width = ff_mult * dim
    max_units: int = 96  # size of the learned temporal embedding table (frames or windows per video)
    init_std: float = 0.02  # std of the latents' and time embeddings' random init

    def __post_init__(self) -> None:
        for name in ("dim", "latents", "layers", "heads", "head_dim", "ff_mult", "max_units"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PerceiverConfig.{name} must be an integer >= 1, got {value!r}")
        if not 0.0 < self.init_std <= 1.0:
            raise ValueError(f"PerceiverConfig.init_std must be in (0, 1], got {self.init_std!r}")

    def output_tokens(self, n_frames: int, tokens_per_frame: int = 1) -> int:
        """Tokens out for ``n_frames`` frames: always ``latents``, whatever the input length."""
        if n_frames < 1 or tokens_per_frame < 1:
            raise ValueError(
                f"n_frames and tokens_per_frame must be >= 1, got {n_frames}, {tokens_per_frame}"
            )
        return self.latents

    @classmethod
    def tiny(cls, **overrides: Any) -> PerceiverConfig:
        """Sizes for unit tests: 32 wide, 4 latents, 1 layer."""
        values: dict[str, Any] = {"dim": 32, "latents": 4, "layers": 1, "heads": 2, "head_dim": 16}
        values.update({"ff_mult": 2, "max_units": 16, "init_std": 0.2})
        return cls(**{**values, **overrides})


class _PerceiverAttention(nn.Module):
    """Latents attend to ``[media; latents]`` (Flamingo's ``PerceiverAttention``)."""

    def __init__(self, config: PerceiverConfig) -> None:
        super().__init__()
        inner = config.heads * config.head_dim
        self.heads = config.heads
        self.norm_media = nn.LayerNorm(config.dim)
        self.norm_latents = nn.LayerNorm(config.dim)
        self.to_q = nn.Linear(config.dim, inner, bias=False)
        self.to_kv = nn.Linear(config.dim, 2 * inner, bias=False)
        self.to_out = nn.Linear(inner, config.dim, bias=False)

    def forward(self, media: torch.Tensor, latents: torch.Tensor, media_mask: torch.Tensor) -> torch.Tensor:
        """``media (B, N, D)``, ``latents (B, L, D)``, ``media_mask (B, N)`` bool -> ``(B, L, D)``."""
        media, latents = self.norm_media(media), self.norm_latents(latents)
        batch, n_latents, _ = latents.shape
        q = self.to_q(latents)  # (B, L, inner)
        k, v = self.to_kv(torch.cat([media, latents], dim=1)).chunk(2, dim=-1)  # (B, N + L, inner)

        def heads(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(batch, x.shape[1], self.heads, -1).transpose(1, 2)  # (B, h, *, d)

        # The latents are always visible keys, so no row softmaxes over nothing.
        keys = torch.cat([media_mask.bool(), media_mask.new_ones(batch, n_latents, dtype=torch.bool)], dim=1)
        out = nn.functional.scaled_dot_product_attention(
            heads(q), heads(k), heads(v), attn_mask=keys[:, None, None, :]
        )  # (B, h, L, d)
        return self.to_out(out.transpose(1, 2).reshape(batch, n_latents, -1))


class PerceiverResampler(nn.Module):
    """Units ``(B, U, K, D)`` -> ``latents`` tokens ``(B, N, D)`` (Flamingo's ``PerceiverResampler``)."""

    def __init__(self, config: PerceiverConfig) -> None:
        super().__init__()
        self.config = config
        self.latents = nn.Parameter(torch.empty(config.latents, config.dim))
        self.time_embedding = nn.Parameter(torch.empty(config.max_units, 1, config.dim))
        nn.init.normal_(self.latents, std=config.init_std)
        nn.init.normal_(self.time_embedding, std=config.init_std)
        self.attention = nn.ModuleList(_PerceiverAttention(config) for _ in range(config.layers))
        width = config.ff_mult * config.dim
        self.feed_forward = nn.ModuleList(
            nn.Sequential(
                nn.LayerNorm(config.dim),
                nn.Linear(config.dim, width, bias=False),
                nn.GELU(),
                nn.Linear(width, config.dim, bias=False),
            )
            for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.dim)

    def forward(
        self, units: torch.Tensor, unit_mask: torch.Tensor, unit_spans: torch.Tensor | None = None
    ) -> CompressedTokens:
        """Resample.

        Args:
            units: ``(B, U, K, D)`` tokens, K per unit (frame or window).
            unit_mask: ``(B, U)`` bool, True = a real unit; padded units never influence outputs.
            unit_spans: ``(B, U, 2)`` frame spans of the units (default: unit u is frame u).

        Returns:
            ``latents`` tokens per video; each stands for the whole video (the span of all its real
            units); a video without real units gets no real token.
        """
        batch, n_units, per_unit, dim = units.shape
        if n_units > self.config.max_units:
            raise ValueError(
                f"{n_units} units exceed the temporal embedding table (PerceiverConfig.max_units="
                f"{self.config.max_units})"
            )
        unit_mask = unit_mask.bool()
        media = (units + self.time_embedding[:n_units][None]).reshape(batch, n_units * per_unit, dim)
        media_mask = unit_mask[..., None].expand(-1, -1, per_unit).reshape(batch, n_units * per_unit)
        latents = self.latents[None].expand(batch, -1, -1)  # (B, N, D)
        for attention, feed_forward in zip(self.attention, self.feed_forward, strict=True):
            latents = latents + attention(media, latents, media_mask)
            latents = latents + feed_forward(latents)
        valid = unit_mask.any(dim=1)  # (B,)
        n = self.config.latents
        mask = valid[:, None].expand(-1, n)
        tokens = self.norm(latents) * mask[..., None].to(latents.dtype)
        spans = frame_spans(unit_mask) if unit_spans is None else unit_spans
        whole = span_union(spans, unit_mask)  # (B, 2)
        return CompressedTokens(tokens=tokens, mask=mask, spans=whole[:, None, :].expand(-1, n, -1).clone())
