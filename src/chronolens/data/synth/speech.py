"""Synthetic speech videos: espeak-ng sentences placed at known times in a video's audio track.

The ground truth of ``chronolens bench speech`` and the speech tests: each sentence is spoken by
Debian's ``espeak-ng`` (``apt-get install espeak-ng``; several voices and speeds), placed at a
chosen second, optionally under white noise at a given SNR, and muxed with plain frames by
chronolens' own writer (:func:`chronolens.video.audio.write_video_with_audio`; AAC in ``.mp4``,
Opus in ``.mkv``). The true start/end of each sentence is measured from its waveform (first and
last sample above ``VOICED_THRESHOLD`` of the sentence's peak), so espeak's own leading and
trailing silence does not count as speech.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chronolens.errors import MissingDependencyError

__all__ = [
    "ESPEAK_SAMPLE_RATE",
    "VOICED_THRESHOLD",
    "EspeakMissingError",
    "SpokenSentence",
    "espeak_available",
    "render_speech_video",
    "synthesize_speech",
]

ESPEAK_SAMPLE_RATE = 22_050  # Hz: espeak-ng's output rate
VOICED_THRESHOLD = 0.02  # fraction of a sentence's peak amplitude that counts as voiced
_ESPEAK_TIMEOUT_S = 60  # one sentence never takes this long; a hung espeak-ng must not hang a run
_FRAME_SIZE = (48, 64)  # (H, W) of the plain frames: the video part only carries the clock


class EspeakMissingError(MissingDependencyError):
    """espeak-ng is not installed (a system package, not a pip extra)."""


@dataclass(frozen=True, slots=True)
class SpokenSentence:
    """One sentence of the ground truth: what was said, by which voice, and exactly when."""

    text: str
    voice: str  # espeak-ng voice, e.g. "en-us"
    speed: int  # words per minute
    start: float  # seconds of the first voiced sample on the video's clock
    end: float  # seconds just after the last voiced sample
    placed_at: float  # seconds where the sentence's wav (with espeak's lead-in silence) begins


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None and Path("/usr/bin/espeak-ng").is_file():  # PATH without /usr/bin (some CI shells)
        exe = "/usr/bin/espeak-ng"
    if exe is None:
        raise EspeakMissingError("synthetic speech needs espeak-ng: apt-get install espeak-ng")
    return exe


def espeak_available() -> bool:
    """Whether espeak-ng can be run here (tests skip without it)."""
    try:
        _espeak()
    except EspeakMissingError:
        return False
    return True


def _wav_samples(data: bytes) -> tuple[np.ndarray, int]:
    """Mono float32 samples and rate of a 16-bit PCM wav (espeak's streamed header has no sizes)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("espeak-ng did not write a wav file")
    pos, rate, channels = 12, ESPEAK_SAMPLE_RATE, 1
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            _, channels, rate = struct.unpack("<HHI", data[pos + 8 : pos + 16])
        elif chunk == b"data":
            # Streamed to stdout the size field is a placeholder: the samples run to the end.
            pcm = data[pos + 8 :]
            pcm = pcm[: len(pcm) // (2 * channels) * 2 * channels]
            samples = np.frombuffer(pcm, dtype="<i2").reshape(-1, channels).mean(axis=1)
            return (samples / 32768.0).astype(np.float32), int(rate)
        pos += 8 + size + (size & 1)
    raise ValueError("espeak-ng's wav has no data chunk")


def synthesize_speech(text: str, *, voice: str = "en-us", speed: int = 160) -> tuple[np.ndarray, int]:
    """``text`` spoken by espeak-ng: ``(samples (N,) float32, sample_rate)``.

    Raises:
        EspeakMissingError: espeak-ng is not installed.
        ValueError: espeak-ng failed (e.g. an unknown voice).
    """
    exe = _espeak()
    # The text goes in on stdin, so a sentence starting with "-" is never read as an option.
    result = subprocess.run(
        [exe, "--stdout", "-v", voice, "-s", str(int(speed))],
        input=text.encode("utf-8"),
        capture_output=True,
        timeout=_ESPEAK_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0 or not result.stdout:
        why = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(f"espeak-ng failed for voice {voice!r}: {why[0] if why else 'no output'}")
    return _wav_samples(result.stdout)


def _voiced_span(samples: np.ndarray) -> tuple[int, int]:
    """First and one-past-last sample above ``VOICED_THRESHOLD`` of the peak."""
    level = np.abs(samples)
    loud = np.flatnonzero(level > VOICED_THRESHOLD * max(float(level.max()), 1e-9))
    if len(loud) == 0:
        return 0, 0
    return int(loud[0]), int(loud[-1]) + 1


def render_speech_video(
    path: str | os.PathLike[str],
    sentences: Sequence[tuple[float, str] | tuple[float, str, str, int]],
    *,
    duration: float,
    noise_snr_db: float | None = None,
    seed: int = 0,
    fps: float = 5,
    frames: Iterable[np.ndarray] | None = None,
) -> list[SpokenSentence]:
    """Write a video whose audio track speaks ``sentences`` at known times.

    Args:
        path: output file (``.mp4``: AAC audio; ``.mkv``: Opus).
        sentences: ``(start_s, text)`` or ``(start_s, text, voice, speed)``: where each sentence's
            wav begins, what is said, the espeak-ng voice (default ``"en-us"``) and words per
            minute (default 160). Sentences may not overlap.
        duration: seconds of video and audio; every sentence must end inside it.
        noise_snr_db: white noise over the whole track at this speech-to-noise ratio (dB, speech
            power measured over the voiced samples); None for clean audio.
        seed: seeds the noise.
        fps: frame rate of the frames.
        frames: the pictures, ``(H, W, 3)`` uint8, ``duration * fps`` of them (e.g. a synthetic
            benchmark video's, so the video shows events while its audio speaks); None: plain,
            slowly changing frames.

    Returns:
        The ground truth, sorted by start: each sentence's voiced start/end on the video's clock.

    Raises:
        EspeakMissingError: espeak-ng is not installed.
        ValueError: a sentence overlaps another or ends after ``duration``.
    """
    from chronolens.video.audio import Audio, write_video_with_audio

    rate = ESPEAK_SAMPLE_RATE
    track = np.zeros(round(duration * rate), dtype=np.float32)  # (N,)
    voiced = np.zeros(len(track), dtype=bool)
    truth: list[SpokenSentence] = []
    for item in sorted(sentences, key=lambda s: s[0]):
        at, text = float(item[0]), str(item[1])
        voice, speed = (str(item[2]), int(item[3])) if len(item) == 4 else ("en-us", 160)
        wav, wav_rate = synthesize_speech(text, voice=voice, speed=speed)
        if wav_rate != rate:
            raise ValueError(f"espeak-ng wrote {wav_rate} Hz, expected {rate}")
        first = round(at * rate)
        if first < 0 or first + len(wav) > len(track):
            raise ValueError(f"sentence {text!r} at {at}s runs past duration {duration}s")
        if voiced[first : first + len(wav)].any():
            raise ValueError(f"sentence {text!r} at {at}s overlaps the previous one")
        lo, hi = _voiced_span(wav)
        track[first : first + len(wav)] += wav
        voiced[first + lo : first + hi] = True
        truth.append(SpokenSentence(text, voice, speed, (first + lo) / rate, (first + hi) / rate, at))
    if noise_snr_db is not None and voiced.any():
        power = float(np.mean(track[voiced] ** 2))
        sigma = np.sqrt(power / (10.0 ** (noise_snr_db / 10.0)))
        track = track + np.random.default_rng(seed).normal(0.0, sigma, len(track)).astype(np.float32)
        np.clip(track, -1.0, 1.0, out=track)
    if frames is None:
        n_frames = max(1, round(duration * fps))
        h, w = _FRAME_SIZE
        frames = (np.full((h, w, 3), (40 + (i * 3) % 160, 90, 140), dtype=np.uint8) for i in range(n_frames))
    write_video_with_audio(path, frames, Audio(track, rate, 0.0), fps=fps)
    return truth
