"""Moment-DETR and QD-DETR heads built from ``torch.nn`` transformer blocks.

Both read clip features ``(B, T, Dv)`` and query token features ``(B, L, Dt)`` and return, per
window, ``num_queries`` moments as class logits and normalised (centre, width) spans, and one
saliency score per clip. Padding masks are ``True`` on valid positions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from chronolens.models.moment_detr.config import MomentDETRConfig

__all__ = [
    "ARCHS",
    "QDDETR",
    "DETRHead",
    "DETROutput",
    "MomentDETR",
    "build_head",
    "temporal_endpoint_features",
]

_SINE_TEMPERATURE = 10000.0  # DETR PositionEmbeddingSine temperature
_SINE_EPS = 1e-6


@dataclass
class DETROutput:
    """What a head predicts for a batch of windows."""

    logits: torch.Tensor  # (B, Q, 2) class logits, index 0 = a moment (foreground)
    spans: torch.Tensor  # (B, Q, 2) normalised (centre, width) in [0, 1]
    saliency: torch.Tensor  # (B, T) per-clip saliency logits
    video_mask: torch.Tensor  # (B, T) bool, True on valid clips
    saliency_neg: torch.Tensor | None = None  # (B, T) QD-DETR: saliency with another example's query
    aux: list[tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=list
    )  # earlier decoder layers' (logits, spans)


def temporal_endpoint_features(video_mask: torch.Tensor) -> torch.Tensor:
    """moment_detr's TEF: ``[i / T, (i + 1) / T]`` for clip ``i`` of a window of ``T`` valid clips.

    Args:
        video_mask: (B, T) bool, True on valid clips (valid clips come first).

    Returns:
        (B, T, 2) float; zeros on padding.
    """
    lengths = video_mask.sum(dim=1, keepdim=True).clamp(min=1).float()  # (B, 1)
    index = torch.arange(video_mask.shape[1], device=video_mask.device).float()[None]  # (1, T)
    tef = torch.stack([index / lengths, (index + 1) / lengths], dim=-1)  # (B, T, 2)
    return tef * video_mask[..., None]


def sine_positions(video_mask: torch.Tensor, dim: int) -> torch.Tensor:
    """DETR's normalised 1-D sine positions (moment_detr ``PositionEmbeddingSine``).

    Args:
        video_mask: (B, T) bool, True on valid clips.
        dim: embedding width (even).

    Returns:
        (B, T, dim) float.
    """
    x = video_mask.float().cumsum(dim=1)  # (B, T) 1..T_valid
    x = x / (x[:, -1:] + _SINE_EPS) * (2 * math.pi)
    i = torch.arange(dim, device=video_mask.device, dtype=torch.float32)
    freq = _SINE_TEMPERATURE ** (2 * torch.div(i, 2, rounding_mode="floor") / dim)  # (dim,)
    pos = x[..., None] / freq  # (B, T, dim)
    return torch.stack([pos[..., 0::2].sin(), pos[..., 1::2].cos()], dim=-1).flatten(2)


class _InputProjection(nn.Sequential):
    """moment_detr ``LinearLayer`` stack: (LayerNorm, Dropout, Linear, ReLU) x n, no ReLU on the last."""

    def __init__(self, in_dim: int, out_dim: int, layers: int, dropout: float) -> None:
        blocks: list[nn.Module] = []
        for k in range(layers):
            width = in_dim if k == 0 else out_dim
            blocks += [nn.LayerNorm(width), nn.Dropout(dropout), nn.Linear(width, out_dim)]
            if k < layers - 1:
                blocks.append(nn.ReLU())
        super().__init__(*blocks)


class _MLP(nn.Module):
    """moment_detr ``MLP``: Linear-ReLU layers, the last without ReLU."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, layers: int) -> None:
        super().__init__()
        widths = [in_dim] + [hidden] * (layers - 1)
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths, [*widths[1:], out_dim], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(x)
            if k < len(self.layers) - 1:
                x = torch.relu(x)
        return x


