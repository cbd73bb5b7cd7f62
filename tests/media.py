"""Synthesized test media: frames whose colour encodes their index, so decoding can be checked exactly."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["index_color", "solid_frames"]


def solid_frames(
    colors: list[tuple[int, int, int]], size: tuple[int, int] = (48, 64)
) -> Iterator[np.ndarray]:
    """Yield one solid-colour ``(H, W, 3)`` uint8 frame per entry of ``colors``."""
    h, w = size
    for color in colors:
        frame = np.empty((h, w, 3), dtype=np.uint8)
        frame[:] = color
        yield frame


def index_color(i: int) -> tuple[int, int, int]:
    """A colour that encodes the integer ``i`` (0..4095) exactly and survives lossless coding."""
    return ((i * 37) % 256, (i // 7) % 256, (i * 5 + 11) % 256)
