"""A test encoder that really discriminates synthetic content: coarse colour histograms.

Image side: each pixel's RGB is thresholded per channel at 128, giving one of 8 colour bins
(black, red, green, yellow, blue, magenta, cyan, white); the frame's embedding is its bin histogram,
L2-normalised. Text side: the colour words in the query, mapped to the same bins. A solid red frame
and the query "a red scene" therefore have cosine similarity 1; different colours have 0.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chronolens.encoders.registry import LoadOptions, register_scheme
from chronolens.video.writer import write_video

__all__ = ["COLORS", "ColorHistEncoder", "segment_video"]

# bin index = 4 * (blue > 127) + 2 * (green > 127) + (red > 127)
COLORS: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "red": (220, 30, 30),
    "green": (30, 220, 30),
    "yellow": (220, 220, 30),
    "blue": (30, 30, 220),
    "magenta": (220, 30, 220),
    "cyan": (30, 220, 220),
    "white": (230, 230, 230),
}
_BIN = {name: i for i, name in enumerate(COLORS)}


class ColorHistEncoder:
    """Implements ``chronolens.encoders.Encoder`` with 8-bin colour histograms."""

    def __init__(self, name: str = "test:colorhist", *, weights_sha256: str = "0" * 64, image_size: int = 16):
        self.name = name
        self.dim = len(COLORS)
        self.image_size = image_size
        self.weights_sha256 = weights_sha256
        self.images_seen = 0

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        bits = (frames > 127).astype(np.int64)  # (N, H, W, 3)
        bins = bits[..., 0] + 2 * bits[..., 1] + 4 * bits[..., 2]  # (N, H, W)
        hist = np.stack([np.bincount(b.ravel(), minlength=self.dim) for b in bins]).astype(np.float32)
        self.images_seen += frames.shape[0]
        return hist / np.linalg.norm(hist, axis=1, keepdims=True)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                if word in _BIN:
                    out[i, _BIN[word]] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


@register_scheme("testcolor", usage="testcolor:<any>", description="colour-histogram test encoder")
def _build(ref: str, options: LoadOptions) -> ColorHistEncoder:
    return ColorHistEncoder(f"testcolor:{ref}")


def segment_video(
    path: Path, segments: list[tuple[str, float]], *, fps: int = 10, size: tuple[int, int] = (32, 48)
) -> Path:
    """Write a lossless video of solid colour segments.

    Args:
        path: output file (``.mkv``).
        segments: ``(colour name, seconds)`` in order.
        fps: frame rate.
        size: ``(height, width)``.
    """
    frames = []
    for color, seconds in segments:
        frame = np.empty((*size, 3), np.uint8)
        frame[:] = COLORS[color]
        frames.extend([frame] * round(seconds * fps))
    return write_video(path, frames, fps=fps, codec="ffv1")
