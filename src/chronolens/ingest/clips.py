"""Indexing a video as overlapping clips, for a library whose encoder is a ``ClipEncoder``.

A frame encoder gives one row per sampled frame; a clip encoder (X-CLIP, CLIP4Clip heads,
TimeSformer) sees ``T`` consecutive sampled frames at once. Its library stores one row per clip,
cut by ``chronolens.encoders.clip_base.clip_windows`` with the layout the manifest records
(``chronolens.library.manifest.clip_layout``: ``T`` frames, stride half a clip), and timed at the
clip's **centre** (midpoint of its first and last real frame). Everything that reads a library
(retrieval, grounding curves, highlights, classification) then works over clip centres unchanged.

``rows_for(encoder)`` gives ingest a fresh row builder per video: ``FrameRows`` (one row per
sampled frame, the frame encoder's path) or ``ClipRows``. ``ClipRows`` is fed each decoded batch:
every clip whose frames have all arrived is embedded at once, so a long video's frames are never
all held in memory; only the last clip(s), whose padding depends on where the video ends, wait for
``finish``. A video shorter than one clip
gives one padded clip (its mask marks the repeated last frame as padding).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.encoders.clip_base import ClipEncoder, ClipLayout, clip_windows
from chronolens.library.manifest import clip_layout, is_clip_encoder

__all__ = ["CLIPS_PER_CALL", "AnyEncoder", "ClipRows", "FrameRows", "rows_for"]

logger = logging.getLogger(__name__)

CLIPS_PER_CALL = 16  # clips gathered and handed to encode_clips at once (bounds the pixel copy)

AnyEncoder = Encoder | ClipEncoder  # what a library embeds with: frames, or clips


def rows_for(encoder: AnyEncoder) -> Callable[[], FrameRows | ClipRows]:
    """A factory of one video's row builder: clips for a clip encoder, else frames."""
    if is_clip_encoder(encoder):
        return lambda: ClipRows(encoder)  # type: ignore[arg-type]
    return lambda: FrameRows(encoder)  # type: ignore[arg-type]


class FrameRows:
    """One video's rows as a frame encoder makes them: one per sampled frame, embedded per batch."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.embeddings: list[np.ndarray] = []  # (B, D) per batch
        self.timestamps: list[np.ndarray] = []  # (B,) per batch

    def add(self, images: np.ndarray, timestamps: np.ndarray) -> None:
        """Embed the next ``(B, H, W, 3)`` frames; keep them with their ``(B,)`` seconds."""
        self.embeddings.append(self.encoder.encode_images(images))  # (B, D)
        self.timestamps.append(timestamps)

    def finish(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The video's ``(B, D)`` batches and their ``(B,)`` seconds, in time order."""
        return self.embeddings, self.timestamps


class ClipRows:
    """One video's clip rows, built from its sampled frames as they arrive batch by batch.

    Args:
        encoder: the clip encoder (its ``clip_frames`` sets ``T``).
        clips_per_call: clips embedded per ``encode_clips`` call.
    """

    def __init__(self, encoder: ClipEncoder, *, clips_per_call: int = CLIPS_PER_CALL) -> None:
        layout = clip_layout(encoder)
        if layout is None:
            raise TypeError(f"{encoder!r} is not a clip encoder (no encode_clips / clip_frames)")
        if clips_per_call <= 0:
            raise ValueError(f"clips_per_call must be positive, got {clips_per_call}")
        self.encoder = encoder
        self.layout: ClipLayout = layout
        self.clips_per_call = clips_per_call
        self._times: list[np.ndarray] = []  # every batch's (B,) timestamps, for the final windows
        self._frames: np.ndarray | None = None  # (F', H, W, 3) frames from position _offset on
        self._buffer_times = np.zeros(0, np.float64)  # (F',) their timestamps
        self._offset = 0  # video frame position of _frames[0]
        self._count = 0  # frames received
        self._rows: list[np.ndarray] = []  # (n, D) embedded clips, in order
        self._done = 0  # clips embedded so far

    def add(self, images: np.ndarray, timestamps: np.ndarray) -> None:
        """Take the next ``(B, H, W, 3)`` uint8 frames and their ``(B,)`` seconds; embed completed clips."""
        if len(images) != len(timestamps):
            raise ValueError(f"{len(images)} frames but {len(timestamps)} timestamps")
        if len(images) == 0:
            return
        times = np.asarray(timestamps, dtype=np.float64)
        self._times.append(times)
        self._frames = images if self._frames is None else np.concatenate([self._frames, images])
        self._buffer_times = np.concatenate([self._buffer_times, times])
        self._count += len(images)
        clip, stride = self.layout.clip_frames, self.layout.stride_frames
        # Clips starting at 0, stride, 2*stride, ... that end inside the frames received are the
        # same (unpadded) windows clip_windows cuts once the whole video is known.
        ready = (self._count - clip) // stride + 1 if self._count >= clip else 0
        for first in range(self._done, ready, self.clips_per_call):
            starts = np.arange(first, min(first + self.clips_per_call, ready), dtype=np.int64) * stride
            local = starts[:, None] - self._offset + np.arange(clip, dtype=np.int64)[None, :]  # (n, T)
            self._embed(self._frames[local], self._buffer_times[local], np.ones(local.shape, dtype=bool))
        self._done = max(self._done, ready)
        keep_from = self._done * stride  # the next clip's first frame; earlier ones are no longer needed
        if keep_from > self._offset:
            drop = min(keep_from, self._count) - self._offset
            self._frames = self._frames[drop:]
            self._buffer_times = self._buffer_times[drop:]
            self._offset += drop

    def finish(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Embed the remaining (last, padded) clips: ``([(N, D)], [(N,) centre seconds])``.

        Both lists are empty for a video that gave no frame.
        """
        if not self._times:
            return [], []
        windows = clip_windows(
            np.concatenate(self._times), self.layout.clip_frames, self.layout.stride_frames
        )
        if len(windows) < self._done:  # cannot happen: the streamed clips are a prefix of the windows
            raise RuntimeError(f"streamed {self._done} clips but the video has {len(windows)}")
        assert self._frames is not None
        for first in range(self._done, len(windows), self.clips_per_call):
            rows = slice(first, first + self.clips_per_call)
            local = windows.indices[rows] - self._offset  # (n, T) positions in the buffer
            self._embed(self._frames[local], windows.times[rows], windows.mask[rows])
        self._done = len(windows)
        embeddings = np.concatenate(self._rows).astype(np.float32, copy=False)
        logger.debug("%d frames -> %d clips of %d", self._count, len(windows), self.layout.clip_frames)
        return [embeddings], [windows.centres]

    def _embed(self, frames: np.ndarray, times: np.ndarray, mask: np.ndarray) -> None:
        """Embed ``(n, T, H, W, 3)`` clips with their ``(n, T)`` times and mask; keep the rows."""
        self._rows.append(np.asarray(self.encoder.encode_clips(frames, times, mask), dtype=np.float32))
