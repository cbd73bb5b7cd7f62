"""Unreadable inputs raise DecodeError naming file and cause; partly corrupt files yield what decodes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from tests.video.video_helpers import frame_indices

from chronolens.errors import DecodeError
from chronolens.video import Keyframes, UniformN, iter_frames, probe, read_frames


def _expect_decode_error(path: Path, cause: str) -> None:
    for call in (
        lambda: read_frames(path),
        lambda: probe(path),
        lambda: read_frames(path, sampling=Keyframes()),
    ):
        with pytest.raises(DecodeError, match=cause) as info:
            call()
        assert info.value.path == str(path)
        assert str(path) in str(info.value)
        assert "\n" not in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    _expect_decode_error(tmp_path / "nope.mp4", "file not found")


def test_directory(tmp_path: Path) -> None:
    _expect_decode_error(tmp_path, "is a directory")


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_decode_error(path, "not a readable media file")


def test_text_file_and_empty_file(tmp_path: Path) -> None:
    text = tmp_path / "notes.mkv"
    text.write_text("this is not a video\n" * 50)
    _expect_decode_error(text, "not a readable media file")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    _expect_decode_error(empty, "not a readable media file")


def test_audio_only(tmp_path: Path) -> None:
    path = tmp_path / "tone.mka"
    rate = 8000
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.layout = "mono"
        t = np.arange(rate) / rate
        samples = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16)[None, :]  # (1, rate)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    _expect_decode_error(path, r"no video stream \(streams found: audio\)")


def test_zero_frame_video(tmp_path: Path) -> None:
    path = tmp_path / "zero.avi"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        container.start_encoding()
    with av.open(str(path)) as container:
        assert len(container.streams.video) == 1  # a real video stream, just no frames
    _expect_decode_error(path, "video stream has no frames")


def test_truncated_to_header_only(make_video: Callable[..., Path], tmp_path: Path) -> None:
    full = make_video("full.mkv", n_frames=20).read_bytes()
    path = tmp_path / "truncated.mkv"
    path.write_bytes(full[:300])
    _expect_decode_error(path, "cannot decode")


def test_truncated_mp4_without_index(make_video: Callable[..., Path], tmp_path: Path) -> None:
    full = make_video("full.mp4", n_frames=20, codec="libx264").read_bytes()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(full[: len(full) // 2])
    _expect_decode_error(path, "not a readable media file")


def _corrupt_packets(src: Path, dst: Path, which: range) -> None:
    """Overwrite most of the payload of the packets in ``which`` with seeded random bytes."""
    with av.open(str(src)) as container:
        spans = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(0)
    for pos, size in (spans[i] for i in which):
        start = pos + size // 4
        data[start : pos + size] = rng.integers(0, 256, pos + size - start, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))


def test_partly_corrupt_yields_rest_and_warns(
    make_video: Callable[..., Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = make_video("ok.avi", n_frames=30, fps=10, codec="mpeg4", gop=5)
    bad = tmp_path / "bad.avi"
    _corrupt_packets(src, bad, range(10, 13))
    with caplog.at_level(logging.WARNING, logger="chronolens.video.reader"):
        frames = read_frames(bad, 100.0)  # every frame that decodes
    times = [round(float(t), 3) for t in frames.timestamps]
    assert times[:10] == [i / 10 for i in range(10)]
    assert 1.0 not in times and 1.1 not in times and 1.2 not in times
    assert times[-1] == 2.9
    assert len(frames) >= 20
    assert frame_indices(frames.images[:10], tolerance=12) == list(range(10))
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert str(bad) in warning
    assert "3 packet(s) failed to decode" in warning and "near t=1." in warning  # threads report late


def test_clean_file_logs_no_warning(
    make_video: Callable[..., Path], caplog: pytest.LogCaptureFixture
) -> None:
    path = make_video(n_frames=20)
    with caplog.at_level(logging.WARNING, logger="chronolens.video"):
        read_frames(path, sampling=UniformN(n=3))
        list(iter_frames(path, Keyframes()))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
