"""Time in chronolens, in one place: spans, the clip grid, sample intervals and times in text.

Seconds as float at the API; spans half-open and clamped to the video. Timestamps always come
from the decoder (PTS x time_base), never from frame index / nominal fps.

- ``span``: ``Span`` / ``Moment``, clamping, the ``h:mm:ss.s`` clock of human-readable output.
- ``grid``: the fixed-length clip grid every saliency lives on (one ``CLIP_LENGTH``, one ``n_clips``).
- ``intervals``: the interval each sample stands for, the sampling step, snapping, span saliency.
- ``text``: spans and timestamped captions parsed out of model answers.
"""

from chronolens.timebase.span import Moment, Span, clamp_span, clock

__all__ = ["Moment", "Span", "clamp_span", "clock"]
