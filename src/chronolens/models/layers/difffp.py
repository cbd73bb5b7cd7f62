"""DiffFP (VideoLLaMA3, Zhang et al. 2025): prune patches that barely change from the previous frame.

A patch is dropped when the mean absolute difference of its pixels to the same patch of the
previous frame is below a threshold (VideoLLaMA3's 0.1 on pixels in [0, 1]); the first frame is
kept whole. Kept patches are packed in time order, and each keeps its frame and patch position,
so the time a token stands for is never lost. ``keep_mask`` takes any ``(B, T, P, C)`` patch
values: pixel patches from ``patchify`` as in the paper, or tokens where pixels are not at hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from chronolens.models.layers.tokens import CompressedTokens, frame_spans

__all__ = ["DiffFP", "DiffFPConfig", "PackedPatches", "patchify"]


@dataclass(frozen=True, kw_only=True)
class DiffFPConfig:
    """DiffFP settings; defaults are VideoLLaMA3's (threshold 0.1 on [0, 1] pixels, 14-pixel patches)."""

    threshold: float = 0.1  # a patch whose mean |difference| to the previous frame's is below this is dropped
    patch: int = 14  # side of a square pixel patch (``patchify``)

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not self.threshold >= 0.0:
            raise ValueError(f"DiffFPConfig.threshold must be >= 0, got {self.threshold!r}")
        if not isinstance(self.patch, int) or isinstance(self.patch, bool) or self.patch < 1:
            raise ValueError(f"DiffFPConfig.patch must be an integer >= 1, got {self.patch!r}")

    def output_tokens(self, n_frames: int, patches_per_frame: int = 1, kept_fraction: float = 1.0) -> int:
        """Tokens out: the first frame whole plus ``kept_fraction`` of the later frames' patches.

        DiffFP's count depends on the video; ``kept_fraction=1`` (every patch changes) is the upper
        bound, 0 (a still video) the lower one.
        """
        if n_frames < 1 or patches_per_frame < 1 or not 0.0 <= kept_fraction <= 1.0:
            raise ValueError(
                f"need n_frames >= 1, patches_per_frame >= 1, kept_fraction in [0, 1]; got "
                f"{n_frames}, {patches_per_frame}, {kept_fraction}"
            )
        return patches_per_frame + math.ceil((n_frames - 1) * patches_per_frame * kept_fraction)

    @classmethod
    def tiny(cls, **overrides: Any) -> DiffFPConfig:
        """4-pixel patches (tiny test frames)."""
        return cls(**{"patch": 4, **overrides})


def patchify(frames: torch.Tensor, patch: int) -> torch.Tensor:
    """``(B, T, H, W, C)`` pixels -> ``(B, T, (H/p) * (W/p), p * p * C)`` patches, row-major.

    Raises:
        ValueError: H or W is not a multiple of ``patch``.
    """
    batch, n_frames, height, width, channels = frames.shape
    if height % patch or width % patch:
        raise ValueError(f"frame size {height}x{width} is not a multiple of the patch size {patch}")
    gh, gw = height // patch, width // patch
    x = frames.reshape(batch, n_frames, gh, patch, gw, patch, channels).permute(0, 1, 2, 4, 3, 5, 6)
    return x.reshape(batch, n_frames, gh * gw, patch * patch * channels)


@dataclass
class PackedPatches:
    """Kept patches packed per video, in time order."""

    tokens: torch.Tensor  # (B, N, D) zeros where ``mask`` is False
    mask: torch.Tensor  # (B, N) bool
    frames: torch.Tensor  # (B, N) long: unit (frame) index of each token, -1 for padding
    patches: torch.Tensor  # (B, N) long: patch index within its frame, -1 for padding


