"""What every token compressor returns: tokens, which are real, and which frames each stands for.

Compressors read *units*: ``(B, U, K, D)`` groups of K tokens that each belong to one stretch of
the video (a frame, or one window of TimeChat's sliding video Q-Former). Every unit carries its
span, the first and last frame index it covers; every output token gets the span of the units it
was made from, so the frame times a video token stands for survive any compression.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["CompressedTokens", "frame_spans", "span_union", "spans_to_seconds", "window_spans"]


@dataclass
class CompressedTokens:
    """A compressor's output for a batch of videos."""

    tokens: torch.Tensor  # (B, V, D) zeros where ``mask`` is False
    mask: torch.Tensor  # (B, V) bool, True = a real token
    spans: torch.Tensor  # (B, V, 2) long: first and last frame index the token stands for; -1 if not real


def frame_spans(unit_mask: torch.Tensor) -> torch.Tensor:
    """``(B, U, 2)`` spans of units that are single frames: ``(u, u)``, ``-1`` where the unit is padding."""
    batch, n_units = unit_mask.shape
    index = torch.arange(n_units, device=unit_mask.device)[None, :, None].expand(batch, -1, 2)
    return index.masked_fill(~unit_mask.bool()[..., None], -1).clone()


def span_union(spans: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The span covering all real units of each group.

    Args:
        spans: ``(..., G, 2)`` long unit spans.
        mask: ``(..., G)`` bool, True = a real unit.

    Returns:
        ``(..., 2)``: min first and max last frame over the real units, ``-1`` where none is real.
    """
    big = torch.iinfo(torch.long).max
    first = spans[..., 0].masked_fill(~mask, big).amin(dim=-1)
    last = spans[..., 1].masked_fill(~mask, -1).amax(dim=-1)
    any_real = mask.any(dim=-1)
    return torch.stack([first.masked_fill(~any_real, -1), last], dim=-1)


def spans_to_seconds(spans: torch.Tensor, timestamps: torch.Tensor) -> torch.Tensor:
    """Frame-index spans ``(B, V, 2)`` -> seconds ``(B, V, 2)`` via ``timestamps (B, T)``; NaN where -1."""
    valid = spans >= 0
    index = spans.clamp(min=0).reshape(spans.shape[0], -1)  # (B, V * 2)
    seconds = torch.gather(timestamps.to(torch.float64), 1, index.to(timestamps.device)).reshape(spans.shape)
    return seconds.masked_fill(~valid.to(seconds.device), float("nan"))


def window_spans(index: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
    """``(B, W, 2)`` spans of windows of frames: the first and last real frame of each.

    Args:
        index: ``(W, Lw)`` frame indices of each window; indices >= T are padding.
        frame_mask: ``(B, T)`` bool, True = a real frame.
    """
    n_frames = frame_mask.shape[1]
    index = index.to(frame_mask.device)
    seen = frame_mask.bool()[:, index.clamp(max=n_frames - 1)] & (index < n_frames)  # (B, W, Lw)
    return span_union(index[None, ..., None].expand(frame_mask.shape[0], -1, -1, 2), seen)
