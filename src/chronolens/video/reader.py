"""Decoding video files with PyAV into RGB frames with exact timestamps.

Timestamps are ``(pts - start) x time_base`` in seconds, where ``start`` is the video stream's
``start_time`` (else the container's, else the first frame's PTS): the first frame of a stream
whose PTS starts at 1.4 s is reported at 0.0. Where a file's PTS are out of order (B-frames muxed
without composition offsets, e.g. opencv-doc ``box.mp4``) the DTS is used instead, FFmpeg's
``best_effort_timestamp`` rule. Times never come from frame index / nominal fps.

Sampling (see ``chronolens.video.seek`` for the exact rule): ``FixedFps`` and ``UniformN`` return
the frame displayed at each target instant, each frame at most once; ``Keyframes`` decodes only
keyframes (``skip_frame="NONKEY"``). Fixed-fps and uniform sampling skip whole GOPs by seeking to
a keyframe when one lies between the current frame and the next target; the result is the same
frames a full sequential decode would select.

Every failure surfaces as ``DecodeError(path, cause)``; a partly corrupt file yields the frames
that decode and logs a warning saying what was skipped.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from chronolens.errors import DecodeError
from chronolens.video.decoder import (
    Clock,
    Damage,
    Decoder,
    decode_cause,
    header_duration,
    open_container,
    open_video,
    start_pts,
    stream_rotation,
)
from chronolens.video.sampling import AtTimes, FixedFps, Keyframes, Sampling
from chronolens.video.seek import (
    TIMESTAMP_EPS_S,
    KeyframeIndex,
    TargetSelector,
    sampling_targets,
    scan_keyframes,
)
from chronolens.video.transform import coded_size, display_size, frame_to_rgb

__all__ = ["Frames", "Resize", "VideoInfo", "frames_at", "iter_frames", "probe", "read_frames"]

logger = logging.getLogger(__name__)

# Resize on decode: an int is the target shorter side (aspect kept), a (width, height) pair is exact.
Resize = int | tuple[int, int] | None

# The policy used when none is given: one frame per second (frozen, so sharing it is safe).
DEFAULT_SAMPLING = FixedFps()

# A stream is reported as ending early (truncated) when its packets stop more than this before the
# duration its header states: at least PARTIAL_MIN_GAP_S seconds and PARTIAL_MIN_GAP_FRACTION of it
# (headers round, and a container's duration can include a slightly longer audio track).
PARTIAL_MIN_GAP_S = 1.0
PARTIAL_MIN_GAP_FRACTION = 0.05


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What the container says about a video, corrected where decoding showed otherwise."""

    path: str  # the file probed
    duration: float  # seconds
    fps: float  # average frame rate (frames / second); informational only, never used for timestamps
    codec: str  # FFmpeg codec name, e.g. "h264"
    width: int  # display width in pixels (after rotation)
    height: int  # display height in pixels (after rotation)
    rotation: int  # degrees of display rotation applied (counter-clockwise), one of 0, 90, 180, 270
    n_frames_header: int  # frame count the header claims (0 when unknown; may be wrong)


@dataclass(frozen=True, slots=True)
class Frames:
    """A batch of decoded frames."""

    images: np.ndarray  # (N, H, W, 3) uint8 RGB
    timestamps: np.ndarray  # (N,) float64 seconds from the start of the video, from PTS x time_base

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])


