"""Reading, sampling and writing video frames (PyAV)."""

from chronolens.video.reader import Frames, Resize, VideoInfo, iter_frames, probe, read_frames
from chronolens.video.sampling import FixedFps, Keyframes, Sampling, UniformN, parse_sampling
from chronolens.video.writer import write_video

__all__ = [
    "FixedFps",
    "Frames",
    "Keyframes",
    "Resize",
    "Sampling",
    "UniformN",
    "VideoInfo",
    "iter_frames",
    "parse_sampling",
    "probe",
    "read_frames",
    "write_video",
]