def _encoder(config: MomentDETRConfig, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        config.hidden_dim, config.heads, config.ffn_dim, config.dropout, batch_first=True
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class DETRHead(nn.Module):
    """What both heads share: input projections, moment queries, the decoder, span/class heads.

    Subclasses set ``arch`` (the registry and checkpoint name) and implement ``forward``.
    """

    arch: ClassVar[str]

    def __init__(self, config: MomentDETRConfig) -> None:
        super().__init__()
        self.config = config
        d = config.hidden_dim
        video_in = config.video_dim + (2 if config.use_tef else 0)
        self.video_proj = _InputProjection(video_in, d, config.input_proj_layers, config.input_dropout)
        self.text_proj = _InputProjection(config.text_dim, d, config.input_proj_layers, config.input_dropout)
        self.query_embed = nn.Embedding(config.num_queries, d)
        layer = nn.TransformerDecoderLayer(d, config.heads, config.ffn_dim, config.dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, config.dec_layers, norm=nn.LayerNorm(d))
        self.class_head = nn.Linear(d, 2)
        self.span_head = _MLP(d, d, 2, 3)

    def _inputs(
        self, video: torch.Tensor, video_mask: torch.Tensor, text: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.config.use_tef:
            video = torch.cat([video, temporal_endpoint_features(video_mask).to(video.dtype)], dim=-1)
        v = self.video_proj(video)  # (B, T, d)
        t = self.text_proj(text)  # (B, L, d)
        return v, t, sine_positions(video_mask, self.config.hidden_dim).to(v.dtype)

    def _decode(
        self, memory: torch.Tensor, memory_pad: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Run the decoder layer by layer (DETR's intermediate outputs, each through the final norm)."""
        assert self.decoder.norm is not None
        x = self.query_embed.weight[None].expand(memory.shape[0], -1, -1)  # (B, Q, d)
        outs = []
        for layer in self.decoder.layers:
            x = layer(x, memory, memory_key_padding_mask=memory_pad)
            h = self.decoder.norm(x)
            outs.append((self.class_head(h), self.span_head(h).sigmoid()))
        logits, spans = outs[-1]
        return logits, spans, outs[:-1] if self.config.aux_loss else []

    def forward(
        self, video: torch.Tensor, video_mask: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor
    ) -> DETROutput:
        """Predict moments and saliency.

        Args:
            video: (B, T, Dv) clip features.
            video_mask: (B, T) bool, True on valid clips (valid ones first).
            text: (B, L, Dt) query token features.
            text_mask: (B, L) bool, True on valid tokens.
        """
        raise NotImplementedError


class MomentDETR(DETRHead):
    """Moment-DETR (jayleicn/moment_detr ``moment_detr.model.MomentDETR`` + ``transformer.Transformer``).

    Video and query tokens are projected, concatenated and encoded together (sine positions on
    the video, none on the text); ``num_queries`` learnable queries decode moments from the
    encoded tokens; a linear layer on the encoded clips gives saliency (``saliency_proj``).

    Differences from the original, both from building on ``torch.nn`` blocks: positions are added
    once to the encoder input (the original adds them to queries and keys in every layer), and
    the query embedding is the decoder input (the original feeds zeros and adds it as a query
    position).
    """

    arch = "moment-detr"

    def __init__(self, config: MomentDETRConfig) -> None:
        super().__init__(config)
        self.encoder = _encoder(config, config.enc_layers)
        self.saliency_head = nn.Linear(config.hidden_dim, 1)

    def forward(
        self, video: torch.Tensor, video_mask: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor
    ) -> DETROutput:
        """Predict moments and saliency; see ``DETRHead.forward`` for shapes."""
        v, t, pos = self._inputs(video, video_mask, text)
        src = torch.cat([v + pos, t], dim=1)  # (B, T + L, d)
        pad = ~torch.cat([video_mask, text_mask], dim=1)  # (B, T + L) True on padding
        memory = self.encoder(src, src_key_padding_mask=pad)  # (B, T + L, d)
        logits, spans, aux = self._decode(memory, pad)
        saliency = self.saliency_head(memory[:, : v.shape[1]]).squeeze(-1)  # (B, T)
        return DETROutput(logits=logits, spans=spans, saliency=saliency, video_mask=video_mask, aux=aux)


class _TextToVideoLayer(nn.Module):
    """QD-DETR ``T2V_TransformerEncoderLayer``: clips attend to query tokens, then a feed-forward.

    Post-norm, as the reference runs it (``normalize_before=False``).
    """

    def __init__(self, config: MomentDETRConfig) -> None:
        super().__init__()
        d = config.hidden_dim
        self.cross = nn.MultiheadAttention(d, config.heads, dropout=config.dropout, batch_first=True)
        self.ffn = nn.Sequential(
            nn.Linear(d, config.ffn_dim), nn.ReLU(), nn.Dropout(config.dropout), nn.Linear(config.ffn_dim, d)
        )
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.drop1 = nn.Dropout(config.dropout)
        self.drop2 = nn.Dropout(config.dropout)

    def forward(
        self, video: torch.Tensor, pos: torch.Tensor, text: torch.Tensor, text_pad: torch.Tensor
    ) -> torch.Tensor:
        attended = self.cross(video + pos, text, text, key_padding_mask=text_pad, need_weights=False)[0]
        x = self.norm1(video + self.drop1(attended))
        return self.norm2(x + self.drop2(self.ffn(x)))


class QDDETR(DETRHead):
    """QD-DETR (wjun0830/QD-DETR ``qd_detr.model.QDDETR`` + ``transformer.Transformer``).

    Query-dependent video representation: clips cross-attend to the query tokens
    (``t2v_encoder``) before a self-attention encoder over a learnable global token and the clips;
    saliency is the scaled dot product of each encoded clip with the encoded global token
    (``saliency_proj1/2``). In training (batch of 2+) the same video is encoded again with the
    next example's query (``src_txt_neg``, the batch rolled by one) to give ``saliency_neg`` for
    the negative-pair loss.

    Differences from the original: the decoder is Moment-DETR's (learnable queries through
    ``torch.nn.TransformerDecoder``) rather than the DAB-DETR anchor decoder, and positions are
    added once to each block's input.
    """

    arch = "qd-detr"

    def __init__(self, config: MomentDETRConfig) -> None:
        super().__init__(config)
        d = config.hidden_dim
        self.t2v = nn.ModuleList(_TextToVideoLayer(config) for _ in range(config.t2v_layers))
        self.encoder = _encoder(config, config.enc_layers)
        self.global_token = nn.Parameter(torch.randn(d) * 0.02)
        self.global_pos = nn.Parameter(torch.randn(d) * 0.02)
        self.saliency_clip = nn.Linear(d, d)
        self.saliency_global = nn.Linear(d, d)

    def _encode(
        self,
        v: torch.Tensor,
        pos: torch.Tensor,
        video_mask: torch.Tensor,
        t: torch.Tensor,
        text_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(clip memory (B, T, d), saliency (B, T), padding mask of the clips (B, T))."""
        x = v
        for layer in self.t2v:
            x = layer(x, pos, t, ~text_mask)
        b = v.shape[0]
        glob = (self.global_token + self.global_pos)[None, None].expand(b, 1, -1)  # (B, 1, d)
        src = torch.cat([glob, x + pos], dim=1)  # (B, 1 + T, d)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=v.device), ~video_mask], dim=1)
        memory = self.encoder(src, src_key_padding_mask=pad)  # (B, 1 + T, d)
        clips, glob_mem = memory[:, 1:], memory[:, 0]
        saliency = (self.saliency_clip(clips) * self.saliency_global(glob_mem)[:, None]).sum(-1)
        return clips, saliency / math.sqrt(self.config.hidden_dim), pad[:, 1:]

    def forward(
        self, video: torch.Tensor, video_mask: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor
    ) -> DETROutput:
        """Predict moments and saliency; see ``DETRHead.forward`` for shapes."""
        v, t, pos = self._inputs(video, video_mask, text)
        clips, saliency, pad = self._encode(v, pos, video_mask, t, text_mask)
        logits, spans, aux = self._decode(clips, pad)
        saliency_neg = None
        if self.training and v.shape[0] > 1:
            t_neg, mask_neg = t.roll(-1, dims=0), text_mask.roll(-1, dims=0)
            saliency_neg = self._encode(v, pos, video_mask, t_neg, mask_neg)[1]
        return DETROutput(
            logits=logits,
            spans=spans,
            saliency=saliency,
            video_mask=video_mask,
            saliency_neg=saliency_neg,
            aux=aux,
        )


ARCHS: dict[str, type[DETRHead]] = {MomentDETR.arch: MomentDETR, QDDETR.arch: QDDETR}


def build_head(arch: str, config: MomentDETRConfig, *, seed: int = 0) -> DETRHead:
    """A randomly initialised head of ``arch`` (``moment-detr`` | ``qd-detr``), deterministic in ``seed``.

    Raises:
        ValueError: unknown ``arch`` (the message lists the known ones).
    """
    cls = ARCHS.get(arch)
    if cls is None:
        raise ValueError(f"unknown arch {arch!r}; known: {', '.join(ARCHS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(config)
