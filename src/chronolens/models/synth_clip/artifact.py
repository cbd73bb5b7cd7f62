"""Writing the ``builtin:synth-clip`` directory: weights, config, tokenizer, image settings, model card.

The directory is what ``hf:<dir>`` loads: ``config.json`` + ``model.safetensors`` (from
``CLIPModel.save_pretrained``), ``tokenizer.json`` + ``tokenizer_config.json`` and
``preprocessor_config.json`` with ``CLIPImageProcessor`` fields.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chronolens.encoders.preprocess import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, PREPROCESSOR_CONFIG

if TYPE_CHECKING:
    from transformers import CLIPModel, PreTrainedTokenizerBase

__all__ = ["preprocessor_config", "save_artifact"]

logger = logging.getLogger(__name__)

MODEL_CARD = "README.md"
_RESAMPLE_BICUBIC = 3  # PIL.Image.BICUBIC, as CLIPImageProcessor stores it
# transformers 5 records its internal backend class; the portable name loads in 4.x and 5.x alike.
_PORTABLE_TOKENIZER_CLASS = "PreTrainedTokenizerFast"
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    tok_config = tmp / "tokenizer_config.json"
    if tok_config.is_file():
        data = json.loads(tok_config.read_text(encoding="utf-8"))
        data["tokenizer_class"] = _PORTABLE_TOKENIZER_CLASS
        tok_config.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    image_size = int(getattr(model.config.vision_config, "image_size"))  # noqa: B009 - typed as a union
    (tmp / PREPROCESSOR_CONFIG).write_text(
        json.dumps(preprocessor_config(image_size), indent=2) + "\n", encoding="utf-8"
    )
    if model_card is not None:
        (tmp / MODEL_CARD).write_text(model_card, encoding="utf-8")
    for path in tmp.iterdir():
        # safetensors writes owner-only files; shipped package data must be world-readable.
        path.chmod(_FILE_MODE)
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)
    logger.info("saved model to %s", out)
    return out
