"""Architecture of ``builtin:synth-clip``: a tiny transformers ``CLIPModel``.

The built-in model is deliberately an unmodified ``transformers.CLIPModel`` so that it loads
through the same ``hf:`` code path as real CLIP checkpoints; only the sizes are small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import CLIPConfig, CLIPModel

__all__ = ["SynthClipConfig", "build_clip_config", "build_clip_model"]

# Token ids fixed by the tokenizer builder; CLIPTextTransformer pools at the first ``eos_token_id``
# (transformers special-cases ``eos_token_id == 2`` to "largest id", so EOS must not be 2).
PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3


@dataclass(frozen=True, kw_only=True)
class SynthClipConfig:
    """Sizes of the two towers. Defaults are the shipped model; tests use ``SynthClipConfig.tiny()``."""

    image_size: int = 96  # square input resolution in pixels (after resize + centre crop)
    patch_size: int = 8  # ViT patch side in pixels; image_size must be a multiple
    vision_width: int = 128  # ViT hidden size
    vision_layers: int = 4  # ViT transformer blocks
    vision_heads: int = 4  # ViT attention heads; must divide vision_width
    text_width: int = 128  # text transformer hidden size
    text_layers: int = 3  # text transformer blocks
    text_heads: int = 4  # text attention heads; must divide text_width
    max_text_len: int = 64  # max tokens per text incl. BOS and EOS (video captions run ~50 words)
    embed_dim: int = 128  # shared image-text embedding width D
    mlp_ratio: int = 4  # feed-forward width as a multiple of the hidden size
    logit_scale_init: float = 2.6592  # initial log(1 / temperature), ln(1/0.07) as in CLIP

    def __post_init__(self) -> None:
        positive = {
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "vision_width": self.vision_width,
            "vision_layers": self.vision_layers,
            "vision_heads": self.vision_heads,
            "text_width": self.text_width,
            "text_layers": self.text_layers,
            "text_heads": self.text_heads,
            "embed_dim": self.embed_dim,
            "mlp_ratio": self.mlp_ratio,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"SynthClipConfig.{name} must be >= 1, got {value!r}")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"SynthClipConfig.image_size ({self.image_size}) must be a multiple of patch_size "
                f"({self.patch_size})"
            )
        if self.vision_width % self.vision_heads:
            raise ValueError("SynthClipConfig.vision_heads must divide vision_width")
        if self.text_width % self.text_heads:
            raise ValueError("SynthClipConfig.text_heads must divide text_width")
        if self.max_text_len < 3:
            raise ValueError(
                f"SynthClipConfig.max_text_len must be >= 3 (BOS, a word, EOS), got {self.max_text_len}"
            )

    @classmethod
    def tiny(cls) -> SynthClipConfig:
        """A very small configuration for unit tests (builds in milliseconds)."""
        return cls(
            image_size=16,
            patch_size=8,
            vision_width=32,
            vision_layers=1,
            vision_heads=2,
            text_width=32,
            text_layers=1,
            text_heads=2,
            max_text_len=12,
            embed_dim=16,
        )


def build_clip_config(config: SynthClipConfig, vocab_size: int) -> CLIPConfig:
    """Translate ``config`` into a transformers ``CLIPConfig``.

    Args:
        config: tower sizes.
        vocab_size: size of the word-level tokenizer's vocabulary (special tokens included).

    Returns:
        A ``CLIPConfig`` whose text ``bos/eos/pad_token_id`` match the chronolens tokenizer.
    """
    from transformers import CLIPConfig, CLIPTextConfig, CLIPVisionConfig

    text = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=config.text_width,
        intermediate_size=config.text_width * config.mlp_ratio,
        num_hidden_layers=config.text_layers,
        num_attention_heads=config.text_heads,
        max_position_embeddings=config.max_text_len,
        projection_dim=config.embed_dim,
        pad_token_id=PAD_ID,
        bos_token_id=BOS_ID,
        eos_token_id=EOS_ID,
    )
    vision = CLIPVisionConfig(
        hidden_size=config.vision_width,
        intermediate_size=config.vision_width * config.mlp_ratio,
        num_hidden_layers=config.vision_layers,
        num_attention_heads=config.vision_heads,
        image_size=config.image_size,
        patch_size=config.patch_size,
        projection_dim=config.embed_dim,
    )
    return CLIPConfig(
        text_config=text.to_dict(),
        vision_config=vision.to_dict(),
        projection_dim=config.embed_dim,
        logit_scale_init_value=config.logit_scale_init,
    )


def build_clip_model(config: SynthClipConfig, vocab_size: int, *, seed: int = 0) -> CLIPModel:
    """Build a randomly initialised ``CLIPModel`` with the given sizes, deterministically from ``seed``.

    Args:
        config: tower sizes.
        vocab_size: tokenizer vocabulary size.
        seed: initialisation seed.
    """
    import torch
    from transformers import CLIPModel

    clip_config = build_clip_config(config, vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(clip_config)
    return model