class DiffFP(nn.Module):
    """Pixel-difference patch pruning (VideoLLaMA3's DiffFP); no weights."""

    def __init__(self, config: DiffFPConfig) -> None:
        super().__init__()
        self.config = config

    def keep_mask(self, values: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Which patches survive.

        Args:
            values: ``(B, T, P, C)`` what is compared (pixel patches in [0, 1] in the paper).
            frame_mask: ``(B, T)`` bool, real frames first, padding after.

        Returns:
            ``(B, T, P)`` bool: all of the first frame; a later patch iff its mean absolute
            difference to the same patch of the previous frame is >= ``threshold``; none of padding.
        """
        keep = torch.ones(values.shape[:3], dtype=torch.bool, device=values.device)  # (B, T, P)
        if values.shape[1] > 1:
            diff = (values[:, 1:] - values[:, :-1]).abs().mean(dim=-1)  # (B, T-1, P)
            keep[:, 1:] = diff >= self.config.threshold
        return keep & frame_mask.bool().to(values.device)[..., None]

    def unit_keep(
        self, values: torch.Tensor, frame_mask: torch.Tensor, groups: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Frame-level DiffFP: a frame (or a group of frames) is kept whole when any of its patches changed.

        Args:
            values: ``(B, T, P, C)`` patch values of each frame.
            frame_mask: ``(B, T)`` bool.
            groups: ``(G, L)`` frame indices of each group (indices >= T are padding); None = frames.

        Returns:
            ``(B, T)`` or ``(B, G)`` bool.
        """
        changed = self.keep_mask(values, frame_mask).any(dim=-1)  # (B, T)
        if groups is None:
            return changed
        n_frames = changed.shape[1]
        groups = groups.to(changed.device)
        return (changed[:, groups.clamp(max=n_frames - 1)] & (groups < n_frames)).any(dim=-1)

    @staticmethod
    def pack(tokens: torch.Tensor, keep: torch.Tensor) -> PackedPatches:
        """Gather the kept ``(B, T, P, D)`` tokens into ``(B, N, D)``, N = most kept in any video."""
        batch, n_frames, n_patches, dim = tokens.shape
        flat_keep = keep.reshape(batch, n_frames * n_patches)
        counts = flat_keep.sum(dim=1)
        n = max(int(counts.max()) if batch else 0, 1)
        # Stable sort puts kept positions first, in their original (time-major) order.
        order = torch.sort((~flat_keep).to(torch.int8), dim=1, stable=True).indices[:, :n]  # (B, N)
        mask = torch.arange(n, device=tokens.device)[None, :] < counts[:, None]
        gathered = torch.gather(tokens.reshape(batch, -1, dim), 1, order[..., None].expand(-1, -1, dim))
        gathered = gathered * mask[..., None].to(gathered.dtype)
        frames = (order // n_patches).masked_fill(~mask, -1)
        patches = (order % n_patches).masked_fill(~mask, -1)
        return PackedPatches(tokens=gathered, mask=mask, frames=frames, patches=patches)

    def forward(
        self,
        units: torch.Tensor,
        unit_mask: torch.Tensor,
        unit_spans: torch.Tensor | None = None,
        *,
        values: torch.Tensor | None = None,
        keep: torch.Tensor | None = None,
    ) -> CompressedTokens:
        """Prune and pack.

        Args:
            units: ``(B, U, K, D)`` tokens, K patches per unit (frame).
            unit_mask: ``(B, U)`` bool.
            unit_spans: ``(B, U, 2)`` frame spans (default: unit u is frame u).
            values: ``(B, U, K, C)`` what decides (pixel patches); default the tokens themselves.
            keep: ``(B, U, K)`` bool, a decision already taken (``keep_mask`` of other values);
                overrides ``values``.

        Returns:
            The kept tokens; each stands for its unit's span.
        """
        if keep is None:
            keep = self.keep_mask(units if values is None else values, unit_mask)
        keep = keep & unit_mask.bool()[..., None]
        packed = self.pack(units, keep)
        spans = frame_spans(unit_mask) if unit_spans is None else unit_spans
        index = packed.frames.clamp(min=0)[..., None].expand(-1, -1, 2)
        token_spans = torch.gather(spans, 1, index).masked_fill(~packed.mask[..., None], -1)
        return CompressedTokens(tokens=packed.tokens, mask=packed.mask, spans=token_spans)
