"""Time in chronolens: seconds as float at the API, spans half-open and clamped to the video.

Timestamps always come from the decoder (PTS x time_base, relative to the start of the video),
never from frame index / nominal fps. A ``Span`` is ``[start, end)`` in seconds; a ``Moment``
is a span with a score, the unit every search, grounding and highlight result is made of.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Moment", "Span", "clamp_span", "clock"]


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open time interval ``[start, end)`` in seconds."""

    start: float  # seconds from the start of the video
    end: float  # seconds from the start of the video, >= start

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)):
            raise ValueError(f"Span: start and end must be finite, got ({self.start}, {self.end})")
        if self.end < self.start:
            raise ValueError(f"Span: end ({self.end}) must be >= start ({self.start})")

    @property
    def length(self) -> float:
        """Duration of the span in seconds."""
        return self.end - self.start

    def clamp(self, duration: float) -> Span:
        """Return this span clipped to ``[0, duration]``."""
        return clamp_span(self.start, self.end, duration)


TENTHS_PER_SECOND = 10  # human-readable times show tenths of a second
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600


def clock(seconds: float) -> str:
    """A time as ``h:mm:ss.s``, the one format of every human-readable output.

    ``5.5`` -> ``"0:00:05.5"``, ``75.25`` -> ``"0:01:15.2"``, ``3723.46`` -> ``"1:02:03.5"``. The
    hour is always shown (one rule, whatever the video's length; columns line up), the time is
    rounded to tenths *before* it is split, so ``59.96`` is ``"0:01:00.0"``, never ``"0:00:60.0"``.
    Negative times get a leading ``-``; a non-finite one prints as ``"?"``. JSON output keeps
    seconds as numbers and never goes through this.
    """
    if not math.isfinite(seconds):
        return "?"
    sign = "-" if seconds < 0 else ""
    tenths = round(abs(seconds) * TENTHS_PER_SECOND)
    hours, tenths = divmod(tenths, SECONDS_PER_HOUR * TENTHS_PER_SECOND)
    minutes, tenths = divmod(tenths, SECONDS_PER_MINUTE * TENTHS_PER_SECOND)
    whole, tenth = divmod(tenths, TENTHS_PER_SECOND)
    return f"{sign}{hours}:{minutes:02d}:{whole:02d}.{tenth}"


def clamp_span(start: float, end: float, duration: float) -> Span:
    """Order ``start``/``end`` and clip them to ``[0, duration]``.

    Args:
        start: span start in seconds (may exceed ``end``; the pair is reordered).
        end: span end in seconds.
        duration: video duration in seconds, >= 0.
    """
    lo, hi = (start, end) if start <= end else (end, start)
    lo = min(max(lo, 0.0), duration)
    hi = min(max(hi, 0.0), duration)
    return Span(lo, hi)


@dataclass(frozen=True, slots=True)
class Moment:
    """A scored span: ``[start, end)`` seconds with a relevance ``score`` (higher is better)."""

    start: float  # seconds
    end: float  # seconds, >= start
    score: float  # task-specific relevance, higher is better

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"Moment: end ({self.end}) must be >= start ({self.start})")

    @property
    def span(self) -> Span:
        """The moment's interval without its score."""
        return Span(self.start, self.end)

    def as_list(self) -> list[float]:
        """``[start, end, score]``, the QVHighlights ``pred_relevant_windows`` entry."""
        return [self.start, self.end, self.score]
