"""Time tokens interleaved with the video tokens: TimeMarker's ``sec{t}`` text and VTG-LLM's ``<tK>``.

``TimeChatConfig.time_tokens`` picks one:

- ``"timemarker"`` (TimeMarker, Chen et al. 2024): the *text* ``sec{t}`` (``t`` in seconds, one
  decimal) goes before each group of video tokens, tokenised by the LLM's own tokenizer, so the
  LLM reads the time in the words and digits it already knows;
- ``"absolute"`` (VTG-LLM, Guo et al. 2024): one special token ``<t{s}>`` per second bucket
  (``s = floor(t)``, clamped to ``time_token_seconds - 1``) is added to the tokenizer, and the
  token of the group's start goes before it.

A *group* is a run of consecutive video tokens that stand for the same frames (the compressor's
spans, ``TimeChat.video_token_times``): a video Q-Former window's Nv tokens, a frame's Nq tokens,
a pooled unit's or a MovieChat slot's tokens. The markers are inserted at splice time
(``TimeChat.splice_video``) and get ``IGNORE_INDEX`` labels like the video tokens.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from chronolens.models.timechat.config import TimeChatConfig

__all__ = [
    "MARKER_WORD",
    "TimeMarkers",
    "absolute_tokens",
    "add_time_tokens",
    "group_starts",
    "max_marker_tokens",
    "scaffold",
]

MARKER_WORD = "sec"  # TimeMarker's separator word: "sec12.5"
_MAX_MARKER_TEXT_TOKENS = 8  # bound on the tiny tokenizer's pieces of "sec{t:.1f}" (sizes positions)


def absolute_tokens(config: TimeChatConfig) -> list[str]:
    """VTG-LLM's special tokens ``<t0>``..``<t{N-1}>``; empty unless ``time_tokens="absolute"``."""
    if config.time_tokens != "absolute":
        return []
    return [f"<t{k}>" for k in range(config.time_token_seconds)]


def scaffold(config: TimeChatConfig) -> tuple[str, ...]:
    """Texts the tiny word-level vocabulary needs for the markers (none unless ``"timemarker"``)."""
    return (f"{MARKER_WORD}0.5",) if config.time_tokens == "timemarker" else ()


def max_marker_tokens(config: TimeChatConfig) -> int:
    """Most marker tokens in one video's sequence (at most one group per video token)."""
    per_marker = {"none": 0, "absolute": 1, "timemarker": _MAX_MARKER_TEXT_TOKENS}[config.time_tokens]
    return per_marker * config.max_video_tokens


def add_time_tokens(llm: Any, tokenizer: Any, config: TimeChatConfig) -> None:
    """Add ``absolute_tokens(config)`` to a pretrained LLM's tokenizer and embedding table.

    New rows are set deterministically to the mean embedding of the digits of their second (so
    ``<t12>`` starts where "12" is, and a checkpoint's reload rebuilds the same rows); an untied
    output embedding gets the same. No-op unless ``time_tokens="absolute"``.
    """
    tokens = absolute_tokens(config)
    if not tokens:
        return
    tokenizer.add_tokens(tokens, special_tokens=True)  # special: never split; keeps <video> as it is
    ids = [int(i) for i in tokenizer.convert_tokens_to_ids(tokens)]
    if max(ids) >= llm.get_input_embeddings().num_embeddings:
        llm.resize_token_embeddings(max(ids) + 1, mean_resizing=False)
    tables = [llm.get_input_embeddings().weight]
    output = llm.get_output_embeddings()
    if output is not None and output.weight is not tables[0]:
        tables.append(output.weight)
    with torch.no_grad():
        for second, token_id in enumerate(ids):
            digits = list(tokenizer(str(second), add_special_tokens=False)["input_ids"])
            for table in tables:
                table[token_id] = table[digits].mean(dim=0)


def group_starts(times: torch.Tensor) -> list[int]:
    """Indices where a new group of video tokens begins in ``(V, 2)`` seconds (first, last frame)."""
    rows = [tuple(t) for t in times.tolist()]
    return [i for i, row in enumerate(rows) if i == 0 or row != rows[i - 1]]


class TimeMarkers:
    """The marker token ids of one model (its tokenizer and config), cached per text."""

    def __init__(self, config: TimeChatConfig, tokenizer: Any) -> None:
        """Check the tokenizer can write the markers.

        Raises:
            ValueError: ``time_tokens="absolute"`` but the tokenizer lacks the ``<tK>`` tokens.
        """
        self.mode = config.time_tokens
        self.seconds = config.time_token_seconds
        self.tokenizer = tokenizer
        self._ids: dict[str, list[int]] = {}
        if self.mode == "absolute":
            last = f"<t{self.seconds - 1}>"
            if tokenizer.convert_tokens_to_ids(last) in (None, tokenizer.unk_token_id):
                raise ValueError(f"tokenizer has no {last!r}; build the model with TimeChat.build")

    @classmethod
    def of(cls, config: TimeChatConfig, tokenizer: Any) -> TimeMarkers | None:
        """The markers of a model, or None when ``config.time_tokens`` is "none"."""
        return None if config.time_tokens == "none" else cls(config, tokenizer)

    def text(self, seconds: float) -> str:
        """The marker of a group starting at ``seconds``: ``"sec12.5"`` or ``"<t12>"``."""
        if self.mode == "timemarker":
            return f"{MARKER_WORD}{seconds:.1f}"
        return f"<t{min(max(math.floor(seconds), 0), self.seconds - 1)}>"

    def ids(self, seconds: float) -> list[int]:
        """Token ids of ``text(seconds)``."""
        text = self.text(seconds)
        if text not in self._ids:
            self._ids[text] = [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]
        return self._ids[text]

    def interleave(self, video: torch.Tensor, times: torch.Tensor, embed: nn.Module) -> torch.Tensor:
        """``(V, D)`` real video tokens with each group's marker embeddings before it: ``(V + M, D)``.

        Args:
            video: one row's real video tokens in the LLM embedding space.
            times: ``(V, 2)`` seconds each token stands for (``TimeChat.video_token_times``).
            embed: the LLM's input embedding.
        """
        if video.shape[0] == 0:
            return video
        starts = group_starts(times)
        marker_ids = [self.ids(float(times[s, 0])) for s in starts]
        flat = torch.tensor([i for ids in marker_ids for i in ids], dtype=torch.long, device=video.device)
        markers = embed(flat).to(video.dtype).split([len(ids) for ids in marker_ids])
        ends = [*starts[1:], video.shape[0]]
        pieces = [piece for m, s, e in zip(markers, starts, ends, strict=True) for piece in (m, video[s:e])]
        return torch.cat(pieces, dim=0)
