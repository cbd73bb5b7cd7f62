"""Every frame of a video, small, with its exact timestamp: what frame-level shot detectors read.

The reader's sampling policies select frames at instants (``FixedFps``, ``UniformN``) or decode
keyframes only; a shot detector needs each decoded frame once, in presentation order, so this
runs the same PyAV decoder (``chronolens.video.decoder``: best-effort PTS, damage tolerated and
reported) without any selection. Frames are resized by swscale on decode; timestamps are
``(pts - start) x time_base`` seconds, strictly increasing (a frame whose timestamp does not
increase is skipped and counted, as the reader does).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np

from chronolens.errors import DecodeError
from chronolens.video.decoder import (
    Clock,
    Damage,
    Decoder,
    decode_cause,
    open_video,
    start_pts,
    stream_rotation,
)
from chronolens.video.reader import Frames
from chronolens.video.seek import TIMESTAMP_EPS_S
from chronolens.video.transform import frame_to_rgb

__all__ = ["DETECTOR_FRAME_SIZE", "iter_every_frame"]

logger = logging.getLogger(__name__)

# (width, height) every frame is scaled to for detection: TransNetV2's input size (the paper's
# 48x27, aspect not kept, as its reference ffmpeg pipe does); the histogram detector reads the same.
DETECTOR_FRAME_SIZE = (48, 27)


def iter_every_frame(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = DETECTOR_FRAME_SIZE,
    batch_size: int = 256,
) -> Iterator[Frames]:
    """Decode every frame of ``path`` in presentation order, resized to ``size``.

    Args:
        path: a video file.
        size: ``(width, height)`` of the returned images.
        batch_size: frames per yielded batch (the last may be smaller).

    Yields:
        ``Frames``: images ``(N, H, W, 3)`` uint8 RGB upright, timestamps ``(N,)`` float64 seconds,
        strictly increasing across batches.

    Raises:
        DecodeError: missing/unreadable file, no video stream, or no frame could be decoded.
    """
    file, container, stream = open_video(path)
    with container:
        damage = Damage()
        clock = Clock(stream.time_base or Fraction(1, 1), start_pts(container, stream))
        decoder = Decoder(container, stream, clock, damage)
        rotation: int | None = None
        images: list[np.ndarray] = []
        times: list[float] = []
        last = -float("inf")
        total = 0
        try:
            for ts, frame in decoder.run():
                if ts <= last + TIMESTAMP_EPS_S:
                    damage.out_of_order += 1
                    continue
                last = ts
                if rotation is None:
                    rotation = stream_rotation(stream, frame)
                images.append(frame_to_rgb(frame, size, rotation))
                times.append(ts)
                if len(images) >= batch_size:
                    total += len(images)
                    yield Frames(images=np.stack(images), timestamps=np.asarray(times, dtype=np.float64))
                    images, times = [], []
        except (av.error.FFmpegError, OSError) as exc:  # defensive: never let a raw av error escape
            raise DecodeError(file, f"decoding failed ({decode_cause(exc)})") from exc
        if images:
            total += len(images)
            yield Frames(images=np.stack(images), timestamps=np.asarray(times, dtype=np.float64))
        if total == 0:
            if decoder.packets == 0:
                raise DecodeError(file, "video stream has no frames (empty or truncated file)")
            raise DecodeError(file, f"no frame could be decoded from {decoder.packets} packet(s)")
        damage.report(file)
        logger.debug("%s: %d frames decoded for shot detection", file, total)
