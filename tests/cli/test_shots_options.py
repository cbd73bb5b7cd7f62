"""``index --shots`` and ``--snap shots`` on ``search`` / ``ground`` (issue 20, item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.library.colorhist import segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.library.shots import load_shots

MODEL = "testcolor:cli"  # the colour-histogram test encoder, registered by tests.library.colorhist
FPS = 10
# a.mkv: cuts at 1.5 s and 4.0 s; b.mkv: one cut at 2.0 s.
CUTS = {"a.mkv": (1.5, 4.0), "b.mkv": (2.0,)}


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    segment_video(folder / "a.mkv", [("blue", 1.5), ("red", 2.5), ("yellow", 2.0)], fps=FPS)
    segment_video(folder / "b.mkv", [("red", 2.0), ("green", 2.0)], fps=FPS)
    return folder


def _index(videos: Path, root: Path, *extra: str, fps: str = "10") -> int:
    return main(["-q", "index", str(videos), "--library", str(root), "--model", MODEL, "--fps", fps, *extra])


def _boundaries(root: Path) -> dict[str, set[float]]:
    with chronolens.Library.open(root, create=False, read_only=True) as lib:
        out = {}
        for record in lib.videos():
            stored = load_shots(lib.catalog, record.id)
            assert stored is not None
            out[Path(record.path).name] = {round(t, 6) for row in stored.rows for t in row[:2]}
        return out


def test_index_shots_stores_every_videos_cuts(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "lib"
    assert _index(videos, root, "--shots", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shots"]["detector"] == "histogram"
    assert len(report["shots"]["stored"]) == 2 and report["shots"]["failed"] == {}
    bounds = _boundaries(root)
    for name, cuts in CUTS.items():
        assert set(cuts) <= bounds[name]
    # A second run finds them current.
    assert _index(videos, root, "--shots", "embedding", "--json") == 0
    again = json.loads(capsys.readouterr().out)["shots"]
    assert again["detector"] == "embedding" and len(again["stored"]) == 2  # another detector: stored anew
    assert _index(videos, root, "--shots", "embedding", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["shots"]["unchanged"]) == 2


def test_search_and_ground_snap_moment_edges_to_shot_boundaries(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "lib"
    assert _index(videos, root, "--shots", fps="1") == 0  # 1 fps: moments are coarse, shots exact
    capsys.readouterr()
    bounds = _boundaries(root)
    assert main(["search", "red", "--library", str(root), "--snap", "shots", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert results
    for hit in results:
        edges = bounds[Path(hit["video"]).name]
        for start, end, _ in hit["moments"]:
            near = [min(edges, key=lambda b, t=t: abs(b - t)) for t in (start, end)]
            if near[0] == near[1] and min(abs(start - near[0]), abs(end - near[1])) <= 1.0:
                continue  # both edges would land on one boundary: the rule keeps the moment as it was
            for t in (start, end):  # on a boundary, or farther than the 1 s tolerance from all
                assert round(t, 6) in edges or min(abs(t - b) for b in edges) > 1.0
    assert (
        main(["ground", str(videos / "a.mkv"), "red", "--library", str(root), "--snap", "shots", "--json"])
        == 0
    )
    windows = json.loads(capsys.readouterr().out)["windows"]
    assert main(["ground", str(videos / "a.mkv"), "red", "--library", str(root), "--json"]) == 0
    unsnapped = json.loads(capsys.readouterr().out)["windows"]
    assert unsnapped[0][:2] != pytest.approx([1.5, 4.0])  # 1 fps samples end the red part early
    assert windows[0][:2] == pytest.approx([1.5, 4.0])  # snapped: the red shot, exactly


def test_shots_option_errors(videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "lib"
    assert _index(videos, root, "--shots", "histogrm") == 1
    assert "histogram" in capsys.readouterr().err  # did you mean
    assert not root.exists()  # failed before any indexing
    assert main(["-q", "index", str(videos), "--library", str(root), "--features", "--shots"]) == 2
    assert "--shots embedding" in capsys.readouterr().err
