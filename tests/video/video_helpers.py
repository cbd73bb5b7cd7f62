"""Shared helpers for the video tests: decoding colour-coded frames back to indices, naive references."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tests.media import index_color

# Largest frame index the colour code is decoded for in these tests.
MAX_INDEX = 4096
_CODE = np.array([index_color(i) for i in range(MAX_INDEX)], dtype=np.int64)  # (MAX_INDEX, 3)


def frame_indices(images: np.ndarray, tolerance: int = 0) -> list[int]:
    """Recover the frame index each solid-colour image encodes (see ``index_color``).

    Args:
        images: ``(N, H, W, 3)`` uint8.
        tolerance: largest per-channel distance accepted (0 for lossless codecs).
    """
    centre = images[:, images.shape[1] // 2, images.shape[2] // 2, :].astype(np.int64)  # (N, 3)
    dist = np.abs(centre[:, None, :] - _CODE[None, :, :]).max(axis=2)  # (N, MAX_INDEX)
    best = dist.argmin(axis=1)
    assert (dist[np.arange(len(best)), best] <= tolerance).all(), "image does not encode a frame index"
    return [int(i) for i in best]


def naive_timestamps(path: Path) -> list[float]:
    """Every frame's time from a plain sequential PyAV decode (PTS - stream start) x time_base."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        tb = stream.time_base
        return [float((f.pts - start) * tb) for f in container.decode(stream)]


def naive_select(times: list[float], targets: list[float], eps: float = 1e-6) -> list[int]:
    """Index of the last frame with time <= t for each target (first frame if none), deduplicated."""
    picked: list[int] = []
    for t in targets:
        candidates = [i for i, ts in enumerate(times) if ts <= t + eps]
        i = candidates[-1] if candidates else 0
        if not picked or picked[-1] != i:
            picked.append(i)
    return picked


def fixed_fps_targets(duration: float, fps: float) -> list[float]:
    """``k / fps`` for every ``k`` with ``k / fps < duration``, computed by brute force."""
    out: list[float] = []
    k = 0
    while Fraction(k) / Fraction(fps) < Fraction(duration) - Fraction(1, 10**9):
        out.append(k / fps)
        k += 1
    return out
