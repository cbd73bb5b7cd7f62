"""Audio decoding: 16 kHz mono float32 on the video's clock, no-audio files, corrupt audio tracks."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from chronolens.errors import DecodeError
from chronolens.video.audio import Audio, AudioDecodeError, has_audio, read_audio, write_video_with_audio
from chronolens.video.reader import read_frames

FRAMES = [np.full((48, 64, 3), 100, dtype=np.uint8)] * 20  # 2 s at 10 fps


def tone(seconds: float, rate: int, freq: float = 440.0, *, silent_head: float = 0.0) -> np.ndarray:
    """A sine at ``freq`` Hz (amplitude 0.5), silent for its first ``silent_head`` seconds."""
    t = np.arange(round(seconds * rate)) / rate
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    x[: round(silent_head * rate)] = 0.0
    return x


def onset(audio: Audio, level: float = 0.1) -> float:
    """Seconds (video clock) of the first sample louder than ``level``."""
    return audio.start + int(np.argmax(np.abs(audio.samples) > level)) / audio.sample_rate


def mux_stereo(path: Path, rate: int, seconds: float, start: float, codec: str = "flac") -> Path:
    """A video with a stereo track (left and right the same tone) starting ``start`` s in."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "bgr0"
        audio = container.add_stream(codec, rate=rate)
        audio.layout = "stereo"
        audio.codec_context.time_base = Fraction(1, rate)
        for i, image in enumerate(FRAMES):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        x = tone(seconds, rate)
        for s in range(0, len(x), 1024):
            chunk = np.ascontiguousarray(np.stack([x[s : s + 1024]] * 2))  # (2, n) planar
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = rate, round(start * rate) + s, Fraction(1, rate)
            for packet in audio.encode(frame):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


def test_stereo_44k_becomes_16k_mono_with_the_tone_kept(tmp_path: Path) -> None:
    path = mux_stereo(tmp_path / "stereo.mkv", 44_100, 2.0, 0.0)
    audio = read_audio(path)
    assert audio is not None and audio.sample_rate == 16_000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration == pytest.approx(2.0, abs=0.01) and audio.start == pytest.approx(0.0, abs=1e-6)
    spectrum = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spectrum) * audio.sample_rate / len(audio.samples)
    assert peak_hz == pytest.approx(440.0, abs=2.0)
    # FFmpeg's stereo downmix: each channel at -3 dB (0.5 + 0.5 -> 0.707), never a clipping sum.
    assert np.max(np.abs(audio.samples)) == pytest.approx(0.5 * 2**0.5, abs=0.02)


def test_other_sample_rates(tmp_path: Path) -> None:
    path = write_video_with_audio(tmp_path / "a.mkv", FRAMES, Audio(tone(1.0, 22_050), 22_050, 0.0), fps=10,
                                  audio_codec="flac", video_codec="ffv1")  # fmt: skip
    audio = read_audio(path, sample_rate=8_000)
    assert (
        audio is not None
        and audio.sample_rate == 8_000
        and len(audio.samples) == pytest.approx(8_000, abs=20)
    )
    with pytest.raises(ValueError, match="sample_rate"):
        read_audio(path, sample_rate=0)


@pytest.mark.parametrize(
    ("name", "codec", "tolerance"),
    [
        ("exact.mkv", "flac", 0.001),
        ("pcm.mkv", "pcm_s16le", 0.001),
        ("opus.mkv", None, 0.003),
        ("aac.mp4", None, 0.003),
    ],
)
def test_a_track_starting_late_keeps_its_pts_time(
    tmp_path: Path, name: str, codec: str | None, tolerance: float
) -> None:
    """Audio whose first packet is at 1.5 s: start (and the tone's onset at 2.0 s) on the video clock."""
    signal = tone(2.0, 22_050, silent_head=0.5)  # sound from 0.5 s into the track = 2.0 s into the video
    video_codec = "ffv1" if codec else "libx264"
    path = write_video_with_audio(tmp_path / name, FRAMES, Audio(signal, 22_050, 1.5), fps=10,
                                  audio_codec=codec, video_codec=video_codec)  # fmt: skip
    audio = read_audio(path)
    assert audio is not None
    # AAC's 1,024 priming samples come before the first real one: start is earlier, the onset is not.
    assert audio.start == pytest.approx(1.5, abs=0.05)
    assert onset(audio) == pytest.approx(2.0, abs=tolerance)
    assert audio.end == pytest.approx(3.5, abs=0.1)
    assert read_frames(path).timestamps[0] == 0.0  # frames keep their own (same) clock


