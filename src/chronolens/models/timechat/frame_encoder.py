"""TimeChat's timestamp-aware frame encoder: an InstructBLIP Q-Former instructed with the frame's time.

Each frame's patch features are read by Nq learnable query tokens through the Q-Former's
cross-attention, while the Q-Former's text input is the frame's timestamp instruction ("This frame
is sampled at 2.0s."); query and text tokens share self-attention, so the visual tokens of every
frame are bound to its timestamp (TimeChat, Sec. 3.1; ``timechat/models/timechat.py``
``encode_videoQformer_visual`` with ``qformer_text_input=True``, which prompts the Q-Former with
``"This frame is sampled at {t} second."``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from chronolens.models.timechat.config import TimeChatConfig
from chronolens.models.token_batches import right_pad

__all__ = ["TimestampFrameEncoder", "build_qformer_tokenizer"]

logger = logging.getLogger(__name__)


def build_qformer_tokenizer(config: TimeChatConfig) -> Any:
    """The tokenizer of the frame Q-Former's timestamp text.

    With ``config.qformer_tokenizer`` None, the word-level tokenizer of the timestamp template
    (digits one per token), rebuilt identically from the config every time; else the BERT-style
    tokenizer in that local directory (InstructBLIP's Q-Former uses ``bert-base-uncased``'s),
    loaded offline.

    Raises:
        ModelNotFoundError: the tokenizer directory cannot be read.
    """
    if config.qformer_tokenizer is None:
        from chronolens.models.timechat.tokenizer import build_text_tokenizer

        corpus = [config.timestamp_instruction(t) for t in (0.0, 12.5)]
        return build_text_tokenizer(corpus, max_length=config.qformer_text_tokens)
    from transformers import AutoTokenizer

    from chronolens.errors import ModelNotFoundError

    try:
        return AutoTokenizer.from_pretrained(config.qformer_tokenizer, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"cannot load the Q-Former tokenizer from {config.qformer_tokenizer!r} ({exc}); pass a local "
            "directory holding a BERT-style tokenizer (e.g. bert-base-uncased), or qformer_tokenizer=None"
        ) from exc


class _Skip(nn.Module):
    """Stands in for a text feed-forward whose output is never used: returns the residual input."""

    def forward(self, hidden: torch.Tensor, input_tensor: torch.Tensor | None = None) -> torch.Tensor:
        return hidden if input_tensor is None else input_tensor


class TimestampFrameEncoder(nn.Module):
    """Patch features of each frame + its timestamp -> Nq frame tokens.

    Corresponds to TimeChat's ``Qformer`` + ``query_tokens`` + ``ln_vision`` (an InstructBLIP
    Q-Former, transformers ``InstructBlipQFormerModel``). With ``config.timestamp_text`` False
    (the paper's ablation) no instruction is fed, and the Q-Former's text-only parts (word
    embeddings, text feed-forward) are removed as TimeChat does when it has no text input.
    """

    def __init__(self, config: TimeChatConfig, *, vision_dim: int, tokenizer: Any | None = None) -> None:
        """Build the encoder with random initialisation.

        Args:
            config: the TimeChat configuration.
            vision_dim: Dv, the width of the image tower's patch features.
            tokenizer: tokenizer of the timestamp text; default ``build_qformer_tokenizer(config)``.
        """
        from transformers import InstructBlipQFormerConfig, InstructBlipQFormerModel

        super().__init__()
        self.config = config
        self.tokenizer = tokenizer if tokenizer is not None else build_qformer_tokenizer(config)
        qconfig = InstructBlipQFormerConfig(
            vocab_size=len(self.tokenizer),
            hidden_size=config.qformer_hidden,
            num_hidden_layers=config.qformer_layers,
            num_attention_heads=config.qformer_heads,
            intermediate_size=config.qformer_intermediate,
            cross_attention_frequency=config.cross_attention_frequency,
            encoder_hidden_size=vision_dim,  # cross-attention keys/values project Dv -> hidden
            max_position_embeddings=config.qformer_text_tokens,
            pad_token_id=self.tokenizer.pad_token_id or 0,
            initializer_range=config.qformer_init_std,
            hidden_dropout_prob=config.qformer_dropout,
            attention_probs_dropout_prob=config.qformer_dropout,
        )
        # The frozen ViT's features are layer-normalised before the Q-Former (BLIP-2's ln_vision).
        self.ln_vision = nn.LayerNorm(vision_dim)
        self.qformer = InstructBlipQFormerModel(qconfig)
        self.query_tokens = nn.Parameter(torch.empty(1, config.frame_queries, config.qformer_hidden))
        nn.init.normal_(self.query_tokens, std=config.qformer_init_std)
        if config.timestamp_text:
            # The last layer's text feed-forward only produces text outputs that nothing reads (they
            # are dead weights in InstructBLIP too); skip it so that every parameter here trains.
            last = self.qformer.encoder.layer[-1]
            last.intermediate = _Skip()
            last.output = _Skip()
        else:
            # Unused without text input; leaving them would give parameters that never get gradients.
            # (nn.Module accepts None for a submodule; the transformers stubs do not say so.)
            self.qformer.embeddings.word_embeddings = None  # type: ignore[assignment]
            self.qformer.embeddings.position_embeddings = None  # type: ignore[assignment]
            for layer in self.qformer.encoder.layer:
                layer.intermediate = None  # type: ignore[assignment]
                layer.output = None  # type: ignore[assignment]
        self._text_cache: dict[float, list[int]] = {}

    @property
    def vision_dim(self) -> int:
        """Dv."""
        return int(self.ln_vision.normalized_shape[0])

    def timestamp_ids(
        self, timestamps: Sequence[float], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokenised timestamp instructions, right-padded: ``(N, L)`` ids and ``(N, L)`` mask."""
        rows = []
        for t in timestamps:
            key = round(float(t), 6)
            ids = self._text_cache.get(key)
            if ids is None:
                text = self.config.timestamp_instruction(float(t))
                ids = list(
                    self.tokenizer(text, truncation=True, max_length=self.config.qformer_text_tokens)[
                        "input_ids"
                    ]
                )
                if len(self._text_cache) < 100_000:  # timestamps repeat across epochs; bound the memory
                    self._text_cache[key] = ids
            rows.append(ids)
        input_ids, mask = right_pad(rows, self.tokenizer.pad_token_id or 0)
        return input_ids.to(device), mask.to(device)

    def forward(self, features: torch.Tensor, timestamps: torch.Tensor) -> torch.Tensor:
        """Encode frames.

        Args:
            features: ``(N, P, Dv)`` patch features of N frames (any videos).
            timestamps: ``(N,)`` seconds of each frame.

        Returns:
            ``(N, Nq, H)`` frame tokens (the query positions of the Q-Former output).
        """
        n = features.shape[0]
        image_embeds = self.ln_vision(features.to(self.ln_vision.weight.dtype))  # (N, P, Dv)
        image_atts = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=features.device)
        queries = self.query_tokens.expand(n, -1, -1)  # (N, Nq, H)
        if self.config.timestamp_text:
            text_ids, text_mask = self.timestamp_ids(timestamps.tolist(), features.device)
            query_mask = torch.ones(queries.shape[:-1], dtype=torch.long, device=features.device)
            output = self.qformer(
                input_ids=text_ids,
                attention_mask=torch.cat([query_mask, text_mask], dim=1),  # (N, Nq + L)
                query_embeds=queries,
                encoder_hidden_states=image_embeds,
                encoder_attention_mask=image_atts,
            )
        else:
            output = self.qformer(
                input_ids=None,
                query_embeds=queries,
                encoder_hidden_states=image_embeds,
                encoder_attention_mask=image_atts,
            )
        return output.last_hidden_state[:, : queries.shape[1], :]  # (N, Nq, H)
