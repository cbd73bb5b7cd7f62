"""Shots: their typed result, the cut rule the detectors share, and the detector registry.

A video's shots are consecutive half-open spans ``[start, end)`` in seconds that tile
``[0, duration]``. Every boundary is PTS-exact: the timestamp (decoder PTS x time_base) of the
first frame of the new shot, as frame-level detectors see it (``histogram``, ``transnetv2``
decode every frame); the ``embedding`` detector reads the library's sampled frames, so its
boundary is the first *sampled* frame of the new shot (the true cut lies after the sample before).

Detectors are registered by name (``list_detectors``, ``get_detector``); each is an object with a
``name`` and ``__call__(path, *, embeddings, timestamps, duration, progress) -> ShotResult`` and
``rows(...)``, the shape :func:`chronolens.ingest.shots.index_shots` stores.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from chronolens.errors import ChronolensError, did_you_mean
from chronolens.timebase import Span

__all__ = [
    "CutRule",
    "ShotDetector",
    "ShotResult",
    "UnknownDetectorError",
    "get_detector",
    "list_detectors",
    "pick_cuts",
    "register_detector",
    "shots_from_cuts",
]


class UnknownDetectorError(ChronolensError):
    """A shot detector name that is not registered."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ShotResult:
    """The shots of one video, as one detector found them."""

    video: str  # the video file
    detector: str  # the detector's registry name
    duration: float  # seconds; the last shot ends here
    shots: tuple[Span, ...]  # consecutive [start, end) spans tiling [0, duration], first at 0
    cut_scores: tuple[float, ...]  # confidence of each cut (the start of shots[1:]), detector units
    n_frames: int = 0  # frames (or stored samples) the detector read
    seconds: float = 0.0  # wall time the detection took (0 when read from the library)
    stored: bool = False  # True: read from the library's shots table, not computed now
    extra: dict[str, Any] = field(default_factory=dict)  # detector-specific figures for reports

    def __post_init__(self) -> None:
        if len(self.cut_scores) != max(0, len(self.shots) - 1):
            raise ValueError("ShotResult.cut_scores needs one score per cut (len(shots) - 1)")

    @property
    def cuts(self) -> tuple[float, ...]:
        """Seconds at which each shot after the first starts (the cut times)."""
        return tuple(s.start for s in self.shots[1:])

    def rows(self) -> list[tuple[float, float, float]]:
        """``(start, end, score)`` per shot; the first shot's score is 1.0 (the video's start)."""
        scores = (1.0, *self.cut_scores)
        return [(s.start, s.end, float(score)) for s, score in zip(self.shots, scores, strict=True)]

    def to_json(self) -> dict[str, Any]:
        """``{"video", "detector", "duration", "shots": [[start, end]], "cuts": [[time, score]], ...}``."""
        return {
            "video": self.video,
            "detector": self.detector,
            "duration": self.duration,
            "shots": [[s.start, s.end] for s in self.shots],
            "cuts": [[t, score] for t, score in zip(self.cuts, self.cut_scores, strict=True)],
            "n_frames": self.n_frames,
            "seconds": self.seconds,
            "stored": self.stored,
        }


def shots_from_cuts(cuts: Sequence[float], duration: float) -> tuple[Span, ...]:
    """Consecutive spans ``[0, c1), [c1, c2), ..., [ck, duration]`` from increasing cut times.

    Cuts at or before 0, at or after ``duration``, or not after the previous cut are dropped.
    """
    spans: list[Span] = []
    start = 0.0
    for cut in cuts:
        if cut <= start or cut >= duration:
            continue
        spans.append(Span(start, float(cut)))
        start = float(cut)
    spans.append(Span(start, max(float(duration), start)))
    return tuple(spans)


