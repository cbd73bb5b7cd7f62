"""Attention supervision for the TimeChat recipe: one LLM head learns where the answer's span is.

A grounding answer ("... 12.0 - 18.5 seconds.") is written by a random-init LLM only after it has
learnt two things at once: which video tokens the query describes, and how to turn their time
into digits; the answer's cross-entropy rewards neither alone. ``GroundingAttention`` gives the
first a direct signal: at every position that predicts an answer token, one attention head of
one layer is trained towards the video tokens of the answer's span (cross-entropy between that
head's attention row and the span's tokens, weighted by ``chunk_weights``: token ``j`` of a
window summarises its ``j``-th chunk of frames). The head's output then carries those tokens'
values, frame times included, to the layers above. Training only; inference is unchanged.

Attention spread over the whole span hands up the span's mean: its middle, from which neither
end can be read. With ``target="boundaries"`` the positions that write the answer's start number
are trained towards the start time's tokens and those writing the end number towards the end
time's (each time split between the two frames around it, ``time_frame_weights``), so the
head's output at each digit is the frame whose time that digit spells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from chronolens.training.recipes.timechat.align import chunk_weights

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from chronolens.models.timechat import TimeChatConfig

__all__ = ["GroundingAttention", "RowTarget", "number_pieces", "span_frame_weights", "time_frame_weights"]

_NUMBER_CHARS = frozenset("0123456789.")
_WORD_MARKS = "\u2581\u0120 "  # SentencePiece's and byte-level BPE's leading-space markers


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


def time_frame_weights(timestamps: torch.Tensor, frame_mask: torch.Tensor, time: float) -> torch.Tensor:
    """``(T,)`` weights putting ``time`` between the two real frames around it, summing to 1.

    Linear interpolation: a time at a frame's timestamp is that frame alone, a time between two
    frames is split by distance, and a time before the first (after the last) real frame is the
    first (last) one.
    """
    times = timestamps.float()
    real = frame_mask.nonzero().flatten()
    real_times = times[real]
    weights = torch.zeros_like(times)
    after = int(torch.searchsorted(real_times, torch.tensor([time], dtype=real_times.dtype)))
    if after == 0 or after == len(real):
        weights[real[min(after, len(real) - 1)]] = 1.0
        return weights
    t0, t1 = float(real_times[after - 1]), float(real_times[after])
    share = (time - t0) / (t1 - t0) if t1 > t0 else 1.0
    weights[real[after - 1]] = 1.0 - share
    weights[real[after]] += share
    return weights


def number_pieces(tokenizer: PreTrainedTokenizerBase) -> dict[int, str]:
    """The tokenizer's ids whose piece is part of a number (digits and ``.``), with that text.

    A leading-space marker is dropped (``"\u25811"`` -> ``"1"``); pieces with anything else are left
    out, so an answer's numbers are the runs of consecutive ids found here.
    """
    pieces: dict[int, str] = {}
    for token_id, piece in enumerate(tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))):
        text = str(piece).lstrip(_WORD_MARKS)
        if text and set(text) <= _NUMBER_CHARS:
            pieces[token_id] = text
    return pieces


@dataclass(frozen=True, slots=True)
class RowTarget:
    """One text row's targets over its real video tokens, each ``(V_b,)`` summing to 1."""

    span: torch.Tensor  # the span's tokens
    start: torch.Tensor  # the start time's tokens
    end: torch.Tensor  # the end time's tokens
    seconds: tuple[float, float]  # the span, to find the answer's start and end numbers


