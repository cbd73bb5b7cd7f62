"""The speech protocol and its results: words and segments with times, one transcript per video.

Shared by the backends (``speech/``), the library's transcript tables, spoken-word search and the
video LLM's prompts; everything else about speech builds on these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Segment", "SpeechBackend", "Transcript", "Word"]


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word: seconds on the video's clock, and the recogniser's confidence."""

    start: float
    end: float
    text: str
    probability: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"start": self.start, "end": self.end, "text": self.text, "probability": self.probability}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Word:
        """The inverse of :meth:`to_json`."""
        return cls(float(data["start"]), float(data["end"]), str(data["text"]), float(data["probability"]))


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of speech (a sentence or phrase): its span, its text and its words."""

    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "words": [word.to_json() for word in self.words],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        """The inverse of :meth:`to_json`."""
        words = tuple(Word.from_json(word) for word in data.get("words", ()))
        return cls(float(data["start"]), float(data["end"]), str(data["text"]), words)


@dataclass(frozen=True)
class Transcript:
    """What was said in one video.

    ``has_audio`` False means the file has no audio stream (no speech, recorded as such, not an
    error); ``segments`` empty with ``has_audio`` True means audio without recognised speech.
    """

    segments: tuple[Segment, ...]
    model: str  # the backend's name, e.g. "builtin:whisper-base"
    language: str | None = None  # ISO 639-1 code, detected or given
    has_audio: bool = True
    duration: float = 0.0  # seconds of audio transcribed
    extra: dict[str, Any] = field(default_factory=dict)  # backend-specific facts (language probability)

    @property
    def text(self) -> str:
        """The whole transcript as one string."""
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``chronolens transcribe --json``)."""
        return {
            "model": self.model,
            "language": self.language,
            "has_audio": self.has_audio,
            "duration": self.duration,
            "segments": [segment.to_json() for segment in self.segments],
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Transcript:
        """The inverse of :meth:`to_json`."""
        return cls(
            segments=tuple(Segment.from_json(segment) for segment in data.get("segments", ())),
            model=str(data["model"]),
            language=data.get("language"),
            has_audio=bool(data.get("has_audio", True)),
            duration=float(data.get("duration", 0.0)),
            extra=dict(data.get("extra", {})),
        )


@runtime_checkable
class SpeechBackend(Protocol):
    """An ASR model: 16 kHz mono samples in, timed segments and words out."""

    name: str  # the registry name it was loaded by ("builtin:whisper-base", "whisper:/models/base")
    fingerprint: str  # sha256 (or another stable digest) of the weights: recorded in the manifest

    def transcribe(
        self, samples: np.ndarray, *, start: float = 0.0, language: str | None = None
    ) -> Transcript:
        """Transcribe float32 mono samples at 16 kHz whose first sample is at ``start`` seconds."""
        ...
