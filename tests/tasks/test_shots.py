"""Shot detection: histogram and embedding detectors exact to the frame on synthesized cut videos."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from chronolens.cli.main import main
from chronolens.errors import ChronolensError, DecodeError
from chronolens.tasks.shots import (
    CutRule,
    HistogramConfig,
    UnknownDetectorError,
    detect_shots,
    get_detector,
    list_detectors,
)
from chronolens.tasks.shots.base import pick_cuts, shots_from_cuts
from chronolens.video import read_frames, write_video

SCENES = [(200, 40, 40), (30, 160, 60), (40, 60, 200), (220, 220, 90)]


def scene_frames(
    n_frames: int, cut_frames: Sequence[int], size: tuple[int, int] = (48, 64)
) -> list[np.ndarray]:
    """Frames of shots with distinct colours and a small square moving inside each shot."""
    h, w = size
    rng = np.random.default_rng(0)
    shot = 0
    frames = []
    for i in range(n_frames):
        if shot < len(cut_frames) and i >= cut_frames[shot]:
            shot += 1
        frame = np.empty((h, w, 3), dtype=np.uint8)
        frame[:] = SCENES[shot % len(SCENES)]
        frame[: h // 2] //= 2  # two tones per scene
        x = (3 * i) % (w - 8)
        frame[20:28, x : x + 8] = (255, 255, 255)  # in-shot motion
        noise = rng.integers(-4, 5, size=frame.shape)
        frames.append(np.clip(frame.astype(int) + noise, 0, 255).astype(np.uint8))
    return frames


def cut_video(path: Path, n_frames: int, cut_frames: Sequence[int], fps: float, codec: str = "ffv1") -> Path:
    return write_video(path, scene_frames(n_frames, cut_frames), fps=fps, codec=codec)


@pytest.mark.parametrize(("fps", "codec"), [(25.0, "ffv1"), (12.5, "libx264")])
def test_histogram_cuts_are_the_first_frames_of_new_shots(tmp_path: Path, fps: float, codec: str) -> None:
    cuts = [20, 33, 61]
    path = cut_video(tmp_path / f"cuts.{'mkv' if codec == 'ffv1' else 'mp4'}", 80, cuts, fps, codec)
    pts = read_frames(path, sampling=None, fps=1000.0).timestamps  # every frame's exact PTS
    result = detect_shots(path, "histogram", library=tmp_path / "none")
    assert result.cuts == tuple(float(pts[k]) for k in cuts)
    assert result.n_frames == 80
    assert result.shots[0].start == 0.0 and result.shots[-1].end == pytest.approx(80 / fps)
    assert all(a.end == b.start for a, b in zip(result.shots, result.shots[1:], strict=False))
    assert len(result.cut_scores) == 3 and min(result.cut_scores) > 0.2


def test_min_shot_length_drops_the_weaker_of_two_close_cuts(tmp_path: Path) -> None:
    path = cut_video(tmp_path / "close.mkv", 60, [20, 23], 25.0)  # shot 1 lasts 3 frames (0.12 s)
    assert len(detect_shots(path, "histogram", library=tmp_path / "none").cuts) == 1
    loose = HistogramConfig(rule=CutRule(threshold=0.2, min_shot_s=0.0))
    assert detect_shots(path, "histogram", library=tmp_path / "none", config=loose).cuts == (0.8, 0.92)


def test_still_video_is_one_shot(tmp_path: Path) -> None:
    path = cut_video(tmp_path / "still.mkv", 30, [], 10.0)
    result = detect_shots(path, "histogram", library=tmp_path / "none")
    assert result.cuts == () and len(result.shots) == 1 and result.shots[0].end == pytest.approx(3.0)


def test_embedding_detector_is_exact_on_every_sampled_frame() -> None:
    rng = np.random.default_rng(1)
    ts = np.arange(40) / 8.0 + 0.0625  # PTS of 40 frames (start offset: not multiples of 1/8)
    base = rng.normal(size=(3, 16))
    owner = np.searchsorted([10, 27], np.arange(40), side="right")  # shots start at frames 10, 27
    emb = base[owner] + 0.05 * rng.normal(size=(40, 16))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    result = get_detector("embedding")("v.mp4", embeddings=emb, timestamps=ts, duration=5.1)
    assert result.cuts == (float(ts[10]), float(ts[27]))
    assert result.shots[-1].end == 5.1


def test_embedding_detector_without_embeddings_is_a_one_line_error() -> None:
    with pytest.raises(ChronolensError, match="needs frame embeddings"):
        get_detector("embedding")("v.mp4")


def test_pick_cuts_ratio_rejects_a_jump_inside_fast_motion() -> None:
    ts = np.arange(21) / 10.0
    jumps = np.full(20, 0.25)  # fast motion: every jump large
    jumps[10] = 0.3
    rule = CutRule(threshold=0.2, ratio=3.0, window=3)
    assert pick_cuts(jumps, ts, 2.1, rule)[0].size == 0
    jumps[:] = 0.01
    jumps[10] = 0.3
    assert pick_cuts(jumps, ts, 2.1, rule)[0].tolist() == [1.1]


def test_shots_from_cuts_tiles_the_video() -> None:
    spans = shots_from_cuts([0.0, 1.0, 1.0, 2.5, 9.0], 3.0)
    assert [(s.start, s.end) for s in spans] == [(0.0, 1.0), (1.0, 2.5), (2.5, 3.0)]


def test_unknown_detector_suggests_the_closest_name(tmp_path: Path) -> None:
    assert list_detectors() == ["embedding", "histogram", "transnetv2"]
    with pytest.raises(UnknownDetectorError, match="did you mean 'histogram'"):
        detect_shots(tmp_path / "x.mp4", "histgram")


def test_cli_shots_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = cut_video(tmp_path / "cuts.mkv", 50, [25], 25.0)
    assert main(["shots", str(path), "--library", str(tmp_path / "none"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["detector"] == "histogram" and payload["shots"] == [[0.0, 1.0], [1.0, 2.0]]
    assert main(["shots", str(path), "--library", str(tmp_path / "none")]) == 0
    assert "2 shots" in capsys.readouterr().out
    assert main(["shots", str(path), "--detector", "transnet"]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'transnetv2'" in err and len(err.strip().splitlines()) == 1


def test_zero_frame_video_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fractions import Fraction

    import av

    path = tmp_path / "zero.avi"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height = 64, 48
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        container.start_encoding()
    with pytest.raises(DecodeError, match="no frames"):
        detect_shots(path, "histogram", library=tmp_path / "none")
    assert main(["shots", str(path), "--library", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert "no frames" in err and len(err.strip().splitlines()) == 1
