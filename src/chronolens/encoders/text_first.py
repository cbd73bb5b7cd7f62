"""A CLIP encoder that answers text queries without loading torch or the image tower.

``builtin:`` models load as a ``TextFirstEncoder``: ``encode_texts`` runs the checkpoint's text
tower in numpy (``chronolens.encoders.clip_text``, float32, equal to transformers' float32 output
to ~1e-6), and everything that needs the image side (``encode_images``, ``model``,
``pixel_values``, ...) loads the full transformers model on first use (``load_hf_encoder``, with
the options the encoder was loaded with). A search, ``ground`` or ``highlights`` over stored
embeddings therefore never imports torch or transformers.

Precision: the numpy text tower always computes in float32, the reference precision. ``"auto"``
(bf16 autocast where the hardware has it) and ``"fp32"`` use it; so texts come out the same on
every machine. ``precision="bf16"`` or ``compile=True`` ask for the torch path explicitly and
embed texts through transformers too.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.encoders.clip_text import ClipTextTower
from chronolens.encoders.fingerprint import weights_sha256
from chronolens.encoders.preprocess import (
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    family_default,
    load_preprocess_config,
)
from chronolens.errors import ModelNotFoundError

if TYPE_CHECKING:
    from chronolens.encoders.hf import HFEncoder

__all__ = ["TextFirstEncoder"]

logger = logging.getLogger(__name__)

_CLIP_DEFAULT_PROJECTION = 512  # CLIPConfig.projection_dim when config.json leaves it out
_CLIP_DEFAULT_IMAGE_SIZE = 224  # CLIPVisionConfig.image_size when config.json leaves it out


class TextFirstEncoder:
    """A transformers CLIP checkpoint behind the ``Encoder`` protocol, its image side loaded lazily.

    Args:
        name: the registry name it was loaded by.
        directory: a CLIP ``save_pretrained`` directory that ``clip_text.supports`` accepts.
        device: torch device for the image side (None: CUDA when available, else CPU).
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"`` (``"bf16"`` also sends texts through torch).
        batch_size: frames / texts per forward pass.
        compile: ``torch.compile`` the towers (texts go through torch too).
    """

    def __init__(
        self,
        *,
        name: str,
        directory: Path,
        device: str | None = None,
        precision: str = "auto",
        batch_size: int = 32,
        compile: bool = False,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelNotFoundError(f"{name}: no readable config.json in {directory} ({exc})") from exc
        self.name = name
        self.directory = directory
        self.batch_size = batch_size
        self.dim = int(config.get("projection_dim", _CLIP_DEFAULT_PROJECTION))
        side = (config.get("vision_config") or {}).get("image_size", _CLIP_DEFAULT_IMAGE_SIZE)
        side = int(side[0] if isinstance(side, list) else side)
        default = family_default(side, crop=True, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD)
        self.image_size = load_preprocess_config(directory, default).output_size[0]
        self._device = device
        self._precision = precision
        self._compile = compile
        self._texts_in_torch = precision == "bf16" or compile
        self._lock = threading.Lock()  # one load of each side even under concurrent first calls
        self._tower: ClipTextTower | None = None
        self._full: HFEncoder | None = None

    @functools.cached_property
    def weights_sha256(self) -> str:
        """sha256 over the weight files (see ``chronolens.encoders.fingerprint``), computed once."""
        return weights_sha256(self.directory)

    @property
    def text_tower(self) -> ClipTextTower:
        """The numpy text tower, loaded on first use."""
        with self._lock:
            if self._tower is None:
                self._tower = ClipTextTower.load(self.directory)
            return self._tower

    @property
    def full(self) -> HFEncoder:
        """The transformers encoder with both towers, loaded on first use."""
        with self._lock:
            if self._full is None:
                from chronolens.encoders.hf import load_hf_encoder

                self._full = load_hf_encoder(
                    str(self.directory),
                    name=self.name,
                    device=self._device,
                    precision=self._precision,
                    batch_size=self.batch_size,
                    compile=self._compile,
                )
            return self._full

    @property
    def model(self) -> Any:
        """The underlying transformers model (loads the full encoder)."""
        return self.full.model

    @property
    def tokenizer(self) -> Any:
        """The transformers tokenizer (loads the full encoder)."""
        return self.full.tokenizer

    def pixel_values(self, frames: np.ndarray) -> Any:
        """Preprocess frames as ``encode_images`` does (see ``HFEncoder.pixel_values``)."""
        return self.full.pixel_values(frames)

    def tokenize(self, texts: Sequence[str]) -> dict[str, Any]:
        """Tokenise as transformers does (see ``HFEncoder.tokenize``)."""
        return self.full.tokenize(texts)

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed RGB frames ``(N, H, W, 3)`` uint8 -> ``(N, D)`` float32 unit rows (transformers)."""
        return self.full.encode_images(frames)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> ``(M, D)`` float32 unit rows (numpy float32 unless torch was asked for)."""
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a sequence of strings, not one string")
        if self._texts_in_torch:
            return self.full.encode_texts(texts)
        return self.text_tower.encode(texts, batch_size=self.batch_size)

    def __repr__(self) -> str:
        loaded = "both towers" if self._full is not None else "text tower"
        return f"TextFirstEncoder(name={self.name!r}, dim={self.dim}, {loaded})"
