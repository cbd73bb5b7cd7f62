"""Synthetic speech videos: espeak-ng sentences land at the stated times, noise at the stated SNR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chronolens.data.synth.speech import espeak_available, render_speech_video, synthesize_speech
from chronolens.video.audio import read_audio
from chronolens.video.reader import read_frames

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")

SENTENCES = [(0.5, "The red car drives into the garage."), (4.0, "Stir slowly.", "en-gb", 200)]


def test_sentences_are_placed_and_timed(tmp_path: Path) -> None:
    path = tmp_path / "speech.mp4"
    truth = render_speech_video(path, SENTENCES, duration=6.0)
    assert [(t.text, t.voice, t.speed, t.placed_at) for t in truth] == [
        ("The red car drives into the garage.", "en-us", 160, 0.5),
        ("Stir slowly.", "en-gb", 200, 4.0),
    ]
    first, second = truth
    assert 0.5 <= first.start < 0.6 and 1.5 < first.end < 3.5  # espeak's lead-in is not speech
    assert 4.0 <= second.start < 4.1 and second.end < 6.0
    audio = read_audio(path)
    assert audio is not None and audio.duration == pytest.approx(6.0, abs=0.1)
    t = audio.start + np.arange(len(audio.samples)) / audio.sample_rate
    speech = np.zeros(len(t), dtype=bool)
    for s in truth:
        speech |= (t >= s.start) & (t < s.end)
    assert np.abs(audio.samples[~speech]).max() < 0.05  # clean audio: (near) silence outside the sentences
    loud = np.flatnonzero(np.abs(audio.samples) > 0.02)
    assert t[loud[0]] == pytest.approx(first.start, abs=0.02) and t[loud[-1]] == pytest.approx(
        second.end, abs=0.03
    )
    assert read_frames(path).timestamps[-1] == pytest.approx(5.0)  # a real video: frames at 1 fps


def test_noise_at_the_requested_snr(tmp_path: Path) -> None:
    truth = render_speech_video(
        tmp_path / "noisy.mkv", SENTENCES[:1], duration=3.0, noise_snr_db=10.0, seed=3
    )
    audio = read_audio(tmp_path / "noisy.mkv")
    assert audio is not None
    t = audio.start + np.arange(len(audio.samples)) / audio.sample_rate
    quiet = (t > truth[0].end + 0.1) | (t < truth[0].start - 0.05)
    noise_power = float(np.mean(audio.samples[quiet] ** 2))
    clean, _ = synthesize_speech(truth[0].text)
    voiced = clean[np.abs(clean) > 0.0]
    snr = 10 * np.log10(np.mean(voiced**2) / noise_power)
    assert 7.0 < snr < 13.0  # white noise halves above 8 kHz in the 16 kHz decode; Opus is lossy


def test_bad_placements_and_voices(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="runs past duration"):
        render_speech_video(tmp_path / "a.mp4", [(2.5, "This sentence is too long to fit.")], duration=3.0)
    with pytest.raises(ValueError, match="overlaps"):
        render_speech_video(tmp_path / "b.mp4", [(0.0, "One two three four."), (0.5, "Five.")], duration=5.0)
    with pytest.raises(ValueError, match="espeak-ng failed for voice 'xx-nope'"):
        render_speech_video(tmp_path / "c.mp4", [(0.0, "Hi.", "xx-nope", 160)], duration=3.0)
    assert not list(tmp_path.iterdir())  # nothing written for a refused request


def test_a_sentence_starting_with_a_dash_is_spoken_not_parsed() -> None:
    samples, rate = synthesize_speech("-s 999 hello")
    assert rate == 22_050 and len(samples) > rate // 2  # spoken (an option parse would fail or be silent)
