"""Exact frame selection and timestamps for FixedFps / UniformN on tiny lossless (ffv1) videos."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from tests.video.video_helpers import fixed_fps_targets, frame_indices, naive_select

from chronolens.video import FixedFps, UniformN, iter_frames, read_frames


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        (1.0, [0, 10, 20]),  # 2.5 s video: targets 0, 1, 2 (partial last second still sampled at 2.0)
        (2.5, [0, 4, 8, 12, 16, 20, 24]),  # targets 0, 0.4, ..., 2.4
        (0.5, [0, 20]),  # targets 0, 2
    ],
)
def test_fixed_fps_selects_frame_shown_at_each_instant(
    make_video: Callable[..., Path], fps: float, expected: list[int]
) -> None:
    path = make_video(n_frames=25, fps=10)  # frames at 0.0, 0.1, ..., 2.4; duration 2.5 s
    frames = read_frames(path, fps)
    assert frame_indices(frames.images) == expected
    np.testing.assert_allclose(frames.timestamps, [i / 10 for i in expected], atol=1e-9)
    assert frames.images.dtype == np.uint8
    assert frames.images.shape == (len(expected), 48, 64, 3)
    assert frames.timestamps.dtype == np.float64


def test_first_and_last_frame_at_boundaries(make_video: Callable[..., Path]) -> None:
    # 2.5 s at 4 fps: targets 0, 0.25, ..., 2.25 -> frames 0, 2 (0.2), 5, 7 (0.7), ..., 22 (2.2).
    path = make_video(n_frames=25, fps=10)
    frames = read_frames(path, 4.0)
    assert frame_indices(frames.images)[0] == 0
    assert frames.timestamps[0] == 0.0
    assert frame_indices(frames.images) == [0, 2, 5, 7, 10, 12, 15, 17, 20, 22]


def test_last_instant_just_before_end_selects_last_frame(make_video: Callable[..., Path]) -> None:
    # 2.5 s at fps=1/2.4: targets 0 and 2.4 -> the last frame (index 24) is shown at 2.4.
    path = make_video(n_frames=25, fps=10)
    frames = read_frames(path, 1 / 2.4)
    assert frame_indices(frames.images) == [0, 24]
    np.testing.assert_allclose(frames.timestamps, [0.0, 2.4], atol=1e-9)


def test_faster_than_video_returns_each_frame_once(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=12, fps=4)  # 3 s, frames every 0.25 s
    frames = read_frames(path, 10.0)  # 30 targets, several per frame
    assert frame_indices(frames.images) == list(range(12))
    assert np.all(np.diff(frames.timestamps) > 0)


def test_ntsc_rate_uses_pts_not_index(make_video: Callable[..., Path]) -> None:
    rate = Fraction(30000, 1001)
    path = make_video("ntsc.mkv", n_frames=95, fps=rate)  # 3.17 s
    frames = read_frames(path, 1.0)
    # mkv stores ms timestamps: frame i is at round(i * 1001 / 30) ms.
    times = [round(i * 1001 / 30) / 1000 for i in range(95)]
    assert frame_indices(frames.images) == naive_select(times, fixed_fps_targets(times[-1] + 0.0334, 1.0))
    # 1.0 s falls between frame 29 (0.968 s) and frame 30 (1.001 s): frame 29 is shown then.
    assert frame_indices(frames.images) == [0, 29, 59, 89]
    np.testing.assert_allclose(frames.timestamps, [times[i] for i in (0, 29, 59, 89)], atol=1e-9)


def test_ntsc_rate_mp4_timebase(make_video: Callable[..., Path]) -> None:
    rate = Fraction(30000, 1001)
    path = make_video("ntsc.mp4", n_frames=95, fps=rate, codec="libx264", crf=0)
    frames = read_frames(path, 1.0)
    assert frame_indices(frames.images, tolerance=4) == [0, 29, 59, 89]
    np.testing.assert_allclose(frames.timestamps, [i * 1001 / 30000 for i in (0, 29, 59, 89)], atol=1e-6)


def test_uniform_n_takes_bin_centres(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=40, fps=10)  # 4 s; 4 bins of 1 s, centres 0.5, 1.5, 2.5, 3.5
    frames = read_frames(path, sampling=UniformN(n=4))
    assert frame_indices(frames.images) == [5, 15, 25, 35]
    np.testing.assert_allclose(frames.timestamps, [0.5, 1.5, 2.5, 3.5], atol=1e-9)


def test_uniform_n_more_than_frames_dedupes(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=5, fps=5)  # 1 s
    frames = read_frames(path, sampling=UniformN(n=12))
    assert frame_indices(frames.images) == [0, 1, 2, 3, 4]


def test_iter_frames_batches_in_time_order(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=50, fps=10)
    batches = list(iter_frames(path, FixedFps(fps=2.0), batch_size=3))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    indices = [i for b in batches for i in frame_indices(b.images)]
    assert indices == list(range(0, 50, 5))


def test_bad_batch_size_rejected(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=5)
    with pytest.raises(ValueError, match="batch_size"):
        list(iter_frames(path, batch_size=0))


def test_frames_at_returns_the_frame_shown_at_each_instant(make_video: Callable[..., Path]) -> None:
    from chronolens.video import frames_at

    path = make_video(n_frames=25, fps=10)  # 2.5 s, frame i shown on [i/10, (i+1)/10)
    frames = frames_at(path, [1.25, 0.0, 2.49, 1.21, 99.0])
    assert frame_indices(frames.images) == [0, 12, 24]  # 1.21 and 1.25 share frame 12; 99 s -> last
    np.testing.assert_allclose(frames.timestamps, [0.0, 1.2, 2.4], atol=1e-6)