class GroundingAttention:
    """The auxiliary loss: ``-sum_v target[v] * log attention[q, v]`` averaged over answer positions.

    A row's span target over its video tokens is ``chunk_weights @ span_frame_weights``
    renormalised, its start and end targets ``chunk_weights @ time_frame_weights`` of the span's
    two times; rows without a span (or whose span's frames map to no token) are left out.

    Args:
        config: the model's configuration (windows, queries: which frames each token summarises).
        layer, head: the supervised attention head.
        target: ``"span"``: every answer position is trained towards the span target.
            ``"boundaries"``: the positions predicting the tokens of the answer's first number
            equal to the span's start (within 0.05 s) are trained towards the start target, those
            of the next number equal to its end towards the end target, all others towards the
            span target; an answer without those numbers is trained as in ``"span"``.
        numbers: ``number_pieces`` of the tokenizer; needed for ``"boundaries"``.
    """

    def __init__(
        self,
        config: TimeChatConfig,
        *,
        layer: int,
        head: int = 0,
        target: str = "span",
        numbers: dict[int, str] | None = None,
    ) -> None:
        if target not in ("span", "boundaries"):
            raise ValueError(f"target must be 'span' or 'boundaries', got {target!r}")
        if target == "boundaries" and not numbers:
            raise ValueError("target 'boundaries' needs the tokenizer's number pieces")
        self.config = config
        self.layer = layer
        self.head = head
        self.target = target
        self.numbers = numbers or {}

    def targets(
        self,
        timestamps: torch.Tensor,
        frame_mask: torch.Tensor,
        token_mask: torch.Tensor,
        video_index: torch.Tensor,
        spans: torch.Tensor,
    ) -> list[RowTarget | None]:
        """Per text row, its targets over its real video tokens, or None.

        Args:
            timestamps, frame_mask: ``(U, T)`` of the batch's distinct videos.
            token_mask: ``(U, V)`` real video tokens (``TimeChat.encode_video``).
            video_index: ``(B,)`` the video of each row.
            spans: ``(B, 2)`` seconds in the row's video; NaN = no span.
        """
        weights = chunk_weights(self.config, timestamps.shape[1])  # (V, T)
        out: list[RowTarget | None] = []
        for b in range(spans.shape[0]):
            if bool(torch.isnan(spans[b]).any()):
                out.append(None)
                continue
            u = int(video_index[b])
            real = token_mask[u].cpu()
            start, end = float(spans[b, 0]), float(spans[b, 1])
            parts = []
            for frames in (
                span_frame_weights(timestamps[u], frame_mask[u], spans[b]),
                time_frame_weights(timestamps[u], frame_mask[u], start),
                time_frame_weights(timestamps[u], frame_mask[u], end),
            ):
                target = (weights @ frames)[real]
                total = float(target.sum())
                parts.append(target / total if total > 0 else None)
            span, first, last = parts
            if span is None or first is None or last is None:
                out.append(None)
                continue
            out.append(RowTarget(span=span, start=first, end=last, seconds=(start, end)))
        return out

    def _number_runs(self, answer_ids: Sequence[int]) -> list[tuple[int, int, float | None]]:
        """``(first, stop, value)`` of each run of number pieces in ``answer_ids``."""
        runs: list[tuple[int, int, float | None]] = []
        i = 0
        while i < len(answer_ids):
            if answer_ids[i] not in self.numbers:
                i += 1
                continue
            j = i
            while j < len(answer_ids) and answer_ids[j] in self.numbers:
                j += 1
            text = "".join(self.numbers[t] for t in answer_ids[i:j]).strip(".")
            try:
                value: float | None = float(text)
            except ValueError:
                value = None
            runs.append((i, j, value))
            i = j
        return runs

    def position_targets(self, target: RowTarget, answer_ids: Sequence[int]) -> torch.Tensor:
        """``(Q, V_b)``: the target of each answer position (see the class docstring)."""
        rows = [target.span] * len(answer_ids)
        if self.target == "boundaries":
            wanted = [(target.seconds[0], target.start), (target.seconds[1], target.end)]
            for first, stop, value in self._number_runs(answer_ids):
                if wanted and value is not None and abs(value - wanted[0][0]) <= 0.05 + 1e-6:
                    rows[first:stop] = [wanted.pop(0)[1]] * (stop - first)
        return torch.stack(rows)

    def __call__(
        self,
        attentions: tuple[torch.Tensor, ...],
        targets: list[RowTarget | None],
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
            rows = probs[b, queries, start : start + target.span.shape[0]]  # (Q, V_b)
            wanted = self.position_targets(target, labels[b, queries + 1].tolist())
            wanted = wanted.to(rows.device, rows.dtype)
            losses.append(-(rows.clamp_min(1e-8).log() * wanted).sum(-1).mean())
        if not losses:
            return probs.new_zeros(())
        return torch.stack(losses).mean()
