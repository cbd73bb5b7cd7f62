"""The one contract every image-text encoder implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Encoder"]


@runtime_checkable
class Encoder(Protocol):
    """An image-text dual encoder.

    Both sides return float32 rows L2-normalised to unit length, so a dot product is a cosine
    similarity. Implementations batch internally and run under ``torch.inference_mode``.
    """

    name: str  # the registry name it was loaded by, e.g. "hf:openai/clip-vit-base-patch32"
    dim: int  # embedding width D
    image_size: int  # square input resolution the image tower expects (used to resize on decode)

    # Read-only in the protocol so implementations may compute it lazily (a plain attribute
    # still satisfies it): hashing real weights takes a second or more.
    @property
    def weights_sha256(self) -> str:
        """sha256 over the weight files, recorded in library manifests."""
        ...

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed RGB frames.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB, any H, W.

        Returns:
            ``(N, D)`` float32, L2-normalised.
        """
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Returns:
            ``(M, D)`` float32, L2-normalised.
        """
        ...
