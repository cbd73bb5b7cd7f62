"""Which decoded frame each sampling instant selects, and the keyframe index used to skip GOPs.

Selection rule (shared by ``FixedFps`` and ``UniformN``): for a target instant ``t`` the selected
frame is the one being displayed at ``t``, i.e. the last frame whose timestamp is ``<= t`` (plus
``TIMESTAMP_EPS_S`` for float rounding). Targets before the first frame select the first frame.
Each frame is returned at most once: when several targets fall on the same frame (sampling faster
than the video's frame rate) the frame is returned once, so timestamps are strictly increasing.

GOP skipping: a scan of the packets (demux only, no decoding) lists the keyframes. While decoding,
when a keyframe lies after the current frame and at or before the next target, every frame before
that keyframe is provably unselected, so the reader seeks straight to it.
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Generic, TypeVar

import av
import numpy as np

from chronolens.video.sampling import AtTimes, FixedFps, Sampling, UniformN

__all__ = [
    "TIMESTAMP_EPS_S",
    "KeyframeIndex",
    "TargetSelector",
    "sampling_targets",
    "scan_keyframes",
]

logger = logging.getLogger(__name__)

# Tolerance when comparing a frame timestamp with a target instant, in seconds; absorbs float
# rounding of PTS x time_base and k / fps, far below any real frame interval.
TIMESTAMP_EPS_S = 1e-6

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeyframeIndex:
    """What a demux-only pass over a video stream found."""

    keyframe_pts: list[int]  # PTS (stream time base) of keyframe packets, increasing
    keyframe_times: list[float]  # the same keyframes in seconds from the start of the video
    n_packets: int  # non-empty packets in the stream
    end: float  # seconds: end of the last packet (max PTS + duration), from the start of the video
    complete: bool  # False if demuxing stopped early on an error (truncated / corrupt container)


def scan_keyframes(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, start_pts: int
) -> KeyframeIndex:
    """Demux (without decoding) every packet of ``stream`` to index its keyframes and its end time.

    Args:
        container: an input container positioned at the start; it is consumed by the scan.
        stream: the video stream to index.
        start_pts: PTS (stream time base) that maps to time 0.

    Returns:
        The keyframe index. Packets without any timestamp are counted but not indexed.
    """
    time_base = stream.time_base or Fraction(1, 1)
    keys: list[int] = []
    n_packets = 0
    last_end: int | None = None
    complete = True
    demux = container.demux(stream)
    while True:
        try:
            packet = next(demux)
        except StopIteration:
            break
        except av.error.FFmpegError as exc:
            logger.warning("stopped indexing %s after %d packets: %s", container.name, n_packets, exc)
            complete = False
            break
        if packet.size == 0:
            continue
        n_packets += 1
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:
            continue
        end = pts + max(int(packet.duration or 0), 0)
        last_end = end if last_end is None else max(last_end, end)
        if packet.is_keyframe and (not keys or pts > keys[-1]):
            keys.append(pts)
    times = [float((pts - start_pts) * time_base) for pts in keys]
    end_s = float((last_end - start_pts) * time_base) if last_end is not None else 0.0
    return KeyframeIndex(
        keyframe_pts=keys, keyframe_times=times, n_packets=n_packets, end=max(end_s, 0.0), complete=complete
    )


def sampling_targets(sampling: Sampling, duration: float) -> np.ndarray:
    """The instants (seconds) a fixed-fps, uniform or at-times policy samples over ``[0, duration)``.

    Args:
        sampling: ``FixedFps`` (``k / fps`` for every ``k`` with ``k / fps < duration``) or ``UniformN``
            (the centre of each of ``n`` equal bins of ``[0, duration)``).
        duration: video length in seconds; ``<= 0`` (unknown) gives the single instant 0.

    Returns:
        ``(K,)`` float64 increasing instants, ``K >= 1``.
    """
    if isinstance(sampling, FixedFps):
        count = max(1, math.ceil((duration - TIMESTAMP_EPS_S) * sampling.fps)) if duration > 0 else 1
        return np.arange(count, dtype=np.float64) / sampling.fps
    if isinstance(sampling, UniformN):
        if duration <= 0:
            return np.zeros(1, dtype=np.float64)
        return (np.arange(sampling.n, dtype=np.float64) + 0.5) * (duration / sampling.n)
    if isinstance(sampling, AtTimes):
        return np.unique(np.asarray(sampling.times, dtype=np.float64))  # sorted, each instant once
    raise TypeError(f"sampling_targets needs FixedFps, UniformN or AtTimes, got {sampling!r}")


class TargetSelector(Generic[T]):
    """Streams decoded frames (in increasing time) against sorted targets; returns the selected ones.

    A frame's fate is known only once the next frame's timestamp is: the selector holds the latest
    frame and ``push`` returns the previously held one if some target selected it.
    """

    def __init__(self, targets: np.ndarray, eps: float = TIMESTAMP_EPS_S) -> None:
        """Args:
        targets: ``(K,)`` increasing instants in seconds.
        eps: timestamp comparison tolerance in seconds.
        """
        self._targets = [float(t) for t in targets]
        self._eps = eps
        self._k = 0  # index of the first unresolved target
        self._held: T | None = None
        self._held_ts = -math.inf
        self._held_selected = False

    @property
    def next_target(self) -> float | None:
        """The earliest target not yet resolved, or None when all are."""
        return self._targets[self._k] if self._k < len(self._targets) else None

    @property
    def done(self) -> bool:
        """True when every target is resolved and nothing selected is held back."""
        return self._k >= len(self._targets) and not self._held_selected

    @property
    def held_ts(self) -> float:
        """Timestamp of the held frame (``-inf`` when none)."""
        return self._held_ts

    def _advance_past(self, ts: float) -> bool:
        """Resolve every target before ``ts``; True if there was at least one."""
        moved = False
        while self._k < len(self._targets) and self._targets[self._k] + self._eps < ts:
            self._k += 1
            moved = True
        return moved

    def push(self, ts: float, item: T) -> T | None:
        """Offer the next decoded frame (``ts`` strictly after the held one's).

        Returns:
            The previously held frame if a target selected it, else None.
        """
        out: T | None = None
        if self._held is None:
            # Targets before the very first frame select it (nothing else is displayed then).
            selected = self._advance_past(ts)
        else:
            if self._advance_past(ts):
                self._held_selected = True
            if self._held_selected:
                out = self._held
            selected = False
        self._held, self._held_ts, self._held_selected = item, ts, selected
        return out

    def release(self) -> T | None:
        """Drop the held frame (before a seek or at the end); returns it if it was selected."""
        out = self._held if self._held_selected else None
        self._held, self._held_ts, self._held_selected = None, -math.inf, False
        return out

    def finish(self) -> T | None:
        """End of stream: the held frame takes every remaining target; returns it if any."""
        if self._held is not None and self._k < len(self._targets):
            self._held_selected = True
            self._k = len(self._targets)
        return self.release()

    def seek_target(self, keyframe_times: list[float]) -> int | None:
        """Index of the keyframe to seek to before decoding on, or None to keep decoding forward.

        A seek pays off when the last keyframe at or before the next target lies after the held
        frame: every frame between them is then displayed before the target and never selected.
        Only valid while nothing selected is held (see ``release``).
        """
        target = self.next_target
        if target is None or self._held_selected or self._held is None:
            return None
        i = bisect.bisect_right(keyframe_times, target + self._eps) - 1
        if i < 0 or keyframe_times[i] <= self._held_ts + self._eps:
            return None
        return i
