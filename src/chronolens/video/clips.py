"""Cutting moments out of videos into their own mp4 files (PyAV).

A clip of ``[start, end)`` holds the source frames whose timestamp (PTS x time_base, from
:mod:`chronolens.video.decoder`) lies in ``[start - h, end - h)``, ``h`` half a frame at the
source's average rate: the frames a player shows over the span, rounded to the nearest frame, so
a clip lasts ``end - start`` to within a frame. Decoding seeks to the keyframe at or before
``start`` and stops at ``end``; frames are turned upright (display rotation) and encoded with
H.264 (``libx264`` when PyAV's FFmpeg has it, else ``mpeg4``) at the source's frame size and
average rate, without audio. An odd width or height loses its last pixel column or row (4:2:0
chroma needs even sizes). Each file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from chronolens.errors import DecodeError, MissingDependencyError
from chronolens.progress import progress_bar
from chronolens.video.decoder import Clock, Damage, Decoder, open_video, start_pts, stream_rotation
from chronolens.video.transform import frame_to_rgb
from chronolens.video.writer import write_video

__all__ = ["DEFAULT_CLIP_RATE", "Clip", "clip_codec", "clip_name", "write_clip", "write_clips"]

logger = logging.getLogger(__name__)

DEFAULT_CLIP_RATE = Fraction(25)  # frames per second of a clip whose source states no frame rate
_PREFERRED_CODECS = ("libx264", "mpeg4")  # first one PyAV's FFmpeg can encode wins
_CLIP_CRF = 18  # x264 constant rate factor of clips (visually lossless for most footage)


@dataclass(frozen=True, slots=True)
class Clip:
    """One span of a source video to write as its own file."""

    video: str  # source video file
    start: float  # seconds, inclusive
    end: float  # seconds, exclusive
    path: Path  # output .mp4 file


def clip_codec() -> str:
    """The encoder clips use: ``libx264`` when PyAV's FFmpeg build has it, else ``mpeg4``."""
    for name in _PREFERRED_CODECS:
        if name in av.codecs_available:
            return name
    raise MissingDependencyError(
        f"this PyAV build can encode none of {', '.join(_PREFERRED_CODECS)}; "
        "reinstall PyAV from its wheels (pip install --force-reinstall av)"
    )


def _minutes(seconds: float) -> str:
    """``12.5`` -> ``"0m12.5s"``, ``75.04`` -> ``"1m15.0s"`` (rounded to tenths before splitting)."""
    tenths = round(max(seconds, 0.0) * 10)
    minutes, tenths = divmod(tenths, 600)
    return f"{minutes}m{tenths // 10:02d}.{tenths % 10}s"


def clip_name(number: int, video: str | os.PathLike[str], start: float, end: float) -> str:
    """The file name of a clip: ``01-<video stem>-0m12.5s-0m18.5s.mp4``.

    Args:
        number: the clip's 1-based position in the export (zero-padded to two digits).
        video: the source video (its stem is used).
        start: span start in seconds.
        end: span end in seconds.
    """
    return f"{number:02d}-{Path(video).stem}-{_minutes(start)}-{_minutes(end)}.mp4"


def _rate(stream: av.video.stream.VideoStream) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate
    return Fraction(rate) if rate else DEFAULT_CLIP_RATE


def _span_frames(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    rate: Fraction,
    start: float,
    end: float,
) -> Iterator[np.ndarray]:
    """The upright RGB frames ``(H, W, 3)`` uint8 of ``[start, end)`` (H, W cut to even sizes)."""
    half = 0.5 / float(rate)
    lo, hi = start - half, end - half
    origin = start_pts(container, stream)
    time_base = stream.time_base or Fraction(1, 1)
    decoder = Decoder(container, stream, Clock(time_base, origin), Damage())
    if lo > 0 and origin is not None:
        decoder.seek(origin + math.floor(Fraction(lo) / time_base))  # the keyframe at or before lo
    rotation: int | None = None
    for ts, frame in decoder.run():
        if ts < lo:
            continue
        if ts >= hi:
            break
        if rotation is None:
            rotation = stream_rotation(stream, frame)
        image = frame_to_rgb(frame, None, rotation)
        height, width = image.shape[0] // 2 * 2, image.shape[1] // 2 * 2
        yield np.ascontiguousarray(image[:height, :width])


def write_clip(clip: Clip, *, codec: str | None = None) -> Path:
    """Decode ``clip.video`` over ``[clip.start, clip.end)`` and encode it to ``clip.path``.

    Args:
        clip: source, span and output file.
        codec: FFmpeg encoder (default :func:`clip_codec`).

    Returns:
        The file written.

    Raises:
        DecodeError: the source cannot be read, or no frame lies in the span.
        ValueError: the span is empty.
    """
    if not clip.end > clip.start:
        raise ValueError(f"clip span must have end > start, got [{clip.start}, {clip.end})")
    codec = codec or clip_codec()
    file, container, stream = open_video(clip.video)
    with container:
        rate = _rate(stream)
        frames = _span_frames(container, stream, rate, clip.start, clip.end)
        first = next(frames, None)
        if first is None:
            raise DecodeError(file, f"no frame between {clip.start:.3f} s and {clip.end:.3f} s")
        partial = clip.path.with_name(f".{clip.path.name}.partial{clip.path.suffix}")  # write_video's temp
        try:
            out = write_video(
                clip.path, itertools.chain([first], frames), fps=rate, codec=codec, crf=_CLIP_CRF
            )
        except BaseException:
            partial.unlink(missing_ok=True)  # never leave a half-encoded clip behind
            raise
    logger.debug("wrote clip %s (%s [%.3f, %.3f) s)", out, clip.video, clip.start, clip.end)
    return out


def write_clips(clips: Sequence[Clip], *, progress: bool = True, codec: str | None = None) -> list[Path]:
    """Write each clip (see :func:`write_clip`), with a bar on stderr when ``progress``.

    Returns:
        The files written, in the order of ``clips``.
    """
    codec = codec or clip_codec()
    written = []
    with progress_bar(total=len(clips), desc="clips", unit="clip", enabled=progress) as bar:
        for clip in clips:
            written.append(write_clip(clip, codec=codec))
            bar.update(1)
    return written
