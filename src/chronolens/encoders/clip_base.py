"""The contract of clip encoders (several frames in, one embedding out) and cutting videos into clips.

A frame ``Encoder`` (``chronolens.encoders.base``) sees one frame at a time, so a video is a bag
of frames and motion or order is invisible to it. A ``ClipEncoder`` embeds ``T`` consecutive
sampled frames at once (X-CLIP, CLIP4Clip heads, TimeSformer). ``clip_windows`` cuts a video's
sampled frames into overlapping windows of ``T`` frames (stride ``T // 2`` by default); the last
window is padded by repeating the last frame, and its ``mask`` says which frames are real.
``encode_video_clips`` does both and returns one row per clip with the clip's centre time, the
time axis grounding curves use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "ClipEncoder",
    "ClipLayout",
    "ClipWindows",
    "clip_windows",
    "default_stride",
    "encode_video_clips",
    "gather_clips",
]

_DEFAULT_CLIPS_PER_CALL = 16  # clips handed to encode_clips at once by encode_video_clips


@runtime_checkable
class ClipEncoder(Protocol):
    """A video-clip / text dual encoder.

    Both sides return float32 rows L2-normalised to unit length, so a dot product is a cosine
    similarity, as with the frame ``Encoder``.
    """

    name: str  # the registry name it was loaded by, e.g. "xclip:microsoft/xclip-base-patch32"
    dim: int  # embedding width D
    image_size: int  # square input resolution of the frame tower (used to resize on decode)
    clip_frames: int  # frames per clip T the encoder takes

    @property
    def weights_sha256(self) -> str:
        """sha256 over the weights, recorded in library manifests."""
        ...

    def encode_clips(
        self, frames: np.ndarray, times: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Embed clips.

        Args:
            frames: ``(N, T, H, W, 3)`` uint8 RGB, ``T == clip_frames``.
            times: ``(N, T)`` float seconds of each frame (from the decoder's timestamps).
            mask: ``(N, T)`` bool, False for padding frames; None means every frame is real.

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


@dataclass(frozen=True, kw_only=True)
class ClipLayout:
    """How a video was cut into clips: what a library manifest records next to the encoder."""

    clip_frames: int  # sampled frames per clip T
    stride_frames: int  # sampled frames between the starts of consecutive clips

    def __post_init__(self) -> None:
        if self.clip_frames <= 0:
            raise ValueError(f"clip_frames must be positive, got {self.clip_frames}")
        if not 0 < self.stride_frames <= self.clip_frames:
            raise ValueError(
                f"stride_frames must be in 1..clip_frames ({self.clip_frames}), got {self.stride_frames}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for a manifest."""
        return {"clip_frames": self.clip_frames, "stride_frames": self.stride_frames}


def default_stride(clip_frames: int) -> int:
    """Half a clip, at least one frame."""
    return max(1, clip_frames // 2)


@dataclass(frozen=True, kw_only=True)
class ClipWindows:
    """Overlapping windows over a video's sampled frames, by index (no pixels are copied).

    Row ``i`` is clip ``i``: ``indices[i]`` are positions in the video's frame array (padding
    repeats the last real frame), ``mask[i]`` marks real frames, ``times[i]`` the frames'
    timestamps (padding repeats the last real time).
    """

    layout: ClipLayout  # clip length and stride
    indices: np.ndarray  # (N, T) int64 frame positions
    mask: np.ndarray  # (N, T) bool, False for padding
    times: np.ndarray  # (N, T) float64 seconds
    starts: np.ndarray  # (N,) float64 seconds: time of each clip's first frame
    ends: np.ndarray  # (N,) float64 seconds: time of each clip's last real frame
    centres: np.ndarray  # (N,) float64 seconds: midpoint of starts and ends

    def __len__(self) -> int:
        return len(self.indices)


def clip_windows(times: np.ndarray, clip_frames: int, stride: int | None = None) -> ClipWindows:
    """Cut sampled frames into windows of ``clip_frames`` frames, ``stride`` apart.

    Windows start at frames ``0, stride, 2 * stride, ...`` until one reaches the last frame; that
    one (or the only one, for a video shorter than a clip) is padded with the last frame.

    Args:
        times: ``(F,)`` seconds of the sampled frames, increasing.
        clip_frames: frames per clip ``T``.
        stride: frames between clip starts; default ``T // 2`` (at least 1).

    Returns:
        The windows; none for a video without frames.
    """
    layout = ClipLayout(
        clip_frames=clip_frames, stride_frames=default_stride(clip_frames) if stride is None else stride
    )
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1:
        raise ValueError(f"times must be (F,), got shape {times.shape}")
    count = len(times)
    if count == 0:
        empty = np.zeros((0, clip_frames))
        return ClipWindows(
            layout=layout,
            indices=empty.astype(np.int64),
            mask=empty.astype(bool),
            times=empty,
            starts=np.zeros(0),
            ends=np.zeros(0),
            centres=np.zeros(0),
        )
    last_start = max(count - clip_frames, 0)
    starts = list(range(0, last_start + 1, layout.stride_frames))
    if starts[-1] + clip_frames < count:  # the stride skipped past the tail: one more clip ends there
        starts.append(starts[-1] + layout.stride_frames)
    raw = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(clip_frames, dtype=np.int64)[None, :]
    mask = raw < count
    indices = np.minimum(raw, count - 1)
    clip_times = times[indices]
    starts_s = clip_times[:, 0]
    ends_s = times[indices[:, -1]]
    return ClipWindows(
        layout=layout,
        indices=indices,
        mask=mask,
        times=clip_times,
        starts=starts_s,
        ends=ends_s,
        centres=(starts_s + ends_s) / 2,
    )


def gather_clips(frames: np.ndarray, windows: ClipWindows, rows: slice | None = None) -> np.ndarray:
    """The pixels of some windows: ``(n, T, H, W, 3)`` from the video's ``(F, H, W, 3)`` frames."""
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (F, H, W, 3), got {frames.shape}")
    indices = windows.indices if rows is None else windows.indices[rows]
    return frames[indices]


def encode_video_clips(
    encoder: ClipEncoder,
    frames: np.ndarray,
    times: np.ndarray,
    *,
    stride: int | None = None,
    clips_per_call: int = _DEFAULT_CLIPS_PER_CALL,
) -> tuple[np.ndarray, ClipWindows]:
    """Embed a video as overlapping clips.

    Args:
        encoder: the clip encoder; its ``clip_frames`` sets the window length.
        frames: ``(F, H, W, 3)`` uint8 sampled frames.
        times: ``(F,)`` their timestamps in seconds.
        stride: frames between clip starts (default half a clip).
        clips_per_call: clips gathered and encoded at once (bounds the memory of the copy).

    Returns:
        ``(N, D)`` float32 unit rows and the windows (``windows.centres`` is their time axis).
    """
    if len(frames) != len(times):
        raise ValueError(f"{len(frames)} frames but {len(times)} timestamps")
    if clips_per_call <= 0:
        raise ValueError(f"clips_per_call must be positive, got {clips_per_call}")
    windows = clip_windows(times, encoder.clip_frames, stride)
    out = np.empty((len(windows), encoder.dim), dtype=np.float32)
    for start in range(0, len(windows), clips_per_call):
        rows = slice(start, start + clips_per_call)
        out[rows] = encoder.encode_clips(
            gather_clips(frames, windows, rows), windows.times[rows], windows.mask[rows]
        )
    return out, windows
