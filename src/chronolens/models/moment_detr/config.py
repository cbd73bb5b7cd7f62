"""Frozen configs of the Moment-DETR / QD-DETR heads, their losses, matcher and sliding-window inference.

Defaults are the papers' (jayleicn/moment_detr ``moment_detr/config.py`` and wjun0830/QD-DETR
``qd_detr/config.py``, QVHighlights settings); ``tiny()`` builds in milliseconds for tests.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["InferenceConfig", "LossConfig", "MatcherConfig", "MomentDETRConfig"]


def _positive(owner: str, values: dict[str, float]) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{owner}.{name} must be > 0, got {value!r}")


def _non_negative(owner: str, values: dict[str, float]) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{owner}.{name} must be >= 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class MomentDETRConfig:
    """Sizes of the head. Shared by ``MomentDETR`` and ``QDDETR`` (``t2v_layers`` is QD-DETR's only)."""

    video_dim: int = 512  # width of one clip feature (the extractor's embedding width D)
    text_dim: int = 512  # width of one query token feature
    hidden_dim: int = 256  # transformer width d
    enc_layers: int = 2  # transformer encoder layers
    dec_layers: int = 2  # transformer decoder layers
    t2v_layers: int = 2  # QD-DETR: text-to-video cross-attention layers before the encoder
    heads: int = 8  # attention heads; must divide hidden_dim
    ffn_dim: int = 1024  # feed-forward width of every transformer layer
    dropout: float = 0.1  # dropout inside the transformer
    input_dropout: float = 0.5  # dropout of the input projections
    input_proj_layers: int = 2  # LayerNorm-Dropout-Linear(-ReLU) layers projecting each input, 1..3
    num_queries: int = 10  # learnable moment queries (the most moments one window can hold)
    max_clips: int = 75  # clips per window the head is trained on (75 x 2 s = 150 s, QVHighlights)
    use_tef: bool = True  # append the temporal endpoint feature [i / T, (i + 1) / T] to each clip
    aux_loss: bool = True  # span and class losses on every decoder layer, not only the last

    def __post_init__(self) -> None:
        _positive(
            "MomentDETRConfig",
            {
                "video_dim": self.video_dim,
                "text_dim": self.text_dim,
                "hidden_dim": self.hidden_dim,
                "enc_layers": self.enc_layers,
                "dec_layers": self.dec_layers,
                "t2v_layers": self.t2v_layers,
                "heads": self.heads,
                "ffn_dim": self.ffn_dim,
                "num_queries": self.num_queries,
                "max_clips": self.max_clips,
            },
        )
        if self.hidden_dim % self.heads:
            raise ValueError(
                f"MomentDETRConfig.heads ({self.heads}) must divide hidden_dim ({self.hidden_dim})"
            )
        if self.hidden_dim % 2:
            raise ValueError(
                f"MomentDETRConfig.hidden_dim must be even (sine positions), got {self.hidden_dim}"
            )
        if not 1 <= self.input_proj_layers <= 3:
            raise ValueError(
                f"MomentDETRConfig.input_proj_layers must be 1, 2 or 3, got {self.input_proj_layers}"
            )
        for name in ("dropout", "input_dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"MomentDETRConfig.{name} must be in [0, 1), got {value!r}")

    @classmethod
    def tiny(cls, *, video_dim: int = 16, text_dim: int = 16, max_clips: int = 32) -> MomentDETRConfig:
        """A very small head for tests (builds in milliseconds, trains in seconds on a CPU)."""
        return cls(
            video_dim=video_dim,
            text_dim=text_dim,
            hidden_dim=32,
            enc_layers=1,
            dec_layers=2,
            t2v_layers=1,
            heads=2,
            ffn_dim=64,
            dropout=0.0,
            input_dropout=0.0,
            num_queries=4,
            max_clips=max_clips,
        )


@dataclass(frozen=True, kw_only=True)
class MatcherConfig:
    """Hungarian matching costs (moment_detr ``HungarianMatcher``; the same weights as the losses)."""

    cost_class: float = 4.0  # weight of -p(foreground)
    cost_span: float = 10.0  # weight of the L1 distance between (centre, width) pairs
    cost_giou: float = 1.0  # weight of -gIoU between the windows

    def __post_init__(self) -> None:
        _non_negative(
            "MatcherConfig",
            {"cost_class": self.cost_class, "cost_span": self.cost_span, "cost_giou": self.cost_giou},
        )
        if self.cost_class == self.cost_span == self.cost_giou == 0:
            raise ValueError("MatcherConfig: at least one cost must be > 0")


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Loss weights (moment_detr ``SetCriterion`` / ``weight_dict``). ``qd_detr()`` adds QD-DETR's terms."""

    span_l1: float = 10.0  # weight of the L1 loss on matched (centre, width)
    span_giou: float = 1.0  # weight of 1 - gIoU on matched windows
    label: float = 4.0  # weight of the foreground/background cross-entropy
    eos_coef: float = 0.1  # class weight of "background" (unmatched queries) inside that cross-entropy
    saliency: float = 1.0  # weight of the saliency loss (margin [+ rank-contrastive + negative pairs])
    saliency_margin: float = 0.2  # hinge margin between a positive and a negative clip's saliency
    rank_contrastive: bool = False  # QD-DETR: rank-contrastive loss over saliency levels
    rank_tau: float = 0.5  # temperature of the rank-contrastive softmax
    rank_levels: int = 12  # levels visited 1..rank_levels-1, sum divided by rank_levels (QD-DETR's loop)
    negative_pairs: bool = False  # QD-DETR: push saliency down when the video is paired with another query
    matcher: MatcherConfig = MatcherConfig()  # costs of the Hungarian matching

    def __post_init__(self) -> None:
        _non_negative(
            "LossConfig",
            {
                "span_l1": self.span_l1,
                "span_giou": self.span_giou,
                "label": self.label,
                "eos_coef": self.eos_coef,
                "saliency": self.saliency,
                "saliency_margin": self.saliency_margin,
            },
        )
        _positive("LossConfig", {"rank_tau": self.rank_tau, "rank_levels": self.rank_levels})

    @classmethod
    def qd_detr(cls) -> LossConfig:
        """QD-DETR's loss: Moment-DETR's plus rank-contrastive and negative-pair saliency terms."""
        return cls(rank_contrastive=True, negative_pairs=True)


@dataclass(frozen=True, kw_only=True)
class InferenceConfig:
    """Sliding-window inference over a video of any length."""

    window_overlap: float = 0.5  # fraction of a window shared with the next one, in [0, 1)
    nms_iou: float = 0.7  # windows overlapping a better one by more than this IoU are dropped
    top_k: int = 10  # windows returned per query at most
    batch_windows: int = 64  # windows run through the head in one forward pass

    def __post_init__(self) -> None:
        if not 0.0 <= self.window_overlap < 1.0:
            raise ValueError(f"InferenceConfig.window_overlap must be in [0, 1), got {self.window_overlap!r}")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError(f"InferenceConfig.nms_iou must be in [0, 1], got {self.nms_iou!r}")
        _positive("InferenceConfig", {"top_k": self.top_k, "batch_windows": self.batch_windows})
