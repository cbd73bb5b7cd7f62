"""Writing the ``builtin:synth-clip`` directory: weights, config, tokenizer, image settings, model card.

The directory is what ``hf:<dir>`` loads: ``config.json`` + ``model.safetensors`` (from
``CLIPModel.save_pretrained``), ``tokenizer.json`` + ``tokenizer_config.json`` and
``preprocessor_config.json`` with ``CLIPImageProcessor`` fields.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chronolens.atomic import atomic_directory
from chronolens.encoders.preprocess import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PREPROCESSOR_CONFIG
from chronolens.models.tokenizer_files import save_portable_tokenizer

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerBase

__all__ = ["preprocessor_config", "save_artifact"]

logger = logging.getLogger(__name__)

MODEL_CARD = "README.md"
_RESAMPLE_BICUBIC = 3  # PIL.Image.BICUBIC, as CLIPImageProcessor stores it
_FILE_MODE = 0o644  # rw-r--r--


def preprocessor_config(image_size: int) -> dict[str, Any]:
    """The ``CLIPImageProcessor`` fields for a square model input of ``image_size`` pixels."""
    return {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": image_size},
        "resample": _RESAMPLE_BICUBIC,
        "do_center_crop": True,
        "crop_size": {"height": image_size, "width": image_size},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(OPENAI_CLIP_MEAN),
        "image_std": list(OPENAI_CLIP_STD),
        "do_convert_rgb": True,
    }


def save_artifact(
    model: CLIPModel,
    tokenizer: PreTrainedTokenizerBase,
    out_dir: str | os.PathLike[str],
    *,
    model_card: str | None = None,
) -> Path:
    """Write a loadable model directory atomically (built beside ``out_dir``, then swapped in).

    Args:
        model: the trained ``CLIPModel``; saved in float32 safetensors.
        tokenizer: its tokenizer.
        out_dir: destination directory; replaced if it exists.
        model_card: Markdown text for ``README.md``.

    Returns:
        ``out_dir`` as a ``Path``.
    """
    out = Path(out_dir)
    with atomic_directory(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        save_portable_tokenizer(tokenizer, tmp)
        image_size = int(getattr(model.config.vision_config, "image_size"))  # noqa: B009 - typed as a union
        (tmp / PREPROCESSOR_CONFIG).write_text(
            json.dumps(preprocessor_config(image_size), indent=2) + "\n", encoding="utf-8"
        )
        if model_card is not None:
            (tmp / MODEL_CARD).write_text(model_card, encoding="utf-8")
        for path in tmp.iterdir():
            # safetensors writes owner-only files; shipped package data must be world-readable.
            path.chmod(_FILE_MODE)
    logger.info("saved model to %s", out)
    return out
