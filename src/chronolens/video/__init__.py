"""Reading, sampling and writing video frames (PyAV)."""

from chronolens.video.reader import Frames, Resize, VideoInfo, frames_at, iter_frames, probe, read_frames
from chronolens.video.sampling import AtTimes, FixedFps, Keyframes, Sampling, UniformN, parse_sampling
from chronolens.video.writer import write_video

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
