"""Encoding frames to a video file with PyAV (used by the synthetic benchmark and the tests)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["write_video"]

logger = logging.getLogger(__name__)


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float | Fraction = 25,
    codec: str = "libx264",
    gop: int | None = None,
    crf: int | None = 18,
    pix_fmt: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames to ``path`` atomically (temp file, then rename).

    Args:
        path: output file; the container is chosen from the suffix (``.mp4``, ``.mkv``, ``.avi``).
        frames: iterable of ``(H, W, 3)`` uint8 RGB arrays, all the same size (H, W even for yuv420p).
        fps: constant frame rate; frame ``i`` gets PTS ``i`` in time base ``1/fps``.
        codec: FFmpeg encoder name, e.g. ``"libx264"``, ``"ffv1"`` (lossless), ``"mpeg4"``.
        gop: keyframe interval in frames (``None``: the encoder's default).
        crf: x264 constant rate factor (ignored by other codecs); 0 is lossless.
        pix_fmt: pixel format; default ``yuv420p`` (``bgr0`` for ffv1 so tests get exact RGB back).
        options: extra encoder options.

    Returns:
        The path written.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial{out.suffix}")
    rate = Fraction(fps).limit_denominator(1001) if not isinstance(fps, Fraction) else fps
    if pix_fmt is None:
        pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
    opts: dict[str, str] = dict(options or {})
    if codec == "libx264" and crf is not None:
        opts.setdefault("crf", str(crf))
    n = 0
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        if not isinstance(stream, av.video.stream.VideoStream):
            raise ValueError(f"write_video: {codec!r} is not a video encoder")
        stream.pix_fmt = pix_fmt
        if gop is not None:
            stream.gop_size = gop
            if codec == "libx264":
                # Fixed GOPs: no scene-cut keyframes, so the keyframe index is predictable.
                fixed = f"keyint={gop}:min-keyint={gop}:scenecut=0"
                opts["x264-params"] = ":".join(p for p in (opts.get("x264-params"), fixed) if p)
        stream.options = dict(opts)
        stream.codec_context.time_base = Fraction(1, 1) / rate
        for image in frames:
            if n == 0:
                stream.height, stream.width = int(image.shape[0]), int(image.shape[1])
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = n
            frame.time_base = stream.codec_context.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            n += 1
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, out)
    logger.debug("wrote %s (%d frames at %s fps, %s)", out, n, rate, codec)
    return out
