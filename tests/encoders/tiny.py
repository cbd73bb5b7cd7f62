"""Tiny random-init CLIP / SigLIP model directories for tests (offline, well under a second).

``save_tiny_clip(dir)`` writes what ``save_pretrained`` writes for the clip-vit-base-patch32
layout at reduced width and depth: config.json, model.safetensors, a tokenizer (a word-level
``tokenizers`` model built here, no download) and preprocessor_config.json. Load the result with
``chronolens.encoders.load_encoder(f"hf:{dir}")``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from chronolens.encoders.preprocess import STANDARD_MEAN, STANDARD_STD
from chronolens.models.synth_clip.artifact import preprocessor_config

__all__ = ["TINY_WORDS", "save_tiny_clip", "save_tiny_siglip", "save_tiny_tokenizer"]

_WORDS = (
    "a an the of on in at to with and is are this that photo video picture frame scene "
    "person man woman child people dog cat bird horse car bike ball box table chair door "
    "red green blue yellow black white orange purple big small left right up down "
    "walks runs jumps sits stands opens closes puts takes holds throws falls moves spins "
    "square circle triangle background moving still fast slow"
)
TINY_WORDS: tuple[str, ...] = tuple(_WORDS.split())
SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")  # ids 0..3
TINY_IMAGE_SIZE = 32  # pixels, square
TINY_PATCH = 8  # pixels
TINY_WIDTH = 64  # hidden size of both towers
TINY_LAYERS = 2
TINY_HEADS = 2
TINY_PROJECTION = 32  # embedding width D of the tiny CLIP
TINY_TEXT_POSITIONS = 16  # max tokens


def save_tiny_tokenizer(directory: Path, *, max_length: int = TINY_TEXT_POSITIONS) -> int:
    """Write a lower-casing word-level tokenizer with ``<bos> ... <eos>`` framing (the builtin model's kind).

    Returns:
        Its vocabulary size.
    """
    from chronolens.models.synth_clip.tokenizer import build_tokenizer

    tokenizer = build_tokenizer([" ".join(TINY_WORDS)], max_length=max_length)
    tokenizer.save_pretrained(directory)
    return len(tokenizer)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _tiny_towers(vocab_size: int, image_size: int) -> dict[str, dict[str, int]]:
    """The text and vision tower sizes shared by the tiny CLIP and SigLIP configs."""
    return {
        "text_config": {
            "vocab_size": vocab_size,
            "hidden_size": TINY_WIDTH,
            "intermediate_size": 4 * TINY_WIDTH,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "max_position_embeddings": TINY_TEXT_POSITIONS,
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": 3,
        },
        "vision_config": {
            "hidden_size": TINY_WIDTH,
            "intermediate_size": 4 * TINY_WIDTH,
            "num_hidden_layers": TINY_LAYERS,
            "num_attention_heads": TINY_HEADS,
            "image_size": image_size,
            "patch_size": TINY_PATCH,
        },
    }


def save_tiny_clip(
    directory: Path,
    *,
    seed: int = 0,
    image_size: int = TINY_IMAGE_SIZE,
    preprocessor: bool = True,
) -> Path:
    """Write a loadable random-init tiny ``CLIPModel`` directory.

    Args:
        directory: created if missing.
        seed: torch seed for the weights (same seed, same bytes).
        image_size: square input resolution of the vision tower.
        preprocessor: also write a CLIPImageProcessor-style preprocessor_config.json.

    Returns:
        ``directory``.
    """
    from transformers import CLIPConfig, CLIPModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_size = save_tiny_tokenizer(directory)
    config = CLIPConfig(
        **_tiny_towers(vocab_size, image_size),
        projection_dim=TINY_PROJECTION,
    )
    torch.manual_seed(seed)
    CLIPModel(config).eval().save_pretrained(directory, safe_serialization=True)
    if preprocessor:
        _write_json(directory / "preprocessor_config.json", preprocessor_config(image_size))
    return directory


def save_tiny_siglip(directory: Path, *, seed: int = 0, image_size: int = TINY_IMAGE_SIZE) -> Path:
    """Write a loadable random-init tiny ``SiglipModel`` directory (with preprocessor config).

    Returns:
        ``directory``.
    """
    from transformers import SiglipConfig, SiglipModel

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vocab_size = save_tiny_tokenizer(directory)
    config = SiglipConfig(
        **_tiny_towers(vocab_size, image_size),
    )
    torch.manual_seed(seed)
    SiglipModel(config).eval().save_pretrained(directory, safe_serialization=True)
    _write_json(
        directory / "preprocessor_config.json",
        {
            "image_processor_type": "SiglipImageProcessor",
            "do_resize": True,
            "size": {"height": image_size, "width": image_size},
            "resample": 3,
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": list(STANDARD_MEAN),
            "image_std": list(STANDARD_STD),
        },
    )
    return directory
