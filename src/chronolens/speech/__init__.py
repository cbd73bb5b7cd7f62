"""Speech: what is said in a video, and when.

ASR backends sit behind one protocol (:class:`SpeechBackend`), resolved by name like encoders.
Times are seconds on the video's own clock (the audio stream's PTS), the same clock as frames.
"""

from __future__ import annotations

from chronolens.speech.base import Segment, SpeechBackend, Transcript, Word

__all__ = ["Segment", "SpeechBackend", "Transcript", "Word"]
