"""A small library of coloured videos with known speech, for the transcript/search/fusion tests.

``cooking.mkv``: green, speech bursts at 1.0-2.0 s and 3.0-4.5 s (audio from 0 s);
``garage.mkv``: red, one burst at 0.5-1.5 s; ``mute.mkv``: blue, no audio stream;
``bad.mkv``: yellow, an audio track whose codec id is unreadable (corrupt audio).
``register_fakespeech(monkeypatch)`` registers the speech backend ``fakespeech:<text>|<text>...``
for one test: the fake that labels the i-th loud stretch of any video with the i-th text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import COLORS
from tests.speech.fake_backend import FakeBackend

from chronolens.speech import Transcript
from chronolens.speech.registry import SpeechOptions
from chronolens.video.audio import Audio, write_video_with_audio
from chronolens.video.writer import write_video

RATE = 16_000
FPS = 10
COOKING_TEXTS = ["now we add two cups of flour", "stir the bowl slowly"]
GARAGE_TEXTS = ["the red car drives into the garage"]


def bursts(spans: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """Noise bursts (amplitude 0.3) over ``spans`` seconds, silence elsewhere."""
    x = np.zeros(round(seconds * RATE), dtype=np.float32)
    rng = np.random.default_rng(0)
    for a, b in spans:
        x[round(a * RATE) : round(b * RATE)] = rng.uniform(-0.3, 0.3, round(b * RATE) - round(a * RATE))
    return x


def _frames(color: str, seconds: float) -> list[np.ndarray]:
    frame = np.empty((32, 48, 3), np.uint8)
    frame[:] = COLORS[color]
    return [frame] * round(seconds * FPS)


def spoken_video(path: Path, color: str, spans: list[tuple[float, float]], seconds: float) -> Path:
    """A solid-colour video with noise bursts at ``spans`` (lossless video and audio)."""
    track = Audio(bursts(spans, seconds), RATE, 0.0)
    return write_video_with_audio(
        path, _frames(color, seconds), track, fps=FPS, audio_codec="flac", video_codec="ffv1"
    )


def corrupt_audio_video(path: Path, color: str, seconds: float) -> Path:
    """A video whose audio codec id is overwritten: frames decode, audio does not."""
    track = Audio(bursts([(0.0, seconds)], seconds), RATE, 0.0)
    write_video_with_audio(
        path, _frames(color, seconds), track, fps=FPS, audio_codec="pcm_s16le", video_codec="ffv1"
    )
    data = bytearray(path.read_bytes())
    at = data.find(b"A_PCM")
    data[at : at + 5] = b"A_XYZ"
    path.write_bytes(bytes(data))
    return path


def make_videos(root: Path) -> dict[str, Path]:
    """The four videos of the module docstring under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    return {
        "cooking": spoken_video(root / "cooking.mkv", "green", [(1.0, 2.0), (3.0, 4.5)], 6.0),
        "garage": spoken_video(root / "garage.mkv", "red", [(0.5, 1.5)], 4.0),
        "mute": write_video(root / "mute.mkv", _frames("blue", 4.0), fps=FPS, codec="ffv1"),
        "bad": corrupt_audio_video(root / "bad.mkv", "yellow", 4.0),
    }


class TextsBackend(FakeBackend):
    """The fake backend with texts per video, told apart by audio length: ``{seconds: texts}``."""

    def __init__(self, texts: dict[int, list[str]], name: str = "fake:per-video") -> None:
        super().__init__([], name=name)
        self.by_seconds = texts

    def transcribe(
        self, samples: np.ndarray, *, start: float = 0.0, language: str | None = None
    ) -> Transcript:
        self.texts = self.by_seconds.get(round(len(samples) / RATE), [])
        return super().transcribe(samples, start=start, language=language)


def library_backend() -> TextsBackend:
    """The backend that says ``COOKING_TEXTS`` in cooking.mkv and ``GARAGE_TEXTS`` in garage.mkv."""
    return TextsBackend({6: COOKING_TEXTS, 4: GARAGE_TEXTS})


def register_fakespeech(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register ``fakespeech:<text>|<text>...`` in the speech registry for one test."""
    from chronolens.speech import registry

    monkeypatch.setattr(registry, "_SCHEMES", dict(registry._SCHEMES))  # restored after the test

    @registry.register_speech_scheme(
        "fakespeech", usage="fakespeech:<text>|<text>...", description="test backend: labels loud stretches"
    )
    def _build(ref: str, options: SpeechOptions) -> FakeBackend:
        return FakeBackend(ref.split("|"), name=f"fakespeech:{ref}")
