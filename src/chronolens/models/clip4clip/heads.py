"""CLIP4Clip similarity heads over per-frame CLIP embeddings, with padded frames masked.

Hand-written: no library ships these heads. They follow CLIP4Clip (Luo et al. 2021,
ArrowLuo/CLIP4Clip ``modules/modeling.py``, ``CLIP4Clip._loose_similarity`` and
``_cross_similarity``):

- ``meanP`` (parameter-free): masked mean of the unit-norm frame embeddings;
- ``seqLSTM``: a one-layer LSTM over the frames (packed to the real length), residual to the
  input frames, then the masked mean;
- ``seqTransf``: learned frame position embeddings, a transformer over the frames with padded
  frames excluded from attention, residual to the input frames, then the masked mean (the
  original's ``TransformerClip``: pre-norm residual blocks; here ``torch.nn`` blocks with GELU
  where the original uses QuickGELU);
- ``tightTransf``: a cross transformer over the concatenation of text tokens and frame
  embeddings (with type and position embeddings); the first output token goes through a pooler
  and a linear layer to one score per text-video pair. It gives a score, not an embedding.

All take ``frames (B, T, D)`` and ``mask (B, T)`` (True for real frames); a padded frame's values
never reach the output. Every clip needs at least one real frame; seqLSTM wants the real frames
first (padding at the end, as ``chronolens.encoders.clip_base.clip_windows`` makes it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from chronolens.errors import did_you_mean

__all__ = [
    "HEADS",
    "POOLING_HEADS",
    "Clip4ClipHeadConfig",
    "MeanPooling",
    "PoolingHead",
    "SeqLSTM",
    "SeqTransformer",
    "TightTransformer",
    "build_pooling_head",
    "masked_mean",
]

POOLING_HEADS = ("meanP", "seqLSTM", "seqTransf")  # heads that give one embedding per clip
HEADS = (*POOLING_HEADS, "tightTransf")  # CLIP4Clip's sim_header choices


@dataclass(frozen=True, kw_only=True)
class Clip4ClipHeadConfig:
    """Sizes of the CLIP4Clip heads; defaults are CLIP4Clip's on ViT-B/32 (``cross-base`` config)."""

    dim: int = 512  # frame embedding width D (CLIP ViT-B/32 projection)
    max_frames: int = 128  # rows of the frame position table (cross-base max_position_embeddings)
    max_text_tokens: int = 77  # text positions the tight transformer accepts (CLIP's context)
    layers: int = 4  # transformer layers of seqTransf / tightTransf (cross_num_hidden_layers)
    heads: int = 8  # attention heads (D // 64)
    mlp_ratio: int = 4  # feed-forward width / D
    lstm_layers: int = 1  # LSTM layers of seqLSTM
    dropout: float = 0.0  # dropout inside the blocks (CLIP4Clip: 0.1 in the cross model only)

    def __post_init__(self) -> None:
        for name in ("dim", "max_frames", "max_text_tokens", "layers", "heads", "mlp_ratio", "lstm_layers"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @classmethod
    def tiny(cls, dim: int = 16) -> Clip4ClipHeadConfig:
        """A few-thousand-parameter config for tests."""
        return cls(dim=dim, max_frames=16, max_text_tokens=16, layers=2, heads=2, mlp_ratio=2)


def _check(frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if frames.ndim != 3:
        raise ValueError(f"frames must be (B, T, D), got {tuple(frames.shape)}")
    if mask.shape != frames.shape[:2]:
        raise ValueError(f"mask must be (B, T) = {tuple(frames.shape[:2])}, got {tuple(mask.shape)}")
    mask = mask.to(torch.bool)
    if not bool(mask.any(dim=1).all()):
        raise ValueError("every clip needs at least one real frame (a mask row is all False)")
    return mask


def masked_mean(frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real frames: ``(B, T, D)``, ``(B, T)`` bool -> ``(B, D)``; padded values are never read."""
    kept = torch.where(mask.unsqueeze(-1), frames, torch.zeros((), dtype=frames.dtype, device=frames.device))
    return kept.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1).to(frames.dtype)


class PoolingHead(nn.Module):
    """A head that pools a clip's frames into one embedding: per-frame features, normalise, masked mean."""

    kind: str = ""  # CLIP4Clip's sim_header name

    def frame_features(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` per-frame features before pooling (identity for meanP)."""
        return frames

    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``frames (B, T, D)``, ``mask (B, T)`` -> ``(B, D)`` pooled (not normalised)."""
        mask = _check(frames, mask)
        features = F.normalize(self.frame_features(frames, mask), dim=-1)
        return masked_mean(features, mask)


class MeanPooling(PoolingHead):
    """CLIP4Clip ``meanP``: the masked mean of unit-norm frame embeddings (no parameters)."""

    kind = "meanP"


class SeqLSTM(PoolingHead):
    """CLIP4Clip ``seqLSTM``: LSTM over the real frames, residual to the input, masked mean."""

    kind = "seqLSTM"

    def __init__(self, config: Clip4ClipHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(
            input_size=config.dim, hidden_size=config.dim, num_layers=config.lstm_layers, batch_first=True
        )

    def frame_features(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1)
        prefix = torch.arange(mask.shape[1], device=mask.device).unsqueeze(0) < lengths.unsqueeze(1)
        if not torch.equal(prefix, mask):
            raise ValueError("seqLSTM needs the real frames first (padding at the end of each clip)")
        packed = nn.utils.rnn.pack_padded_sequence(
            frames, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        self.lstm.flatten_parameters()
        output, _ = self.lstm(packed)
        output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=frames.shape[1])
        return output + frames


def _encoder_stack(config: Clip4ClipHeadConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        d_model=config.dim,
        nhead=config.heads,
        dim_feedforward=config.mlp_ratio * config.dim,
        dropout=config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,  # CLIP's pre-norm residual attention blocks
    )
    # No nested tensors: padded rows stay dense, so output shapes never depend on the mask.
    return nn.TransformerEncoder(layer, num_layers=config.layers, enable_nested_tensor=False)


class SeqTransformer(PoolingHead):
    """CLIP4Clip ``seqTransf``: position embeddings + transformer over frames, residual, masked mean."""

    kind = "seqTransf"

    def __init__(self, config: Clip4ClipHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.frame_position_embeddings = nn.Embedding(config.max_frames, config.dim)
        self.transformer = _encoder_stack(config)

    def frame_features(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        steps = frames.shape[1]
        if steps > self.config.max_frames:
            raise ValueError(f"seqTransf has positions for {self.config.max_frames} frames, got {steps}")
        positions = self.frame_position_embeddings(torch.arange(steps, device=frames.device))
        hidden = self.transformer(frames + positions.unsqueeze(0), src_key_padding_mask=~mask)
        return hidden + frames


class TightTransformer(nn.Module):
    """CLIP4Clip ``tightTransf``: a cross transformer over text tokens and frames, one score per pair.

    Corresponds to CLIP4Clip's ``CrossModel`` + ``similarity_dense`` (``_cross_similarity``).
    """

    kind = "tightTransf"

    def __init__(self, config: Clip4ClipHeadConfig) -> None:
        super().__init__()
        self.config = config
        self.position_embeddings = nn.Embedding(config.max_text_tokens + config.max_frames, config.dim)
        self.type_embeddings = nn.Embedding(2, config.dim)  # 0: text token, 1: frame
        self.embedding_norm = nn.LayerNorm(config.dim)
        self.transformer = _encoder_stack(config)
        self.pooler_norm = nn.LayerNorm(config.dim)
        self.pooler = nn.Linear(config.dim, config.dim)
        self.similarity_dense = nn.Linear(config.dim, 1)

    def forward(
        self,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        frames: torch.Tensor,
        frame_mask: torch.Tensor,
    ) -> torch.Tensor:
        """Score every text against every clip.

        Args:
            text_tokens: ``(M, L, D)`` per-token text features; ``text_mask`` ``(M, L)`` real tokens.
            frames: ``(N, T, D)`` frame embeddings; ``frame_mask`` ``(N, T)`` real frames.

        Returns:
            ``(M, N)`` scores (unbounded logits).
        """
        frame_mask = _check(frames, frame_mask)
        text_mask = _check(text_tokens, text_mask)
        (m, length, dim), (n, steps) = text_tokens.shape, frames.shape[:2]
        if length > self.config.max_text_tokens or steps > self.config.max_frames:
            raise ValueError(
                f"tightTransf takes up to {self.config.max_text_tokens} tokens and {self.config.max_frames} "
                f"frames, got {length} and {steps}"
            )
        # every (text, clip) pair as one sequence: text tokens then frames
        sequence = torch.cat(
            [
                text_tokens.unsqueeze(1).expand(m, n, length, dim),
                frames.unsqueeze(0).expand(m, n, steps, dim),
            ],
            dim=2,
        ).reshape(m * n, length + steps, dim)
        keep = torch.cat(
            [text_mask.unsqueeze(1).expand(m, n, length), frame_mask.unsqueeze(0).expand(m, n, steps)], dim=2
        ).reshape(m * n, length + steps)
        types = torch.cat([torch.zeros(length, dtype=torch.long), torch.ones(steps, dtype=torch.long)]).to(
            frames.device
        )
        positions = torch.arange(length + steps, device=frames.device)
        sequence = self.embedding_norm(
            sequence + self.type_embeddings(types) + self.position_embeddings(positions)
        )
        hidden = self.transformer(sequence, src_key_padding_mask=~keep)
        pooled = F.gelu(self.pooler(self.pooler_norm(hidden[:, 0])))
        return self.similarity_dense(pooled).view(m, n)


def build_pooling_head(kind: str, config: Clip4ClipHeadConfig) -> PoolingHead:
    """A pooling head by CLIP4Clip name (``meanP``, ``seqLSTM``, ``seqTransf``)."""
    if kind == "meanP":
        return MeanPooling()
    if kind == "seqLSTM":
        return SeqLSTM(config)
    if kind == "seqTransf":
        return SeqTransformer(config)
    extra = " (tightTransf scores text-clip pairs: use TightTransformer)" if kind == "tightTransf" else ""
    hint = did_you_mean(kind, POOLING_HEADS)
    raise ValueError(f"unknown pooling head {kind!r}; valid: {', '.join(POOLING_HEADS)}{hint}{extra}")
