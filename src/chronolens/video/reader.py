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
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from chronolens.errors import DecodeError
from chronolens.video.sampling import AtTimes, FixedFps, Keyframes, Sampling
from chronolens.video.seek import (
    TIMESTAMP_EPS_S,
    KeyframeIndex,
    TargetSelector,
    sampling_targets,
    scan_keyframes,
)
from chronolens.video.transform import coded_size, display_size, frame_to_rgb, normalize_rotation

__all__ = ["Frames", "Resize", "VideoInfo", "frames_at", "iter_frames", "probe", "read_frames"]

logger = logging.getLogger(__name__)

# Resize on decode: an int is the target shorter side (aspect kept), a (width, height) pair is exact.
Resize = int | tuple[int, int] | None

# FFmpeg's time base for container-level times (AV_TIME_BASE): microseconds.
_AV_TIME_BASE = 1_000_000
# AV_DISPOSITION_ATTACHED_PIC: a cover-art picture stored as a one-frame "video" stream.
_ATTACHED_PIC_FLAG = 0x0400
# The policy used when none is given: one frame per second (frozen, so sharing it is safe).
DEFAULT_SAMPLING = FixedFps()
# How many individual decode errors a warning spells out before summarising the rest.
MAX_ERRORS_REPORTED = 3


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


def _cause(exc: BaseException) -> str:
    """A one-line description of an FFmpeg / OS error without the path PyAV appends."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0]


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise DecodeError(path, "file not found")
    if path.is_dir():
        raise DecodeError(path, "is a directory, not a video file")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(path, f"not a readable media file ({_cause(exc)})") from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first real video stream (cover-art pictures attached to audio files do not count)."""
    attached_pic = _ATTACHED_PIC_FLAG
    for stream in container.streams.video:
        if not (int(stream.disposition) & attached_pic):
            return stream
    kinds = sorted({str(s.type) for s in container.streams})
    raise DecodeError(path, f"no video stream (streams found: {', '.join(kinds) or 'none'})")


