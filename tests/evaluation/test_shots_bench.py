"""``chronolens bench shots``: the sets' true cuts, and the runner end to end on tiny sets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.library.colorhist import ColorHistEncoder

from chronolens.cli.main import main
from chronolens.data.synth import SynthConfig, generate, load_synth
from chronolens.evaluation.shots import (
    BIKES_CUT_FRAMES,
    bikes_video,
    render_multiscene,
    run_shot_bench,
    synth_cut_videos,
)
from chronolens.video import read_frames


def test_synth_cuts_are_the_first_frames_showing_the_new_background(tmp_path: Path) -> None:
    ds = generate(
        tmp_path / "synth", SynthConfig(videos=2, seed=7, split="test", formats=False), progress=False
    )
    videos = synth_cut_videos(tmp_path / "synth")
    assert len(videos) == 2 and sum(len(v.cuts) for v in videos) >= 1  # seed 7: video 1 cuts
    for video, cut_video in zip(ds.split("test"), videos, strict=True):
        starts = [e.start for e in video.events if e.kind == "scene_cut"]
        assert len(cut_video.cuts) == len(starts)
        for t, start in zip(cut_video.cuts, starts, strict=True):
            assert t >= start - 1e-9 and t - 1.0 / video.fps < start  # first frame at or after it
    assert load_synth(tmp_path / "synth").root


def test_multiscene_videos_cut_where_recorded_and_are_cached(tmp_path: Path) -> None:
    videos = render_multiscene(tmp_path / "ms", videos=1, seed=3)
    assert len(videos) == 1 and len(videos[0].cuts) >= 3
    pts = read_frames(videos[0].path, fps=1000.0).timestamps
    frame_times = set(pts.round(6).tolist())
    assert all(round(c, 6) in frame_times for c in videos[0].cuts)  # every cut is a frame's PTS
    mtime = Path(videos[0].path).stat().st_mtime_ns
    assert render_multiscene(tmp_path / "ms", videos=1, seed=3) == videos
    assert Path(videos[0].path).stat().st_mtime_ns == mtime  # reused, not re-rendered


def test_runner_scores_histogram_and_embedding(tmp_path: Path) -> None:
    assert ColorHistEncoder  # importing it registers the "testcolor:" encoder scheme
    sets = {"multiscene": render_multiscene(tmp_path / "ms", videos=1, seed=3)}
    report = run_shot_bench(
        sets, detectors=["histogram", "embedding"], library_dir=tmp_path / "lib", model="testcolor:x"
    )
    histogram, embedding = report.sets["multiscene"]
    assert histogram.detector == "histogram" and histogram.frame.f1 == 1.0
    assert histogram.frames_per_second > 0 and histogram.n_frames > 50
    assert embedding.n_frames < histogram.n_frames  # 1 fps samples, not every frame
    assert report.cuts["multiscene"] == len(sets["multiscene"][0].cuts)


def test_bikes_truth() -> None:
    bikes = bikes_video("bikes.mp4")
    assert bikes is not None and bikes.cuts == tuple(k / 25 for k in BIKES_CUT_FRAMES)


def test_cli_bench_shots_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    args = ["bench", "shots", "--videos", "2", "--multiscene", "1", "--detectors", "histogram", "--json"]
    assert main(args) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload["sets"]) >= {"synth", "multiscene"}
    assert payload["sets"]["multiscene"]["detectors"][0]["frame"]["f1"] == 1.0
    assert main(["bench", "shots", "--detectors", "histogam"]) == 1
    assert "did you mean 'histogram'" in capsys.readouterr().err