# ----------------------------------------------------------------------------------------------
# Opening


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's metadata without decoding it all (one frame is decoded for rotation/size).

    Args:
        path: a video file.

    Returns:
        Duration (header; see ``iter_frames`` for the exact one), average fps, codec, display size
        and rotation, header frame count.

    Raises:
        DecodeError: missing file, directory, not a media file, no video stream, no decodable frame.
    """
    file, container, stream = open_video(path)
    with container:
        first: av.VideoFrame | None = None
        damage = Damage()
        decoder = Decoder(container, stream, Clock(stream.time_base or Fraction(1, 1), None), damage)
        try:
            for _, frame in decoder.run():
                first = frame
                break
        except (av.error.FFmpegError, OSError) as exc:  # defensive: Decoder already tolerates these
            raise DecodeError(file, f"cannot decode ({decode_cause(exc)})") from exc
        if first is None:
            cause = (
                "video stream has no frames (empty or truncated file)"
                if decoder.packets == 0
                else f"no frame could be decoded from {decoder.packets} packet(s)"
            )
            raise DecodeError(file, cause)
        rotation = stream_rotation(stream, first)
        width, height = display_size(first.width, first.height, rotation)
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            path=str(file),
            duration=header_duration(container, stream),
            fps=float(rate) if rate else 0.0,
            codec=stream.codec_context.name,
            width=width,
            height=height,
            rotation=rotation,
            n_frames_header=int(stream.frames or 0),
        )


class _Batcher:
    """Converts selected frames to RGB and groups them into ``Frames`` of ``batch_size``."""

    def __init__(
        self, size: Resize, batch_size: int, rotation: int | None, stream: av.video.stream.VideoStream
    ) -> None:
        self.size = size
        self.batch_size = batch_size
        self.rotation = rotation
        self.stream = stream
        self.images: list[np.ndarray] = []
        self.times: list[float] = []
        self.total = 0

    def add(self, ts: float, frame: av.VideoFrame) -> Frames | None:
        if self.rotation is None:
            self.rotation = stream_rotation(self.stream, frame)
        self.images.append(frame_to_rgb(frame, self.size, self.rotation))
        self.times.append(ts)
        self.total += 1
        return self.flush() if len(self.images) >= self.batch_size else None

    def flush(self) -> Frames | None:
        if not self.images:
            return None
        out = Frames(images=np.stack(self.images), timestamps=np.asarray(self.times, dtype=np.float64))
        self.images, self.times = [], []
        return out


def _iter_keyframes(decoder: Decoder, batcher: _Batcher) -> Iterator[Frames]:
    decoder.stream.codec_context.skip_frame = "NONKEY"
    decoder.count_lost = False
    last = -math.inf
    for ts, frame in decoder.run():
        if ts <= last + TIMESTAMP_EPS_S:
            decoder.damage.out_of_order += 1
            continue
        last = ts
        batch = batcher.add(ts, frame)
        if batch is not None:
            yield batch


def _iter_targets(
    decoder: Decoder, batcher: _Batcher, targets: np.ndarray, index: KeyframeIndex | None
) -> Iterator[Frames]:
    """Select the frame displayed at each target, seeking over GOPs that hold no selected frame."""
    selector: TargetSelector[tuple[float, av.VideoFrame]] = TargetSelector(targets)
    keys = index.keyframe_times if index is not None and index.complete else []
    can_seek = len(keys) > 1
    floor = -math.inf  # frames at or before this time were already handled; skip them after a seek
    expect: float | None = None  # keyframe time the last seek should land on
    finished = False
    while not finished:
        restart = False
        for ts, frame in decoder.run():
            if ts <= floor + TIMESTAMP_EPS_S:
                continue
            if expect is not None:
                if ts > expect + TIMESTAMP_EPS_S:
                    # The seek landed past the keyframe (bad index or undecodable keyframe): go back
                    # to plain decoding from where we were so the selection stays exact.
                    logger.debug("seek to %.3fs landed at %.3fs; decoding sequentially", expect, ts)
                    can_seek = False
                    floor = floor - 2 * TIMESTAMP_EPS_S
                    decoder.seek(_floor_pts(decoder, floor))
                    expect = None
                    restart = True
                    break
                expect = None
            if ts <= selector.held_ts + TIMESTAMP_EPS_S:
                decoder.damage.out_of_order += 1
                continue
            picked = selector.push(ts, (ts, frame))
            if picked is not None and (batch := batcher.add(*picked)) is not None:
                yield batch
            if selector.done:
                finished = True
                break
            key = selector.seek_target(keys) if can_seek else None
            if key is not None and index is not None:
                floor = ts
                selector.release()  # not selected: the keyframe is displayed before the next target
                expect = keys[key]
                decoder.seek(index.keyframe_pts[key])
                restart = True
                break
        if not restart:
            finished = True
    picked = selector.finish()
    if picked is not None and (batch := batcher.add(*picked)) is not None:
        yield batch


def _floor_pts(decoder: Decoder, seconds: float) -> int:
    start = decoder.clock.start_pts or 0
    if not math.isfinite(seconds):
        return start
    return start + math.floor(Fraction(seconds) / decoder.clock.time_base)


def iter_frames(
    path: str | os.PathLike[str],
    sampling: Sampling = DEFAULT_SAMPLING,
    *,
    size: Resize = None,
    batch_size: int = 32,
    damage: Damage | None = None,
) -> Iterator[Frames]:
    """Decode the frames ``sampling`` selects, in time order, in batches of ``batch_size``.

    Args:
        path: a video file.
        sampling: ``FixedFps`` (frame displayed at each ``k / fps`` before the end), ``UniformN``
            (frame displayed at the centre of each of ``n`` equal bins), or ``Keyframes``. A frame
            selected by several instants is returned once.
        size: ``None`` (native), an int (shorter displayed side, aspect kept) or exact
            ``(width, height)``; applied with swscale on decode, after which rotation is applied.
        batch_size: frames per yielded batch (the last may be smaller).
        damage: filled with what could not be decoded, for callers that record it (``partial()``
            says whether the video is incomplete; with ``Keyframes`` sampling an early end is not
            detected). A warning is logged either way.

    Yields:
        ``Frames`` with images ``(N, H, W, 3)`` uint8 RGB upright and timestamps ``(N,)`` float64
        seconds, strictly increasing across batches.

    Raises:
        DecodeError: missing/unreadable file, no video stream, or no frame could be decoded.
        ValueError: bad ``size`` or ``batch_size``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    coded_size(2, 2, 0, size)  # validates size before any I/O
    file, container, stream = open_video(path)
    with container:
        start = start_pts(container, stream)
        index: KeyframeIndex | None = None
        if not isinstance(sampling, Keyframes):
            with open_container(file) as scan_container:
                scan_stream = next(s for s in scan_container.streams.video if s.index == stream.index)
                index = scan_keyframes(scan_container, scan_stream, start or 0)
            if index.n_packets == 0:
                raise DecodeError(file, "video stream has no frames (empty or truncated file)")
        damage = damage if damage is not None else Damage()
        decoder = Decoder(container, stream, Clock(stream.time_base or Fraction(1, 1), start), damage)
        batcher = _Batcher(size, batch_size, None, stream)
        if isinstance(sampling, Keyframes):
            batches = _iter_keyframes(decoder, batcher)
        else:
            assert index is not None
            duration = index.end if index.end > 0 else header_duration(container, stream)
            batches = _iter_targets(decoder, batcher, sampling_targets(sampling, duration), index)
        try:
            yield from batches
        except (av.error.FFmpegError, OSError) as exc:  # defensive: never let a raw av error escape
            raise DecodeError(file, f"decoding failed ({decode_cause(exc)})") from exc
        last = batcher.flush()
        if last is not None:
            yield last
        if batcher.total == 0:
            if decoder.packets == 0:
                raise DecodeError(file, "video stream has no frames (empty or truncated file)")
            raise DecodeError(file, f"no frame could be decoded from {decoder.packets} packet(s)")
        if index is not None and index.end > 0:
            damage.ended_early = _ended_early(index.end, header_duration(container, stream))
        damage.report(file)
        logger.debug("%s: %d frames selected, %d decoded", file, batcher.total, decoder.frames)