@dataclass(frozen=True, kw_only=True, slots=True)
class CutRule:
    """When a jump between consecutive frames is a cut: large, a peak among its neighbours, spaced.

    Jump ``d_i`` (between frames ``i - 1`` and ``i``) is a cut at frame ``i`` when
    ``d_i >= threshold`` and ``d_i >= ratio x (mean of the window jumps on each side + floor)``
    (a cut stands out of the motion around it; fast motion raises all jumps together), and no
    stronger cut lies within ``min_shot_s`` seconds (the first and last shot may be shorter: a
    video can start or end on a short shot).
    """

    threshold: float  # smallest jump that can be a cut, in the detector's distance units
    ratio: float = 3.0  # how far a cut's jump must stand above its neighbours' mean (x)
    window: int = 3  # neighbouring jumps on each side averaged for the ratio test (frames)
    floor: float = 0.02  # added to the neighbours' mean, so a still scene needs a real jump
    min_shot_s: float = 0.5  # seconds: no shot shorter than this (the weaker cut is dropped)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and self.threshold >= 0):
            raise ValueError(f"CutRule.threshold must be >= 0, got {self.threshold!r}")
        if not self.ratio >= 0:
            raise ValueError(f"CutRule.ratio must be >= 0, got {self.ratio!r}")
        if self.window < 0:
            raise ValueError(f"CutRule.window must be >= 0, got {self.window!r}")
        if not self.floor >= 0:
            raise ValueError(f"CutRule.floor must be >= 0, got {self.floor!r}")
        if not (math.isfinite(self.min_shot_s) and self.min_shot_s >= 0):
            raise ValueError(f"CutRule.min_shot_s must be >= 0, got {self.min_shot_s!r}")


def pick_cuts(
    jumps: np.ndarray, timestamps: np.ndarray, duration: float, rule: CutRule
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``rule`` to the jumps between consecutive frames.

    Args:
        jumps: ``(T - 1,)`` distance between frame ``i`` and ``i + 1``.
        timestamps: ``(T,)`` increasing frame times in seconds.
        duration: seconds (cuts at or after it are dropped).
        rule: the cut rule.

    Returns:
        ``(times (K,), scores (K,))``: each cut's time (its first frame's timestamp) and its jump,
        in time order.
    """
    d = np.asarray(jumps, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    if d.size == 0:
        return np.zeros(0), np.zeros(0)
    w = rule.window
    if w > 0:
        padded = np.pad(d, w, mode="edge")
        sums = np.convolve(padded, np.ones(2 * w + 1), mode="valid")  # (T - 1,) window incl. self
        neighbours = (sums - d) / (2 * w)
    else:
        neighbours = np.zeros_like(d)
    candidate = (d >= rule.threshold) & (d >= rule.ratio * (neighbours + rule.floor))
    order = [int(i) for i in np.argsort(-d, kind="stable") if candidate[i]]
    taken: list[int] = []
    eps = 1e-9
    for i in order:
        t = ts[i + 1]
        if all(abs(t - ts[j + 1]) >= rule.min_shot_s - eps for j in taken):
            taken.append(i)
    taken = sorted(i for i in taken if 0.0 < ts[i + 1] < duration)
    return ts[np.asarray(taken, dtype=np.int64) + 1], d[np.asarray(taken, dtype=np.int64)]


class ShotDetector(Protocol):
    """What every registered detector offers (see the module docstring)."""

    name: str  # registry name

    def __call__(
        self,
        path: str,
        *,
        embeddings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        duration: float | None = None,
        progress: bool = False,
    ) -> ShotResult: ...

    def rows(
        self, path: str, embeddings: np.ndarray, timestamps: np.ndarray, duration: float
    ) -> list[tuple[float, float, float]]: ...


_DETECTORS: dict[str, Callable[..., ShotDetector]] = {}


def register_detector(name: str) -> Callable[[Callable[..., ShotDetector]], Callable[..., ShotDetector]]:
    """Register a detector builder (``builder(config=None) -> ShotDetector``) under ``name``."""

    def decorator(builder: Callable[..., ShotDetector]) -> Callable[..., ShotDetector]:
        if name in _DETECTORS:
            raise ValueError(f"shot detector {name!r} is already registered")
        _DETECTORS[name] = builder
        return builder

    return decorator


def list_detectors() -> list[str]:
    """Names of the registered shot detectors, in registration order."""
    return list(_DETECTORS)


def get_detector(name: str, config: Any = None) -> ShotDetector:
    """Build the detector registered as ``name`` (``config``: its config dataclass, or default).

    Raises:
        UnknownDetectorError: no detector has that name (the message suggests the closest one).
    """
    builder = _DETECTORS.get(name)
    if builder is None:
        raise UnknownDetectorError(
            f"unknown shot detector {name!r}{did_you_mean(name, _DETECTORS)}; "
            f"choose from {', '.join(_DETECTORS)}"
        )
    return builder(config)