def test_video_clock_origin_is_the_video_streams_start(tmp_path: Path) -> None:
    """Both streams shifted by 10 s (as in a cut from a broadcast): times count from the video's start."""
    path = tmp_path / "shifted.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "bgr0"
        audio = container.add_stream("flac", rate=16_000)
        audio.layout = "mono"
        audio.codec_context.time_base = Fraction(1, 16_000)
        for i, image in enumerate(FRAMES):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = 100 + i  # the video starts at 10.0 s in the file's timestamps
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        x = tone(1.0, 16_000)
        frame = av.AudioFrame.from_ndarray(x.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = (
            16_000,
            16_000 * 10 + 8_000,
            Fraction(1, 16_000),
        )  # 10.5 s
        for packet in [*audio.encode(frame), *audio.encode()]:
            container.mux(packet)
    audio_read = read_audio(path)
    assert audio_read is not None and audio_read.start == pytest.approx(0.5, abs=0.002)


def test_no_audio_stream_is_not_an_error(make_video) -> None:  # type: ignore[no-untyped-def]
    path = make_video("silent.mkv", n_frames=10)
    assert has_audio(path) is False
    assert read_audio(path) is None


def test_missing_file_is_a_decode_error(tmp_path: Path) -> None:
    with pytest.raises(DecodeError, match="file not found"):
        read_audio(tmp_path / "nope.mp4")
    with pytest.raises(DecodeError, match="file not found"):
        has_audio(tmp_path / "nope.mp4")


def _corrupt_audio_packets(path: Path, fraction: float, seed: int = 0) -> int:
    """Overwrite the payload of ``fraction`` of the audio packets with random bytes; returns how many."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        payloads = [(p.pos, bytes(p)) for p in container.demux(stream) if p.size > 0 and p.pos is not None]
    data = bytearray(path.read_bytes())
    # A packet's pos is where its container block starts; its payload lies a few header bytes on.
    spans = [(data.find(payload, pos), len(payload)) for pos, payload in payloads]
    assert all(at >= 0 for at, _ in spans)
    rng = np.random.default_rng(seed)
    chosen = (
        spans
        if fraction >= 1
        else [spans[i] for i in sorted(rng.choice(len(spans), round(fraction * len(spans)), replace=False))]
    )
    for pos, size in chosen:
        data[pos : pos + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return len(chosen)


def test_corrupt_audio_raises_a_clear_error_while_frames_still_decode(tmp_path: Path) -> None:
    path = write_video_with_audio(tmp_path / "bad.mkv", FRAMES, Audio(tone(2.0, 16_000), 16_000, 0.0), fps=10,
                                  audio_codec="flac", video_codec="ffv1")  # fmt: skip
    _corrupt_audio_packets(path, 1.0)
    assert has_audio(path) is True
    with pytest.raises(AudioDecodeError, match=r"cannot decode .*bad\.mkv: audio stream") as info:
        read_audio(path)
    assert isinstance(info.value, DecodeError)  # one error family for per-video failures
    frames = read_frames(path)
    assert len(frames.timestamps) == 2  # the visual side is untouched (1 fps over 2 s)


def test_a_few_bad_packets_become_silence_and_later_audio_keeps_its_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signal = tone(4.0, 16_000, silent_head=3.0)  # a tone from 3.0 s ...
    signal[: 16_000 * 2] = tone(2.0, 16_000)  # ... and one over 0-2 s, damaged below
    frames = [FRAMES[0]] * 40
    path = write_video_with_audio(tmp_path / "partly.mkv", frames, Audio(signal, 16_000, 0.0), fps=10,
                                  audio_codec="flac", video_codec="ffv1")  # fmt: skip
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [(p.pos, bytes(p), float(p.pts * p.time_base)) for p in container.demux(stream) if p.size]
    data = bytearray(path.read_bytes())
    damaged = 0
    for pos, payload, at in packets:
        if 0.5 <= at < 1.5:  # zero the payload of the packets inside the first tone's middle
            begin = data.find(payload, pos)
            data[begin : begin + len(payload)] = bytes(len(payload))
            damaged += 1
    path.write_bytes(bytes(data))
    assert 0 < damaged < len(packets) / 2
    audio = read_audio(path)
    assert audio is not None
    assert audio.duration == pytest.approx(4.0, abs=0.05)
    late = 40_000 + int(
        np.flatnonzero(np.abs(audio.samples[40_000:]) > 0.1)[0]
    )  # first loud sample after 2.5 s
    assert audio.start + late / 16_000 == pytest.approx(3.0, abs=0.002)
    assert np.abs(audio.samples[16_000 : 16_000 + 4_000]).max() < 1e-6  # the lost stretch is silence
    assert "partly corrupt" in caplog.text and "1 gap(s) filled with silence" in caplog.text
