"""A fake speech backend for the plumbing tests: one segment per loud stretch of the audio."""

from __future__ import annotations

import numpy as np

from chronolens.speech import Segment, Transcript, Word

LOUD = 0.05  # |sample| above this counts as sound
MIN_SILENCE_S = 0.3  # quiet stretches shorter than this do not split a segment


class FakeBackend:
    """Labels the i-th loud stretch ``texts[i]``: its times show exactly what the backend was given."""

    def __init__(self, texts: list[str], name: str = "fake:loud") -> None:
        self.name = name
        self.fingerprint = "f" * 64
        self.texts = texts
        self.calls: list[dict[str, object]] = []

    def transcribe(
        self, samples: np.ndarray, *, start: float = 0.0, language: str | None = None
    ) -> Transcript:
        self.calls.append({"n": len(samples), "start": start, "language": language, "dtype": samples.dtype})
        loud = np.flatnonzero(np.abs(samples) > LOUD)
        spans: list[list[int]] = []
        for i in loud:
            if spans and i - spans[-1][1] < MIN_SILENCE_S * 16_000:
                spans[-1][1] = int(i)
            else:
                spans.append([int(i), int(i)])
        segments = []
        for (lo, hi), text in zip(spans, self.texts, strict=False):
            a, b = start + lo / 16_000, start + (hi + 1) / 16_000
            words = text.split()
            step = (b - a) / max(len(words), 1)
            timed = tuple(Word(a + k * step, a + (k + 1) * step, w) for k, w in enumerate(words))
            segments.append(Segment(a, b, text, timed))
        return Transcript(segments=tuple(segments), model=self.name, language=language or "en")


class ProgressBackend(FakeBackend):
    """A fake whose ``transcribe`` also takes ``progress`` (as the Whisper backend does)."""

    def transcribe(  # type: ignore[override]
        self, samples: np.ndarray, *, start: float = 0.0, language: str | None = None, progress: bool = False
    ) -> Transcript:
        self.calls.append({"progress": progress})
        return super().transcribe(samples, start=start, language=language)