def _ended_early(end: float, stated: float) -> str | None:
    """Why a stream whose packets end at ``end`` seconds is short of the ``stated`` duration, if it is."""
    if stated - end > max(PARTIAL_MIN_GAP_S, PARTIAL_MIN_GAP_FRACTION * stated):
        return f"decoding ended early, at {end:.1f} s of the {stated:.1f} s the container states"
    return None


def read_frames(
    path: str | os.PathLike[str],
    fps: float = 1.0,
    *,
    sampling: Sampling | None = None,
    size: Resize = None,
) -> Frames:
    """Decode all frames ``sampling`` (default: ``FixedFps(fps)``) selects into one ``Frames``.

    Args:
        path: a video file.
        fps: samples per second when ``sampling`` is None.
        sampling: any policy; overrides ``fps``.
        size: resize on decode, see ``iter_frames``.

    Returns:
        All selected frames: images ``(N, H, W, 3)`` uint8, timestamps ``(N,)`` float64 seconds.

    Raises:
        DecodeError: see ``iter_frames``.
    """
    policy = sampling if sampling is not None else FixedFps(fps=fps)
    batches = list(iter_frames(path, policy, size=size, batch_size=256))
    if len(batches) == 1:
        return batches[0]
    return Frames(
        images=np.concatenate([b.images for b in batches]),
        timestamps=np.concatenate([b.timestamps for b in batches]),
    )


def frames_at(path: str | os.PathLike[str], times: Sequence[float], *, size: Resize = None) -> Frames:
    """The frames displayed at the given instants (each frame once), e.g. for thumbnails.

    Args:
        path: a video file.
        times: seconds from the start of the video; instants past the end give the last frame.
        size: resize on decode, see ``iter_frames``.

    Returns:
        The selected frames in time order; fewer than ``len(times)`` when instants share a frame.

    Raises:
        DecodeError: see ``iter_frames``.
    """
    return read_frames(path, sampling=AtTimes(times=tuple(float(t) for t in times)), size=size)
