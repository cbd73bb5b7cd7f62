"""Reading, sampling and writing video frames (PyAV).

The names below load on first use (PEP 562): ``chronolens.video.sampling`` is needed by every
library open, while PyAV (``reader``, ``writer``) costs ~0.2 s to import and a query over stored
embeddings never decodes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chronolens.video.reader import Frames, Resize, VideoInfo, frames_at, iter_frames, probe, read_frames
    from chronolens.video.sampling import AtTimes, FixedFps, Keyframes, Sampling, UniformN, parse_sampling
    from chronolens.video.writer import write_video

_HOMES = {
    "Frames": "reader",
    "Resize": "reader",
    "VideoInfo": "reader",
    "frames_at": "reader",
    "iter_frames": "reader",
    "probe": "reader",
    "read_frames": "reader",
    "AtTimes": "sampling",
    "FixedFps": "sampling",
    "Keyframes": "sampling",
    "Sampling": "sampling",
    "UniformN": "sampling",
    "parse_sampling": "sampling",
    "write_video": "writer",
}

__all__ = [
    "AtTimes",
    "FixedFps",
    "Frames",
    "Keyframes",
    "Resize",
    "Sampling",
    "UniformN",
    "VideoInfo",
    "frames_at",
    "iter_frames",
    "parse_sampling",
    "probe",
    "read_frames",
    "write_video",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'chronolens.video' has no attribute {name!r}")
    return getattr(importlib.import_module(f"chronolens.video.{home}"), name)
