"""Managing a library (issue 17, item 4): ``chronolens remove`` and ``chronolens export``."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import av
import pytest
from tests.library.colorhist import segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.ingest.remove import remove
from chronolens.library.ann import AnnConfig
from chronolens.tasks.export import CSV_HEADER, DEFAULT_EDL_FPS, export_edl
from chronolens.tasks.search import SearchResult
from chronolens.timebase import Moment

MODEL = "testcolor:cli"  # the colour-histogram test encoder, registered by tests.library.colorhist
FPS = 10  # frame rate of the synthesized videos
# One CMX 3600 event: number, reel, track V, cut, source in/out, record in/out.
TC = r"(\d\d):(\d\d):(\d\d):(\d\d)"
EVENT = re.compile(rf"^(\d{{3}})  (\S+)\s+V\s+C\s+{TC} {TC} {TC} {TC}$")


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    segment_video(folder / "a.mkv", [("blue", 3), ("red", 3), ("blue", 4)], fps=FPS)
    segment_video(folder / "sub" / "b.mkv", [("green", 2), ("red", 4)], fps=FPS)
    segment_video(folder / "sub" / "c.mkv", [("red", 2), ("yellow", 3)], fps=FPS)
    return folder


@pytest.fixture
def library(videos: Path, tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    assert main(["-q", "index", str(videos), "--library", str(root), "--model", MODEL]) == 0
    return root


def _embeddings(root: Path) -> dict[str, Path]:
    """Video path -> its embeddings file, as the catalog says."""
    with chronolens.Library.open(root, create=False) as lib:
        return {r.path: root / "embeddings" / str(r.embeddings) for r in lib.videos()}


def _found(root: Path, query: str = "red") -> set[str]:
    return {Path(r.video).name for r in chronolens.search(root, query, top_k=10)}


# --- remove ----------------------------------------------------------------------------------------


def test_remove_a_file(library: Path, videos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _embeddings(library)
    target = str(videos / "sub" / "b.mkv")
    assert _found(library) == {"a.mkv", "b.mkv", "c.mkv"}
    capsys.readouterr()
    assert main(["remove", target, "--library", str(library)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"removed {target}" and out[-1].startswith("removed 1 video(s)")
    assert not files[target].exists()  # its embeddings file is gone, the others stay
    assert all(p.exists() for path, p in files.items() if path != target)
    assert _found(library) == {"a.mkv", "c.mkv"}
    assert main(["info", "--library", str(library), "--json", "--videos"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_indexed"] == 2 and target not in {v["path"] for v in info["videos"]}


def test_remove_a_folder_relative_path(
    library: Path, videos: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(videos)  # "sub" resolves against the working directory, as `index` does
    assert main(["remove", "sub", "--library", str(library), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {
        "removed": [str(videos / "sub" / "b.mkv"), str(videos / "sub" / "c.mkv")],
        "not_found": [],
        "n_frames": 11,
        "dry_run": False,
    }
    assert _found(library) == {"a.mkv"}
    assert sorted(p.name for p in (library / "embeddings").iterdir()) == [
        _embeddings(library).popitem()[1].name
    ]


def test_remove_unknown_path_is_one_line_and_exit_1(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _embeddings(library)
    unknown = tmp_path / "elsewhere" / "x.mp4"
    assert main(["remove", str(unknown), "--library", str(library)]) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("chronolens: error: not in library") and str(unknown) in line
    assert captured.out == "" and _embeddings(library) == before
    # Some removed, some unknown: exit 0, a warning naming the unknown one.
    known = next(iter(before))
    assert main(["remove", known, str(unknown), "--library", str(library)]) == 0
    (warning,) = capsys.readouterr().err.strip().splitlines()
    assert "warning" in warning and str(unknown) in warning
    assert main(["remove", str(unknown), "--library", str(library), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["not_found"] == [str(unknown)]


def test_remove_dry_run_changes_nothing(
    library: Path, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _embeddings(library)
    manifest = (library / "manifest.json").read_text()
    assert main(["remove", str(videos / "sub"), "--library", str(library), "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"would remove {videos / 'sub' / 'b.mkv'}", f"would remove {videos / 'sub' / 'c.mkv'}"]
    assert "dry run: nothing changed" in out[-1]
    assert _embeddings(library) == before and all(p.exists() for p in before.values())
    assert (library / "manifest.json").read_text() == manifest
    assert _found(library) == {"a.mkv", "b.mkv", "c.mkv"}


def test_remove_a_video_whose_file_is_gone(library: Path, videos: Path) -> None:
    (videos / "a.mkv").unlink()
    with chronolens.Library.open(library, create=False) as lib:
        report = remove(lib, [videos / "a.mkv"])
        assert report.removed == [str(videos / "a.mkv")] and report.not_found == []
        assert str(videos / "a.mkv") not in {r.path for r in lib.videos()}


def test_search_after_remove_on_the_same_open_library(library: Path, videos: Path) -> None:
    """An open library's in-memory caches and its approximate index follow the removal."""
    with chronolens.Library.open(
        library, create=False, ann=AnnConfig(min_frames=1, candidate_frames=64)
    ) as lib:
        assert {Path(r.video).name for r in chronolens.search(lib, "red")} == {"a.mkv", "b.mkv", "c.mkv"}
        assert remove(lib, [videos / "sub" / "c.mkv"]).removed == [str(videos / "sub" / "c.mkv")]
        assert {Path(r.video).name for r in chronolens.search(lib, "red")} == {"a.mkv", "b.mkv"}
    # A fresh process sees the same thing.
    assert _found(library) == {"a.mkv", "b.mkv"}


