"""Decoding video files with PyAV into RGB frames with exact timestamps.

INTERFACE STUB: the video helper replaces the bodies; signatures are the agreed contract.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from chronolens.video.sampling import FixedFps, Sampling

__all__ = ["Frames", "Resize", "VideoInfo", "iter_frames", "probe", "read_frames"]

# Resize on decode: an int is the target shorter side (aspect kept), a (width, height) pair is exact.
Resize = int | tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about a video, corrected where decoding showed otherwise."""

    path: str  # the file probed
    duration: float  # seconds
    fps: float  # average frame rate (frames / second); informational only, never used for timestamps
    codec: str  # FFmpeg codec name, e.g. "h264"
    width: int  # display width in pixels (after rotation)
    height: int  # display height in pixels (after rotation)
    rotation: int  # degrees of display rotation applied, one of 0, 90, 180, 270
    n_frames_header: int  # frame count the header claims (0 when unknown; may be wrong)


@dataclass(frozen=True, slots=True)
class Frames:
    """A batch of decoded frames."""

    images: np.ndarray  # (N, H, W, 3) uint8 RGB
    timestamps: np.ndarray  # (N,) float64 seconds from the start of the video, from PTS x time_base

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's metadata without decoding it all. Raises ``DecodeError``."""
    raise NotImplementedError


def iter_frames(
    path: str | os.PathLike[str],
    sampling: Sampling = FixedFps(),
    *,
    size: Resize = None,
    batch_size: int = 32,
) -> Iterator[Frames]:
    """Decode the frames ``sampling`` selects, in time order, in batches of ``batch_size``."""
    raise NotImplementedError


def read_frames(
    path: str | os.PathLike[str],
    fps: float = 1.0,
    *,
    sampling: Sampling | None = None,
    size: Resize = None,
) -> Frames:
    """Decode all frames ``sampling`` (default: ``FixedFps(fps)``) selects into one ``Frames``."""
    raise NotImplementedError
