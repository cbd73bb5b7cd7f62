"""GOP skipping gives the frames a full sequential decode would pick; keyframes-only mode; the selector."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from tests.video.video_helpers import fixed_fps_targets, naive_select

from chronolens.video import FixedFps, Keyframes, UniformN, read_frames, write_video
from chronolens.video import reader as reader_module
from chronolens.video.decoder import Decoder
from chronolens.video.seek import KeyframeIndex, TargetSelector, sampling_targets


def _noise_frames(n: int, size: tuple[int, int] = (64, 96), seed: int = 0) -> list[np.ndarray]:
    """Distinct textured frames (a moving noise pattern) that H.264 codes with P and B frames."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(size[0], size[1] * 2, 3), dtype=np.uint8)
    return [np.ascontiguousarray(np.roll(base, 3 * i, axis=1)[:, : size[1]]) for i in range(n)]


def _full_decode(path: Path) -> tuple[list[float], list[np.ndarray], list[bool]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        times, images, keys = [], [], []
        for frame in container.decode(stream):
            times.append(float((frame.pts - start) * stream.time_base))
            images.append(frame.to_ndarray(format="rgb24"))
            keys.append(bool(frame.key_frame))
        return times, images, keys


@pytest.fixture(scope="module")
def h264_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 6.4 s at 25 fps, a keyframe every 10 frames (0.4 s), B-frames on (x264 default).
    path = tmp_path_factory.mktemp("gop") / "gop.mp4"
    return write_video(path, _noise_frames(160), fps=25, codec="libx264", gop=10, crf=30)


@pytest.mark.parametrize("sampling", [FixedFps(fps=1.0), FixedFps(fps=0.7), FixedFps(fps=3.0), UniformN(n=7)])
def test_gop_skipping_matches_full_decode(h264_gop: Path, sampling: FixedFps | UniformN) -> None:
    times, images, _ = _full_decode(h264_gop)
    duration = times[-1] + 1 / 25
    targets = (
        fixed_fps_targets(duration, sampling.fps)
        if isinstance(sampling, FixedFps)
        else list(sampling_targets(sampling, duration))
    )
    expected = naive_select(times, targets)
    got = read_frames(h264_gop, sampling=sampling)
    np.testing.assert_allclose(got.timestamps, [times[i] for i in expected], atol=1e-9)
    for image, i in zip(got.images, expected, strict=True):
        np.testing.assert_array_equal(image, images[i])


def test_gop_skipping_really_seeks(h264_gop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seeks: list[int] = []
    real_seek = Decoder.seek

    def spy(self: Decoder, pts: int) -> None:
        seeks.append(pts)
        real_seek(self, pts)

    monkeypatch.setattr(Decoder, "seek", spy)
    frames = read_frames(h264_gop, 1.0)
    assert len(frames) == 7
    # Targets 1..6 s each lie past a keyframe that is after the previous pick: one seek per target.
    assert len(seeks) == 6


def test_keyframes_mode_returns_exactly_the_keyframes(h264_gop: Path) -> None:
    times, images, keys = _full_decode(h264_gop)
    expected = [i for i, k in enumerate(keys) if k]
    assert expected == list(range(0, 160, 10))
    got = read_frames(h264_gop, sampling=Keyframes())
    np.testing.assert_allclose(got.timestamps, [times[i] for i in expected], atol=1e-9)
    for image, i in zip(got.images, expected, strict=True):
        np.testing.assert_array_equal(image, images[i])


def test_selector_streaming_rule() -> None:
    selector: TargetSelector[str] = TargetSelector(np.array([0.0, 1.0, 1.05, 3.0]))
    assert selector.push(0.2, "a") is None  # target 0 precedes the first frame: it selects "a"
    assert selector.push(0.9, "b") == "a"
    assert selector.push(1.0, "c") is None  # "b" ends at 1.0: not shown at 1.0
    assert selector.push(1.5, "d") == "c"  # 1.0 and 1.05 both select "c" (returned once)
    assert selector.push(2.0, "e") is None
    assert selector.next_target == 3.0
    assert selector.finish() == "e"  # the last frame is still shown at 3.0
    assert selector.done


def test_selector_seek_decision() -> None:
    selector: TargetSelector[str] = TargetSelector(np.array([0.0, 2.0]))
    keys = [0.0, 1.0, 2.0, 3.0]
    selector.push(0.0, "a")
    assert selector.seek_target(keys) is None  # "a" is selected by 0.0 and still held
    selector.push(0.1, "b")
    assert selector.seek_target(keys) == 2  # keyframe 2.0 <= next target 2.0, after 0.1
    selector.release()
    selector.push(1.95, "x")
    assert selector.seek_target(keys) == 2  # still a keyframe in (1.95, 2.0]
    selector.release()
    selector.push(2.0, "k")
    assert selector.seek_target(keys) is None  # already at the last keyframe before the target
    selector2: TargetSelector[str] = TargetSelector(np.array([0.0, 2.5]))
    selector2.push(0.0, "a")
    selector2.push(2.1, "b")
    assert selector2.seek_target(keys) is None  # keyframe 2.0 is before the held frame


def test_sampling_targets_partial_last_second() -> None:
    np.testing.assert_array_equal(sampling_targets(FixedFps(fps=1.0), 2.5), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(sampling_targets(FixedFps(fps=1.0), 3.0), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(sampling_targets(FixedFps(fps=1.0), 0.0), [0.0])
    np.testing.assert_allclose(sampling_targets(UniformN(n=2), 3.0), [0.75, 2.25])


def _expected_at_1fps(path: Path) -> tuple[list[float], list[np.ndarray]]:
    times, images, _ = _full_decode(path)
    picked = naive_select(times, fixed_fps_targets(times[-1] + 1 / 25, 1.0))
    return [times[i] for i in picked], [images[i] for i in picked]


def test_bogus_keyframe_index_still_exact(h264_gop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeking to a 'keyframe' that is not one lands earlier; frames stay exact."""
    real_scan = reader_module.scan_keyframes

    def bogus(*args: object, **kwargs: object) -> KeyframeIndex:
        index = real_scan(*args, **kwargs)  # type: ignore[arg-type]
        # Claim a keyframe every 0.2 s (every 5th frame at 25 fps): only every other one is real.
        pts = [p // 2 for p in index.keyframe_pts] + index.keyframe_pts
        pts = sorted(set(pts))
        scale = index.keyframe_times[1] / index.keyframe_pts[1]
        return KeyframeIndex(
            keyframe_pts=pts,
            keyframe_times=[p * scale for p in pts],
            n_packets=index.n_packets,
            end=index.end,
            complete=True,
        )

    monkeypatch.setattr(reader_module, "scan_keyframes", bogus)
    times, images = _expected_at_1fps(h264_gop)
    got = read_frames(h264_gop, 1.0)
    np.testing.assert_allclose(got.timestamps, times, atol=1e-9)
    for a, b in zip(got.images, images, strict=True):
        np.testing.assert_array_equal(a, b)


def test_seek_overshoot_falls_back_to_sequential(h264_gop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A seek that lands after the requested keyframe triggers the exact sequential fallback."""
    real_seek = Decoder.seek
    calls: list[int] = []

    def late_seek(self: Decoder, pts: int) -> None:
        calls.append(pts)
        # The first seek jumps one GOP too far (as a broken index would); later ones are honest.
        step = int(0.4 / self.stream.time_base) if len(calls) == 1 else 0
        real_seek(self, pts + step)

    monkeypatch.setattr(Decoder, "seek", late_seek)
    times, images = _expected_at_1fps(h264_gop)
    got = read_frames(h264_gop, 1.0)
    np.testing.assert_allclose(got.timestamps, times, atol=1e-9)
    for a, b in zip(got.images, images, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(calls) == 2  # the bad seek, then the fallback; no seeking after that
