"""Attention supervision for the TimeChat recipe: one LLM head learns where the answer's span is.

A grounding answer ("... 12.0 - 18.5 seconds.") is written by a random-init LLM only after it has
learnt two things at once: which video tokens the query describes, and how to turn their time
into digits; the answer's cross-entropy rewards neither alone. ``GroundingAttention`` gives the
first a direct signal: at every position that predicts an answer token, one attention head of
one layer is trained towards the video tokens of the answer's span (cross-entropy between that
head's attention row and the span's tokens, weighted by ``chunk_weights``: token ``j`` of a
window summarises its ``j``-th chunk of frames). The head's output then carries those tokens'
values, frame times included, to the layers above. Training only; inference is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from chronolens.training.recipes.timechat_align import chunk_weights

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChatConfig

__all__ = ["GroundingAttention", "span_frame_weights"]


def span_frame_weights(
    timestamps: torch.Tensor, frame_mask: torch.Tensor, span: torch.Tensor
) -> torch.Tensor:
    """``(T,)`` weights of the real frames inside ``span`` (seconds, shape ``(2,)``), summing to 1.

    A span shorter than the frame spacing holds no frame; it gets its nearest real frame.
    """
    times = timestamps.float()
    inside = frame_mask & (times >= span[0]) & (times <= span[1])
    if not bool(inside.any()):
        distance = (times - (span[0] + span[1]) / 2).abs().masked_fill(~frame_mask, float("inf"))
        inside = torch.zeros_like(frame_mask)
        inside[int(distance.argmin())] = True
    weights = inside.float()
    return weights / weights.sum()


class GroundingAttention:
    """The auxiliary loss: ``-sum_v target[v] * log attention[q, v]`` averaged over answer positions.

    ``target`` over a row's video tokens is ``chunk_weights @ span_frame_weights`` renormalised;
    rows without a span (or whose span's frames map to no token) are left out.
    """

    def __init__(self, config: TimeChatConfig, *, layer: int, head: int = 0) -> None:
        self.config = config
        self.layer = layer
        self.head = head

    def targets(
        self,
        timestamps: torch.Tensor,
        frame_mask: torch.Tensor,
        token_mask: torch.Tensor,
        video_index: torch.Tensor,
        spans: torch.Tensor,
    ) -> list[torch.Tensor | None]:
        """Per text row, the ``(V_b,)`` target over its real video tokens, or None.

        Args:
            timestamps, frame_mask: ``(U, T)`` of the batch's distinct videos.
            token_mask: ``(U, V)`` real video tokens (``TimeChat.encode_video``).
            video_index: ``(B,)`` the video of each row.
            spans: ``(B, 2)`` seconds in the row's video; NaN = no span.
        """
        weights = chunk_weights(self.config, timestamps.shape[1])  # (V, T)
        out: list[torch.Tensor | None] = []
        for b in range(spans.shape[0]):
            if bool(torch.isnan(spans[b]).any()):
                out.append(None)
                continue
            u = int(video_index[b])
            frames = span_frame_weights(timestamps[u], frame_mask[u], spans[b])
            target = (weights @ frames)[token_mask[u].cpu()]
            total = float(target.sum())
            out.append(target / total if total > 0 else None)
        return out

    def __call__(
        self,
        attentions: tuple[torch.Tensor, ...],
        targets: list[torch.Tensor | None],
        video_start: torch.Tensor,
        labels: torch.Tensor,
    ) -> torch.Tensor:
        """The loss on one forward pass.

        Args:
            attentions: the LLM's per-layer ``(B, H, L, L)`` attention probabilities.
            targets: from ``targets``.
            video_start: ``(B,)`` position of each row's first video token in the sequence.
            labels: ``(B, L)`` spliced labels; position ``t`` predicts an answer token when
                ``labels[t + 1]`` is not ignored.
        """
        from chronolens.models.timechat.prompting import IGNORE_INDEX

        probs = attentions[self.layer][:, self.head]  # (B, L, L)
        losses = []
        for b, target in enumerate(targets):
            if target is None:
                continue
            queries = (labels[b, 1:] != IGNORE_INDEX).nonzero().flatten()
            if queries.numel() == 0:
                continue
            start = int(video_start[b])
            rows = probs[b, queries, start : start + target.shape[0]]  # (Q, V_b)
            target = target.to(rows.device, rows.dtype)
            losses.append(-(rows.clamp_min(1e-8).log() * target).sum(-1).mean())
        if not losses:
            return probs.new_zeros(())
        return torch.stack(losses).mean()