# --- export ----------------------------------------------------------------------------------------


def _search(root: Path) -> list[SearchResult]:
    return chronolens.search(root, "red", top_k=3, moments_per_video=2)


def test_export_csv_parses_back(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "red", "--library", str(library), "--top-k", "3", "--moments", "2"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == CSV_HEADER
    expected = [
        (rank, r.video, r.score, i, m)
        for rank, r in enumerate(_search(library), 1)
        for i, m in enumerate(r.moments, 1)
    ]
    assert len(rows) - 1 == len(expected) == 6
    for row, (rank, video, score, i, m) in zip(rows[1:], expected, strict=True):
        assert (int(row[0]), row[1], int(row[3])) == (rank, video, i)
        assert float(row[2]) == pytest.approx(score, abs=1e-6)
        assert (float(row[4]), float(row[5])) == pytest.approx((m.start, m.end), abs=1e-3)
        assert float(row[6]) == pytest.approx(m.score, abs=1e-6)


def test_export_json_is_what_search_json_prints(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "red", "--library", str(library), "--json"]) == 0
    searched = json.loads(capsys.readouterr().out)
    assert main(["export", "red", "--library", str(library), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == searched
    assert main(["export", "red", "--library", str(library), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == searched


def _seconds(groups: tuple[str, ...], fps: float) -> float:
    hh, mm, ss, ff = (int(g) for g in groups)
    return ((hh * 60 + mm) * 60 + ss + ff / round(fps)) * round(fps) / fps


def test_export_edl_is_cmx3600(library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exports" / "red.edl"
    argv = ["export", "red", "--library", str(library), "--top-k", "3", "--moments", "2", "--format", "edl"]
    assert main([*argv, "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and f"as edl to {out}" in captured.err
    lines = out.read_text().splitlines()
    assert lines[0] == "TITLE: chronolens red" and lines[1] == "FCM: NON-DROP FRAME"
    events = [(i, EVENT.match(line)) for i, line in enumerate(lines) if EVENT.match(line)]
    moments = [(r.video, m) for r in _search(library) for m in r.moments]
    assert len(events) == len(moments) == 6
    record = 3600.0
    for n, ((i, match), (video, m)) in enumerate(zip(events, moments, strict=True), 1):
        assert match is not None and int(match.group(1)) == n and match.group(2) == "AX"
        assert lines[i + 1] == f"* FROM CLIP NAME: {Path(video).name}"
        assert lines[i + 2] == f"* SOURCE FILE: {video}"
        groups = match.groups()[2:]
        src_in, src_out = _seconds(groups[0:4], FPS), _seconds(groups[4:8], FPS)
        rec_in, rec_out = _seconds(groups[8:12], FPS), _seconds(groups[12:16], FPS)
        assert abs(src_in - m.start) <= 1 / FPS and abs(src_out - m.end) <= 1 / FPS
        assert rec_in == pytest.approx(record) and rec_out - rec_in == pytest.approx(src_out - src_in)
        record = rec_out
    # Without --output nothing is written to a file and the same text goes to stdout.
    assert main(argv) == 0 and capsys.readouterr().out == out.read_text()


def test_edl_timecodes_at_each_videos_rate() -> None:
    results = [
        SearchResult(video="/v/pal.mp4", score=0.9, moments=[Moment(1.48, 3.0, 0.5)], duration=10.0),
        SearchResult(video="/v/ntsc.mp4", score=0.8, moments=[Moment(61.0, 62.0, 0.4)], duration=90.0),
        SearchResult(video="/v/unknown.mp4", score=0.7, moments=[Moment(0.0, 0.2, 0.3)], duration=1.0),
    ]
    lines = export_edl("q", results, {"/v/pal.mp4": 25.0, "/v/ntsc.mp4": 29.97, "/v/unknown.mp4": 0.0})
    events = [m for m in map(EVENT.match, lines.splitlines()) if m]
    # 25 fps: 1.48 s is frame 37 = 00:00:01:12, 3.0 s frame 75 = 00:00:03:00.
    assert events[0].groups()[2:10] == ("00", "00", "01", "12", "00", "00", "03", "00")
    # 29.97 fps: frame round(61 * 29.97) = 1828 counted in base 30 -> 00:01:00:28.
    assert events[1].groups()[2:6] == ("00", "01", "00", "28")
    assert _seconds(events[1].groups()[2:6], 29.97) == pytest.approx(61.0, abs=1 / 29.97)
    # Unknown rate: 25 fps, 0.2 s = 5 frames.
    assert DEFAULT_EDL_FPS == 25.0 and events[2].groups()[6:10] == ("00", "00", "00", "05")


def test_export_clips_decode_to_the_moments(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = tmp_path / "clips"
    argv = ["export", "red", "--library", str(library), "--top-k", "2", "--moments", "2"]
    assert main([*argv, "--clips", str(clips), "--output", str(tmp_path / "r.csv")]) == 0
    assert "wrote 4 clip(s)" in capsys.readouterr().err
    moments = [
        (r.video, m)
        for r in chronolens.search(library, "red", top_k=2, moments_per_video=2)
        for m in r.moments
    ]
    names = sorted(p.name for p in clips.iterdir())
    assert len(names) == len(moments) == 4
    for n, (name, (video, m)) in enumerate(zip(names, moments, strict=True), 1):
        assert re.fullmatch(rf"{n:02d}-{Path(video).stem}-\d+m\d\d\.\ds-\d+m\d\d\.\ds\.mp4", name)
        with av.open(str(clips / name)) as container:
            stream = container.streams.video[0]
            n_frames = sum(1 for _ in container.decode(stream))
            assert stream.codec_context.name == "h264" and float(stream.average_rate) == FPS
            assert (stream.codec_context.width, stream.codec_context.height) == (48, 32)
        assert n_frames / FPS == pytest.approx(m.end - m.start, abs=2 / FPS)


def test_export_usage_and_library_errors(
    tmp_path: Path, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "red", "--library", str(library), "--json", "--format", "csv"]) == 2
    assert main(["export", "  ", "--library", str(library)]) == 2
    assert main(["export", "red", "--library", str(library), "--format", "xml"]) == 2
    capsys.readouterr()
    assert main(["export", "red", "--library", str(tmp_path / "none")]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "no chronolens library" in line
    assert main(["remove", "x.mp4", "--library", str(tmp_path / "none")]) == 1
    assert main(["export", "red", "--library", str(library), "--output", str(library)]) == 1  # a directory
    assert "cannot write" in capsys.readouterr().err
