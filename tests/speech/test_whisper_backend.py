"""WhisperBackend's own logic on a stand-in model: clock offset, clamping, silence gate, options."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from chronolens.errors import UsageError
from chronolens.speech.registry import SpeechOptions
from chronolens.speech.whisper import WhisperBackend


class StandInModel:
    """Answers like ``faster_whisper.WhisperModel.transcribe``: lazy segments and an info record."""

    supported_languages = ("en", "de")

    def __init__(self, segments: list[SimpleNamespace]) -> None:
        self.segments = segments
        self.kwargs: dict[str, object] = {}

    def transcribe(self, audio: np.ndarray, **kwargs: object) -> tuple[object, SimpleNamespace]:
        self.kwargs = kwargs
        info = SimpleNamespace(
            language=kwargs["language"] or "en", language_probability=0.93, duration=len(audio) / 16_000
        )
        return iter(self.segments), info


def piece(start: float, end: float, text: str, words: list[tuple[float, float, str]]) -> SimpleNamespace:
    return SimpleNamespace(
        start=start,
        end=end,
        text=text,
        words=[SimpleNamespace(start=a, end=b, word=w, probability=0.9) for a, b, w in words],
    )


def test_times_shift_by_start_and_clamp_to_the_audio() -> None:
    audio = np.full(16_000 * 2, 0.2, dtype=np.float32)  # 2 s of (non-silent) audio
    model = StandInModel([piece(0.5, 1.0, " Hello world.", [(0.5, 0.7, " Hello"), (0.7, 1.0, " world.")]),
                          piece(1.8, 2.4, " end", [(1.8, 2.4, " end"), (2.4, 2.4, " ")])])  # fmt: skip
    backend = WhisperBackend("whisper:stand-in", model, "0" * 64, SpeechOptions())
    transcript = backend.transcribe(audio, start=10.0)
    first, second = transcript.segments
    assert (first.start, first.end, first.text) == (10.5, 11.0, "Hello world.")
    assert [(w.start, w.end, w.text) for w in first.words] == [(10.5, 10.7, "Hello"), (10.7, 11.0, "world.")]
    assert (second.start, second.end) == (11.8, 12.0) and [w.text for w in second.words] == ["end"]  # clamped
    assert transcript.language == "en" and transcript.extra == {"language_probability": 0.93}
    assert transcript.duration == 2.0 and transcript.model == "whisper:stand-in"
    assert model.kwargs["word_timestamps"] is True and model.kwargs["vad_filter"] is False


def test_segments_over_digital_silence_are_dropped() -> None:
    audio = np.zeros(16_000 * 4, dtype=np.float32)
    audio[:16_000] = 0.1  # sound only in the first second
    model = StandInModel([piece(0.0, 1.0, " Real.", []), piece(2.6, 4.0, " You", [])])
    transcript = WhisperBackend("w", model, "", SpeechOptions()).transcribe(audio)
    assert [s.text for s in transcript.segments] == ["Real."]
    kept = WhisperBackend("w", StandInModel(model.segments), "", SpeechOptions(silence_rms=0.0)).transcribe(
        audio
    )
    assert [s.text for s in kept.segments] == ["Real.", "You"]


def test_language_is_checked_and_passed() -> None:
    model = StandInModel([])
    backend = WhisperBackend(
        "builtin:whisper-base", model, "", SpeechOptions(beam_size=2, temperatures=(0.0,))
    )
    assert backend.transcribe(np.zeros(160, np.float32), language="de").language == "de"
    assert model.kwargs["beam_size"] == 2 and model.kwargs["temperature"] == [0.0]
    with pytest.raises(UsageError, match=r"does not know language 'eng' \(did you mean 'en'\?\)"):
        backend.transcribe(np.zeros(160, np.float32), language="eng")


def test_empty_audio_and_option_validation() -> None:
    transcript = WhisperBackend("w", StandInModel([]), "", SpeechOptions()).transcribe(
        np.zeros(0, np.float32)
    )
    assert transcript.segments == () and transcript.duration == 0.0
    for bad in (
        {"threads": -1},
        {"beam_size": 0},
        {"max_new_tokens": 0},
        {"temperatures": ()},
        {"silence_rms": -1.0},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            SpeechOptions(**bad)  # type: ignore[arg-type]
