"""MovieChat memory (Song et al., CVPR 2024): a short-term FIFO of frames consolidated into long-term memory.

Frames (K tokens each) enter a short-term memory of ``short_term`` frames. When it is full, its
frames move to the long-term memory, and while the long-term memory holds more than ``long_term``
frames the most similar *adjacent* pair (cosine similarity of their flattened tokens) is merged
into their mean (MovieChat's ToMe-style memory consolidation). The output is the long-term memory
followed by what is still in the short-term memory (MovieChat's global mode), so a T-frame video
gives ``K * (min(S * floor(T / S), long_term) + T mod S)`` tokens. Adjacent merges keep frames in
order, and each memory slot records the first and last frame it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from chronolens.models.layers.tokens import CompressedTokens, frame_spans

__all__ = ["MovieChatConfig", "MovieChatMemory", "merge_most_similar"]


@dataclass(frozen=True, kw_only=True)
class MovieChatConfig:
    """Memory sizes in frames; defaults are MovieChat's (short-term 18, long-term 256)."""

    short_term: int = 18  # S frames in the short-term FIFO before it is consolidated
    long_term: int = 256  # most frames (merged slots) in the long-term memory

    def __post_init__(self) -> None:
        for name in ("short_term", "long_term"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"MovieChatConfig.{name} must be an integer >= 1, got {value!r}")

    def memory_frames(self, n_frames: int) -> int:
        """Memory slots (merged frames) after ``n_frames`` frames: long-term plus short-term."""
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        flushed = (n_frames // self.short_term) * self.short_term
        return min(flushed, self.long_term) + n_frames % self.short_term

    def output_tokens(self, n_frames: int, tokens_per_frame: int = 32) -> int:
        """Tokens out: ``tokens_per_frame * memory_frames(n_frames)`` (MovieChat: 32 tokens a frame)."""
        return tokens_per_frame * self.memory_frames(n_frames)

    @classmethod
    def tiny(cls, **overrides: Any) -> MovieChatConfig:
        """A 4-frame short-term and 6-frame long-term memory."""
        return cls(**{"short_term": 4, "long_term": 6, **overrides})


def merge_most_similar(
    slots: torch.Tensor, spans: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merge the most similar adjacent pair of slots, repeatedly, until at most ``size`` remain.

    Args:
        slots: ``(N, K, D)`` memory slots in time order.
        spans: ``(N, 2)`` long, first and last frame of each slot.
        size: slots to keep.

    Returns:
        ``(slots (min(N, size), K, D), spans (min(N, size), 2))``; a merged slot is the mean of the
        pair and spans both.
    """
    while slots.shape[0] > size:
        flat = nn.functional.normalize(slots.reshape(slots.shape[0], -1), dim=-1)
        similarity = (flat[:-1] * flat[1:]).sum(dim=-1)  # (N-1,) cosine of each adjacent pair
        i = int(similarity.argmax())
        merged = (slots[i] + slots[i + 1]) / 2
        slots = torch.cat([slots[:i], merged[None], slots[i + 2 :]], dim=0)
        span = torch.stack([spans[i, 0], spans[i + 1, 1]])
        spans = torch.cat([spans[:i], span[None], spans[i + 2 :]], dim=0)
    return slots, spans


class MovieChatMemory(nn.Module):
    """Units ``(B, U, K, D)`` streamed through MovieChat's memory -> ``(B, K * slots, D)``; no weights."""

    def __init__(self, config: MovieChatConfig) -> None:
        super().__init__()
        self.config = config

    def _one(self, units: torch.Tensor, spans: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Stream one video's real units ``(T, K, D)`` -> ``(slots (M, K, D), spans (M, 2))``."""
        size, short = self.config.long_term, self.config.short_term
        long_slots, long_spans = units[:0], spans[:0]
        start = 0
        while start + short <= units.shape[0]:  # each time the short-term FIFO fills up
            long_slots = torch.cat([long_slots, units[start : start + short]], dim=0)
            long_spans = torch.cat([long_spans, spans[start : start + short]], dim=0)
            long_slots, long_spans = merge_most_similar(long_slots, long_spans, size)
            start += short
        return torch.cat([long_slots, units[start:]], dim=0), torch.cat([long_spans, spans[start:]], dim=0)

    def forward(
        self, units: torch.Tensor, unit_mask: torch.Tensor, unit_spans: torch.Tensor | None = None
    ) -> CompressedTokens:
        """Consolidate.

        Args:
            units: ``(B, U, K, D)`` tokens, K per frame.
            unit_mask: ``(B, U)`` bool, real units first, padding after.
            unit_spans: ``(B, U, 2)`` frame spans (default: unit u is frame u).

        Returns:
            ``K * memory_frames(U_b)`` real tokens per video, each standing for its slot's frames.
        """
        batch, _, per_unit, dim = units.shape
        unit_mask = unit_mask.bool()
        spans = frame_spans(unit_mask) if unit_spans is None else unit_spans
        rows = [self._one(units[b][unit_mask[b]], spans[b][unit_mask[b]]) for b in range(batch)]
        n = max([slots.shape[0] * per_unit for slots, _ in rows] + [1])
        tokens = units.new_zeros(batch, n, dim)
        mask = torch.zeros(batch, n, dtype=torch.bool, device=units.device)
        token_spans = torch.full((batch, n, 2), -1, dtype=torch.long, device=units.device)
        for b, (slots, slot_spans) in enumerate(rows):
            m = slots.shape[0] * per_unit
            tokens[b, :m] = slots.reshape(m, dim)
            mask[b, :m] = True
            token_spans[b, :m] = slot_spans.repeat_interleave(per_unit, dim=0)
        return CompressedTokens(tokens=tokens, mask=mask, spans=token_spans)