def _start_pts(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int | None:
    """PTS (stream time base) of time 0: the stream's start, else the container's, else unknown."""
    if stream.start_time is not None:
        return int(stream.start_time)
    if container.start_time is not None and stream.time_base:
        return round(Fraction(container.start_time, _AV_TIME_BASE) / stream.time_base)
    return None


def _header_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return max(0.0, container.duration / _AV_TIME_BASE)
    return 0.0


def _stream_rotation(stream: av.video.stream.VideoStream, first: av.VideoFrame | None) -> int:
    """Counter-clockwise display rotation: the frame's display matrix, else a legacy ``rotate`` tag."""
    degrees = getattr(first, "rotation", 0) if first is not None else 0  # PyAV >= 14 reads it
    if degrees:
        return normalize_rotation(degrees)
    tag = stream.metadata.get("rotate")
    if tag:
        try:
            # The legacy tag is clockwise; the display matrix (and this module) counter-clockwise.
            return normalize_rotation(-float(tag))
        except ValueError:
            logger.warning("ignoring malformed rotate tag %r", tag)
    return 0


# ----------------------------------------------------------------------------------------------
# Decoding


class _Clock:
    """Frame timestamps in seconds, with FFmpeg's best-effort choice between PTS and DTS."""

    def __init__(self, time_base: Fraction, start_pts: int | None) -> None:
        self.time_base = time_base
        self.start_pts = start_pts
        self._faulty_pts = 0
        self._faulty_dts = 0
        self._last_pts: int | None = None
        self._last_dts: int | None = None

    def reset(self) -> None:
        """Forget the last timestamps (after a seek), keeping the fault counts, as FFmpeg does."""
        self._last_pts = self._last_dts = None

    def packet_seconds(self, pts: int | None) -> float | None:
        """A packet PTS in seconds (for messages), or None when unknown."""
        if pts is None or self.start_pts is None:
            return None
        return float((pts - self.start_pts) * self.time_base)

    def seconds(self, frame: av.VideoFrame) -> float | None:
        """The frame's time in seconds from the start of the video, or None without timestamps."""
        pts, dts = frame.pts, frame.dts
        if dts is not None:
            if self._last_dts is not None and dts <= self._last_dts:
                self._faulty_dts += 1
            self._last_dts = dts
        if pts is not None:
            if self._last_pts is not None and pts <= self._last_pts:
                self._faulty_pts += 1
            self._last_pts = pts
        best = pts if pts is not None and (self._faulty_pts <= self._faulty_dts or dts is None) else dts
        if best is None:
            return None
        if self.start_pts is None:
            self.start_pts = best
        return float((best - self.start_pts) * self.time_base)


@dataclass(slots=True)
class _Damage:
    """What could not be decoded, for one warning at the end."""

    decode_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    demux_error: str | None = None
    corrupt_frames: int = 0
    no_timestamp: int = 0
    out_of_order: int = 0
    lost_at_end: int = 0  # packets of the final decode run that produced no frame

    def note_error(self, where: str, exc: BaseException) -> None:
        self.decode_errors += 1
        if len(self.error_samples) < MAX_ERRORS_REPORTED:
            self.error_samples.append(f"{where}: {_cause(exc)}")

    def report(self, path: Path) -> None:
        parts: list[str] = []
        if self.decode_errors:
            more = self.decode_errors - len(self.error_samples)
            samples = "; ".join(self.error_samples) + (f"; and {more} more" if more > 0 else "")
            parts.append(f"{self.decode_errors} packet(s) failed to decode ({samples})")
        if self.lost_at_end:
            parts.append(f"{self.lost_at_end} packet(s) produced no frame")
        if self.corrupt_frames:
            parts.append(f"{self.corrupt_frames} frame(s) flagged corrupt by the decoder (kept)")
        if self.no_timestamp:
            parts.append(f"{self.no_timestamp} frame(s) without a timestamp skipped")
        if self.out_of_order:
            parts.append(f"{self.out_of_order} frame(s) with non-increasing timestamps skipped")
        if self.demux_error:
            parts.append(f"reading stopped early: {self.demux_error}")
        if parts:
            logger.warning("%s is partly corrupt: %s", path, "; ".join(parts))


class _Decoder:
    """Demux + decode one video stream with error tolerance, yielding ``(seconds, frame)``."""

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        clock: _Clock,
        damage: _Damage,
    ) -> None:
        self.container = container
        self.stream = stream
        self.clock = clock
        self.damage = damage
        self.packets = 0  # non-empty packets sent to the decoder (all runs)
        self.frames = 0  # frames the decoder returned (all runs)
        self.count_lost = True  # False when frames are skipped on purpose (keyframes-only mode)

    def seek(self, pts: int) -> None:
        """Position the demuxer at the keyframe at or before ``pts`` and flush the decoder."""
        self.container.seek(pts, stream=self.stream, backward=True, any_frame=False)
        self.clock.reset()

    def run(self) -> Iterator[tuple[float, av.VideoFrame]]:
        """Decode from the current position to the end of the stream (or until closed)."""
        sent = received = 0
        last_ts: float | None = None
        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError) as exc:
                self.damage.demux_error = _cause(exc)
                # Drain what the decoder still holds before giving up on the rest of the file.
                packet = None
            if packet is not None and packet.size > 0:
                sent += 1
                self.packets += 1
            try:
                decoded = self.stream.decode(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                at = self.clock.packet_seconds(packet.pts if packet is not None else None)
                # With frame threading an error surfaces a few packets late: the time is approximate.
                where = f"near t={at:.3f}s" if at is not None else f"after t={last_ts or 0.0:.3f}s"
                self.damage.note_error(where, exc)
                decoded = []
            for frame in decoded:
                received += 1
                self.frames += 1
                if frame.is_corrupt:
                    self.damage.corrupt_frames += 1
                ts = self.clock.seconds(frame)
                if ts is None:
                    self.damage.no_timestamp += 1
                    continue
                last_ts = ts
                yield ts, frame
            if packet is None:
                break
        # Reached only at the end of the stream: anything still missing was undecodable.
        if self.count_lost:
            self.damage.lost_at_end += max(0, sent - received)


def _prepare(
    path: str | os.PathLike[str],
) -> tuple[Path, av.container.InputContainer, av.video.stream.VideoStream]:
    file = Path(path)
    container = _open(file)
    try:
        stream = _video_stream(container, file)
        stream.thread_type = "AUTO"
    except BaseException:
        container.close()
        raise
    return file, container, stream


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
    file, container, stream = _prepare(path)
    with container:
        first: av.VideoFrame | None = None
        damage = _Damage()
        decoder = _Decoder(container, stream, _Clock(stream.time_base or Fraction(1, 1), None), damage)
        try:
            for _, frame in decoder.run():
                first = frame
                break
        except (av.error.FFmpegError, OSError) as exc:  # defensive: _Decoder already tolerates these
            raise DecodeError(file, f"cannot decode ({_cause(exc)})") from exc
        if first is None:
            cause = (
                "video stream has no frames (empty or truncated file)"
                if decoder.packets == 0
                else f"no frame could be decoded from {decoder.packets} packet(s)"
            )
            raise DecodeError(file, cause)
        rotation = _stream_rotation(stream, first)
        width, height = display_size(first.width, first.height, rotation)
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(
            path=str(file),
            duration=_header_duration(container, stream),
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
            self.rotation = _stream_rotation(self.stream, frame)
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


def _iter_keyframes(decoder: _Decoder, batcher: _Batcher) -> Iterator[Frames]:
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
    decoder: _Decoder, batcher: _Batcher, targets: np.ndarray, index: KeyframeIndex | None
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


def _floor_pts(decoder: _Decoder, seconds: float) -> int:
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
    file, container, stream = _prepare(path)
    with container:
        start = _start_pts(container, stream)
        index: KeyframeIndex | None = None
        if not isinstance(sampling, Keyframes):
            with _open(file) as scan_container:
                scan_stream = next(s for s in scan_container.streams.video if s.index == stream.index)
                index = scan_keyframes(scan_container, scan_stream, start or 0)
            if index.n_packets == 0:
                raise DecodeError(file, "video stream has no frames (empty or truncated file)")
        damage = _Damage()
        decoder = _Decoder(container, stream, _Clock(stream.time_base or Fraction(1, 1), start), damage)
        batcher = _Batcher(size, batch_size, None, stream)
        if isinstance(sampling, Keyframes):
            batches = _iter_keyframes(decoder, batcher)
        else:
            assert index is not None
            duration = index.end if index.end > 0 else _header_duration(container, stream)
            batches = _iter_targets(decoder, batcher, sampling_targets(sampling, duration), index)
        try:
            yield from batches
        except (av.error.FFmpegError, OSError) as exc:  # defensive: never let a raw av error escape
            raise DecodeError(file, f"decoding failed ({_cause(exc)})") from exc
        last = batcher.flush()
        if last is not None:
            yield last
        if batcher.total == 0:
            if decoder.packets == 0:
                raise DecodeError(file, "video stream has no frames (empty or truncated file)")
            raise DecodeError(file, f"no frame could be decoded from {decoder.packets} packet(s)")
        damage.report(file)
        logger.debug("%s: %d frames selected, %d decoded", file, batcher.total, decoder.frames)


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
