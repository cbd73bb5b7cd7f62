"""The PyAV layer under the reader: opening a container, its clock, its decoder, its damage report.

:mod:`chronolens.video.reader` turns these into frames and sampling; here live the parts that talk
to FFmpeg's objects directly: which stream is the video, where its time starts, how a frame's
PTS becomes seconds (with FFmpeg's ``best_effort_timestamp`` fallback to the DTS), and how decode
errors in a partly corrupt file are counted and reported instead of raised.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

from chronolens.errors import DecodeError
from chronolens.video.transform import normalize_rotation

__all__ = [
    "Clock",
    "Damage",
    "Decoder",
    "decode_cause",
    "header_duration",
    "open_container",
    "open_video",
    "start_pts",
    "stream_rotation",
    "video_stream",
]

logger = logging.getLogger("chronolens.video.reader")  # the reader's warnings, as before the split

# FFmpeg's time base for container-level times (AV_TIME_BASE): microseconds.
_AV_TIME_BASE = 1_000_000
# AV_DISPOSITION_ATTACHED_PIC: a cover-art picture stored as a one-frame "video" stream.
_ATTACHED_PIC_FLAG = 0x0400
# How many individual decode errors a warning spells out before summarising the rest.
MAX_ERRORS_REPORTED = 3


def decode_cause(exc: BaseException) -> str:
    """A one-line description of an FFmpeg / OS error without the path PyAV appends."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0]


def open_container(path: Path) -> av.container.InputContainer:
    """Open ``path`` with PyAV; a missing file, a directory or unreadable bytes raise ``DecodeError``."""
    if not path.exists():
        raise DecodeError(path, "file not found")
    if path.is_dir():
        raise DecodeError(path, "is a directory, not a video file")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise DecodeError(path, f"not a readable media file ({decode_cause(exc)})") from exc


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The first real video stream (cover-art pictures attached to audio files do not count)."""
    attached_pic = _ATTACHED_PIC_FLAG
    for stream in container.streams.video:
        if not (int(stream.disposition) & attached_pic):
            return stream
    kinds = sorted({str(s.type) for s in container.streams})
    raise DecodeError(path, f"no video stream (streams found: {', '.join(kinds) or 'none'})")


def start_pts(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int | None:
    """PTS (stream time base) of time 0: the stream's start, else the container's, else unknown."""
    if stream.start_time is not None:
        return int(stream.start_time)
    if container.start_time is not None and stream.time_base:
        return round(Fraction(container.start_time, _AV_TIME_BASE) / stream.time_base)
    return None


def header_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The duration the headers state (stream first, then container; 0.0 when neither does)."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return max(0.0, container.duration / _AV_TIME_BASE)
    return 0.0


def stream_rotation(stream: av.video.stream.VideoStream, first: av.VideoFrame | None) -> int:
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


class Clock:
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
class Damage:
    """What could not be decoded, for one warning at the end."""

    decode_errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    demux_error: str | None = None
    corrupt_frames: int = 0
    no_timestamp: int = 0
    out_of_order: int = 0
    lost_at_end: int = 0  # packets of the final decode run that produced no frame
    ended_early: str | None = None  # the stream ends well before the duration its header states

    def partial(self) -> str | None:
        """One line saying why the video is incomplete (ended early or unreadable tail), or ``None``."""
        if self.ended_early:
            return self.ended_early
        if self.demux_error:
            return f"reading stopped early: {self.demux_error}"
        return None

    def note_error(self, where: str, exc: BaseException) -> None:
        self.decode_errors += 1
        if len(self.error_samples) < MAX_ERRORS_REPORTED:
            self.error_samples.append(f"{where}: {decode_cause(exc)}")

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
        if self.ended_early:
            parts.append(self.ended_early)
        if parts:
            logger.warning("%s is partly corrupt: %s", path, "; ".join(parts))


class Decoder:
    """Demux + decode one video stream with error tolerance, yielding ``(seconds, frame)``."""

    def __init__(
        self,
        container: av.container.InputContainer,
        stream: av.video.stream.VideoStream,
        clock: Clock,
        damage: Damage,
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
                self.damage.demux_error = decode_cause(exc)
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


# FFmpeg demuxers that render *text* as video (a multi-line .txt opens as ANSI art): never a video.
TEXT_FORMATS = frozenset({"tty"})


def open_video(
    path: str | os.PathLike[str],
) -> tuple[Path, av.container.InputContainer, av.video.stream.VideoStream]:
    """Open ``path`` and pick its video stream (threaded decoding); the container is closed on error."""
    file = Path(path)
    container = open_container(file)
    try:
        if container.format.name in TEXT_FORMATS:
            raise DecodeError(
                file, f"a text file (FFmpeg reads it as {container.format.name!r} text art), not a video"
            )
        stream = video_stream(container, file)
        stream.thread_type = "AUTO"
    except BaseException:
        container.close()
        raise
    return file, container, stream
