"""Keyframes: one per shot first, then by embedding diversity; images written atomically."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from tests.library.colorhist import COLORS, ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.errors import ChronolensError
from chronolens.library import Library
from chronolens.tasks import keyframes as kf
from chronolens.tasks.keyframes import INDEX_NAME, keyframes, select_keyframes, write_keyframes
from chronolens.tasks.shots import ShotResult
from chronolens.tasks.shots.base import shots_from_cuts
from chronolens.video import FixedFps


def _shots(cuts: list[float], duration: float) -> ShotResult:
    return ShotResult(
        video="v",
        detector="histogram",
        duration=duration,
        shots=shots_from_cuts(cuts, duration),
        cut_scores=tuple(0.5 for _ in cuts),
    )


def _unit(rows: list[list[float]]) -> np.ndarray:
    e = np.asarray(rows, dtype=np.float32)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


# 9 samples at 0..8 s; shots [0, 3), [3, 6), [6, 9). Shot 1 holds an outlier at t=5.
TS = np.arange(9, dtype=np.float64)
EMB = _unit(
    [
        [1, 0, 0, 0],
        [1, 0.25, 0, 0],  # nearest shot 0's centroid
        [1, 0.6, 0, 0],
        [0, 1, 0.2, 0],
        [0, 1, 0, 0],  # nearest shot 1's centroid
        [0, 0.3, 0, 1],  # outlier inside shot 1
        [0, 0, 1, 0.3],
        [0, 0, 1, 0],  # nearest shot 2's centroid
        [0.1, 0, 1, 0],
    ]
)
SHOTS = _shots([3.0, 6.0], 9.0)


def test_one_keyframe_per_shot_at_the_sample_nearest_its_centroid() -> None:
    picks = select_keyframes(SHOTS, 3, EMB, TS)
    assert [(k.time, k.shot, k.reason) for k in picks] == [
        (1.0, 0, "shot"),
        (4.0, 1, "shot"),
        (7.0, 2, "shot"),
    ]


def test_extra_budget_goes_to_the_most_different_frames() -> None:
    picks = select_keyframes(SHOTS, 4, EMB, TS)
    assert len(picks) == 4
    extra = [k for k in picks if k.reason == "diversity"]
    assert [(k.time, k.shot) for k in extra] == [(5.0, 1)]  # the outlier, the farthest from every pick


def test_fewer_budget_than_shots_keeps_the_most_different_shots() -> None:
    shots = _shots([3.0, 6.0], 10.0)  # shot 2 is [6, 10): the longest, the seed
    emb = EMB.copy()
    emb[3:6] = emb[6:9]  # shot 1 now looks like shot 2
    picks = select_keyframes(shots, 2, emb, TS)
    assert sorted(k.shot for k in picks) == [0, 2]


def test_budget_is_an_upper_bound_when_samples_run_out() -> None:
    assert len(select_keyframes(SHOTS, 50, EMB, TS)) == 9
    assert len({k.time for k in select_keyframes(SHOTS, 50, EMB, TS)}) == 9
    with pytest.raises(ValueError, match="budget"):
        select_keyframes(SHOTS, 0, EMB, TS)


def test_without_embeddings_middle_frames_then_the_longest_gaps() -> None:
    picks = select_keyframes(SHOTS, 4)
    assert [k.time for k in picks if k.reason == "shot"] == [1.5, 4.5, 7.5]
    assert [k.time for k in picks if k.reason == "diversity"] == [3.0]  # middle of the gap [1.5, 4.5)


def test_a_shot_without_samples_gets_its_middle_instant() -> None:
    shots = _shots([3.2, 3.6], 9.0)  # shot 1 is [3.2, 3.6): no sample in it
    picks = select_keyframes(shots, 3, EMB, TS)
    assert (3.4, 1) in [(round(k.time, 6), k.shot) for k in picks]


@pytest.fixture
def video_and_library(tmp_path: Path) -> tuple[Path, Library]:
    video = segment_video(tmp_path / "v" / "a.mkv", [("blue", 2.0), ("red", 2.0), ("yellow", 2.0)], fps=10)
    lib = Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testcolor:x"), sampling=FixedFps(fps=2))
    chronolens.index(lib, [video], progress=False)
    return video, lib


def test_keyframes_of_an_indexed_video_cover_every_shot(video_and_library: tuple[Path, Library]) -> None:
    video, lib = video_and_library
    with lib:
        picks = keyframes(video, 3, library=lib)
    assert [k.shot for k in picks] == [0, 1, 2] and all(k.reason == "shot" for k in picks)


def test_write_keyframes_png_holds_the_exact_frames(
    video_and_library: tuple[Path, Library], tmp_path: Path
) -> None:
    video, lib = video_and_library
    out = tmp_path / "kf"
    with lib:
        result = write_keyframes(video, out, 3, fmt="png", library=lib)
    index = json.loads((out / INDEX_NAME).read_text())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [INDEX_NAME, *(k["file"] for k in index["keyframes"])]
    )
    assert [k.time for k in result.keyframes] == [k["time"] for k in index["keyframes"]]
    colours = []
    for k in result.keyframes:
        with av.open(str(out / str(k.file))) as container:
            colours.append(tuple(next(container.decode(video=0)).to_ndarray(format="rgb24")[0, 0]))
    assert colours == [COLORS["blue"], COLORS["red"], COLORS["yellow"]]


def test_jpeg_keyframes_and_resizing(video_and_library: tuple[Path, Library], tmp_path: Path) -> None:
    video, lib = video_and_library
    with lib:
        result = write_keyframes(video, tmp_path / "kf", 2, size=16, library=lib)
    with av.open(str(tmp_path / "kf" / str(result.keyframes[0].file))) as container:
        frame = next(container.decode(video=0))
    assert (frame.height, frame.width) == (16, 24)


def test_a_failed_write_leaves_the_previous_directory_untouched(
    video_and_library: tuple[Path, Library], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, lib = video_and_library
    out = tmp_path / "kf"
    with lib:
        write_keyframes(video, out, 2, library=lib)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        calls = {"n": 0}
        real = kf.encode_image

        def failing(image: np.ndarray, fmt: kf.ImageFormat) -> bytes:
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full")
            return real(image, fmt)

        monkeypatch.setattr(kf, "encode_image", failing)
        with pytest.raises(OSError, match="disk full"):
            write_keyframes(video, out, 3, library=lib)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kf", "lib", "v"]  # no .partial left


def test_an_unrelated_directory_is_refused(video_and_library: tuple[Path, Library], tmp_path: Path) -> None:
    video, lib = video_and_library
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with lib, pytest.raises(ChronolensError, match="holds other files"):
        write_keyframes(video, tmp_path / "mine", 2, library=lib)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_cli_keyframes(
    video_and_library: tuple[Path, Library], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, lib = video_and_library
    lib.close()
    args = [
        "keyframes",
        str(video),
        "--budget",
        "4",
        "--out",
        str(tmp_path / "kf"),
        "--library",
        str(tmp_path / "lib"),
    ]
    assert main([*args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["keyframes"]) == 4 and payload["detector"] == "histogram"
    assert main([*args, "--format", "gif"]) == 2  # argparse usage error
    capsys.readouterr()
    assert main(["keyframes", str(tmp_path / "nope.mp4"), "--budget", "2", "--out", str(tmp_path / "o")]) == 1
    assert "no such video file" in capsys.readouterr().err
