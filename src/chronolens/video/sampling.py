"""Frame sampling policies: which frames of a video to decode.

A policy is a small frozen dataclass; ``parse_sampling``/``Sampling.spec`` round-trip it through
the short string stored in a library manifest (``"fps:1.0"``, ``"uniform:32"``, ``"keyframes"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["AtTimes", "FixedFps", "Keyframes", "Sampling", "UniformN", "parse_sampling"]


@dataclass(frozen=True, kw_only=True, slots=True)
class FixedFps:
    """One frame per ``1/fps`` seconds: at each instant ``k/fps`` the frame being shown then."""

    fps: float = 1.0  # samples per second of video, > 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"FixedFps.fps must be a positive number, got {self.fps!r}")

    @property
    def spec(self) -> str:
        return f"fps:{self.fps:g}"


@dataclass(frozen=True, kw_only=True, slots=True)
class UniformN:
    """``n`` frames spread evenly over the video (the frame shown at the centre of each of n bins)."""

    n: int  # number of frames, >= 1

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"UniformN.n must be >= 1, got {self.n!r}")

    @property
    def spec(self) -> str:
        return f"uniform:{self.n}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Keyframes:
    """Every keyframe (I-frame) only: the fast mode, no inter-frame decoding."""

    @property
    def spec(self) -> str:
        return "keyframes"


@dataclass(frozen=True, kw_only=True, slots=True)
class AtTimes:
    """The frames displayed at given instants (thumbnails, spot checks); not a library policy."""

    times: tuple[float, ...]  # seconds from the start of the video, any order, >= 0

    def __post_init__(self) -> None:
        if not self.times:
            raise ValueError("AtTimes.times must not be empty")
        if any(not (math.isfinite(t) and t >= 0) for t in self.times):
            raise ValueError(f"AtTimes.times must be finite and >= 0, got {self.times!r}")

    @property
    def spec(self) -> str:
        return f"times:{len(self.times)}"


Sampling = FixedFps | UniformN | Keyframes | AtTimes


def parse_sampling(spec: str) -> Sampling:
    """Parse ``"fps:F"``, ``"uniform:N"`` or ``"keyframes"`` into a policy.

    Raises:
        ValueError: on an unknown or malformed spec, naming the valid forms.
    """
    text = spec.strip().lower()
    kind, _, arg = text.partition(":")
    try:
        if kind == "fps":
            return FixedFps(fps=float(arg))
        if kind == "uniform":
            return UniformN(n=int(arg))
        if kind == "keyframes" and not arg:
            return Keyframes()
    except ValueError as exc:
        raise ValueError(f"bad sampling spec {spec!r}: {exc}") from exc
    raise ValueError(f"unknown sampling spec {spec!r}; expected 'fps:F', 'uniform:N' or 'keyframes'")
