"""Clips: a span of a video cut into its own mp4 (``chronolens.video.clips``)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from tests.media import index_color

from chronolens.errors import DecodeError, MissingDependencyError
from chronolens.video import clips
from chronolens.video.clips import Clip, clip_codec, clip_name, write_clip, write_clips

N_FRAMES = 50  # 5 s at 10 fps
FPS = 10


def _decode(path: Path) -> tuple[list[np.ndarray], list[float], str, Fraction]:
    """Every frame of ``path`` (RGB), its timestamps in seconds, the codec and the average rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        images, times = [], []
        for frame in container.decode(stream):
            images.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.pts * stream.time_base))
        return images, times, stream.codec_context.name, Fraction(stream.average_rate)


def _indices(images: list[np.ndarray]) -> list[int]:
    """The source frame index each (lossy) frame shows: the nearest ``index_color``."""
    palette = np.array([index_color(i) for i in range(N_FRAMES)], np.float64)  # (N, 3)
    means = np.array([im.reshape(-1, 3).mean(axis=0) for im in images])  # (M, 3)
    return [int(i) for i in np.argmin(((means[:, None] - palette[None]) ** 2).sum(-1), axis=1)]


@pytest.mark.parametrize("codec", ["ffv1", "libx264"])
def test_clip_holds_exactly_the_frames_of_the_span(
    codec: str, make_video: Callable[..., Path], tmp_path: Path
) -> None:
    # libx264 source with 10-frame GOPs: the clip starts by seeking to the keyframe at 1.0 s.
    extra = {"gop": 10} if codec == "libx264" else {}
    source = make_video(f"src-{codec}.mkv", n_frames=N_FRAMES, fps=FPS, codec=codec, **extra)
    out = write_clip(Clip(video=str(source), start=1.23, end=2.77, path=tmp_path / "clip.mp4"))
    images, times, name, rate = _decode(out)
    assert name == "h264" and rate == FPS
    # [1.23, 2.77) rounded to whole frames: frame 12 (shown from 1.2 s) .. frame 27 (2.7 s).
    assert _indices(images) == list(range(12, 28))
    assert times[0] == pytest.approx(0.0) and len(images) / FPS == pytest.approx(1.54, abs=1 / FPS)
    assert images[0].shape == (48, 64, 3)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_clip_at_the_start_and_the_end(make_video: Callable[..., Path], tmp_path: Path) -> None:
    source = make_video("src.mkv", n_frames=N_FRAMES, fps=FPS)
    head = write_clip(Clip(video=str(source), start=0.0, end=0.5, path=tmp_path / "head.mp4"))
    tail = write_clip(Clip(video=str(source), start=4.5, end=5.0, path=tmp_path / "tail.mp4"))
    assert _indices(_decode(head)[0]) == [0, 1, 2, 3, 4]
    assert _indices(_decode(tail)[0]) == [45, 46, 47, 48, 49]


def test_odd_frame_size_is_cut_to_even(make_video: Callable[..., Path], tmp_path: Path) -> None:
    source = make_video("odd.mkv", n_frames=20, fps=FPS, size=(45, 63))
    out = write_clip(Clip(video=str(source), start=0.0, end=1.0, path=tmp_path / "odd.mp4"))
    images = _decode(out)[0]
    assert len(images) == 10 and images[0].shape == (44, 62, 3)


def test_mpeg4_fallback_when_libx264_is_missing(
    make_video: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clips.av, "codecs_available", {"mpeg4", "h264", "ffv1"})
    assert clip_codec() == "mpeg4"
    source = make_video("src.mkv", n_frames=N_FRAMES, fps=FPS)
    (out,) = write_clips(
        [Clip(video=str(source), start=2.0, end=3.0, path=tmp_path / "c.mp4")], progress=False
    )
    images, _, name, _ = _decode(out)
    assert name == "mpeg4" and _indices(images) == list(range(20, 30))
    monkeypatch.setattr(clips.av, "codecs_available", {"h264"})
    with pytest.raises(MissingDependencyError, match="libx264, mpeg4"):
        clip_codec()


def test_span_without_frames_and_failed_encodes_leave_nothing(
    make_video: Callable[..., Path], tmp_path: Path
) -> None:
    source = make_video("src.mkv", n_frames=N_FRAMES, fps=FPS)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(DecodeError, match="no frame between"):
        write_clip(Clip(video=str(source), start=7.0, end=8.0, path=out_dir / "late.mp4"))
    with pytest.raises(ValueError, match="end > start"):
        write_clip(Clip(video=str(source), start=2.0, end=2.0, path=out_dir / "empty.mp4"))
    with pytest.raises(Exception):  # noqa: B017 - any encoder error; what matters is what is left
        write_clip(Clip(video=str(source), start=1.0, end=2.0, path=out_dir / "bad.mp4"), codec="nosuch")
    assert list(out_dir.iterdir()) == []


def test_clip_names() -> None:
    assert clip_name(1, "/v/talk.mp4", 12.5, 18.5) == "01-talk-0m12.5s-0m18.5s.mp4"
    assert clip_name(12, "cam 2.mkv", 59.96, 75.04) == "12-cam 2-1m00.0s-1m15.0s.mp4"
    assert clip_name(3, "x.mp4", 0.0, 3723.4) == "03-x-0m00.0s-62m03.4s.mp4"
