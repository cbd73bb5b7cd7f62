"""The core CLI: index / search / info / models, their JSON shapes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.library.colorhist import segment_video

from chronolens.cli.main import main

MODEL = "testcolor:cli"  # the colour-histogram test encoder, registered by tests.library.colorhist


@pytest.fixture
def indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    videos = tmp_path / "videos"
    segment_video(videos / "a.mkv", [("blue", 3), ("red", 3), ("blue", 4)])
    segment_video(videos / "b.mkv", [("green", 6)])
    library = tmp_path / "lib"
    assert main(["-q", "index", str(videos), "--library", str(library), "--model", MODEL, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["indexed"]) == 2 and report["failed"] == {}
    return library


def test_search_json_shape(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "red", "--library", str(indexed), "--top-k", "1", "--json"]) == 0
    out = capsys.readouterr().out
    payload = json.loads(out)  # one JSON object and nothing else on stdout
    assert set(payload) == {"query", "results"} and payload["query"] == "red"
    (result,) = payload["results"]
    assert set(result) == {"video", "score", "duration", "moments"}
    assert result["video"].endswith("a.mkv") and result["duration"] == pytest.approx(10.0)
    start, end, score = result["moments"][0]
    assert start < 4.0 < end <= 6.5 and score > 0.9


def test_human_output_and_env_default_library(
    indexed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONOLENS_LIBRARY", str(indexed))
    assert main(["search", "green"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "score" in lines[0] and lines[1].endswith("b.mkv")
    assert main(["info"]) == 0
    assert "2 indexed, 0 failed, 0 missing" in capsys.readouterr().out


def test_info_json(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--library", str(indexed), "--json", "--videos"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["encoder"] == MODEL and info["sampling"] == "fps:1" and info["n_indexed"] == 2
    assert info["n_frames"] == 16 and info["search_mode"] == "exact"
    assert sorted(Path(v["path"]).name for v in info["videos"]) == ["a.mkv", "b.mkv"]


def test_reindex_with_other_model_is_one_line_error(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(indexed.parent / "videos"), "--library", str(indexed), "--model", "hf:x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "testcolor:cli" in err[0] and "--model" in err[0]


def test_models_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert all(set(e) == {"name", "description", "available"} for e in entries)
    assert any(e["name"].startswith("hf:") for e in entries)
    assert any(e["name"] == "testcolor:<any>" for e in entries)


def test_missing_library_and_bad_model_exit_1_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "x", "--library", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no chronolens library" in err[0]
    segment_video(tmp_path / "v.mkv", [("red", 1)])
    code = main(["index", str(tmp_path / "v.mkv"), "--library", str(tmp_path / "lib"), "--model", "nosuch:x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "nosuch" in err[0]
    assert not (tmp_path / "lib").exists()  # nothing half-created


@pytest.mark.parametrize(
    "argv",
    [
        ["index"],
        ["search"],
        ["search", "x", "--top-k", "0"],
        ["index", "v.mp4", "--fps", "-1"],
        ["info", "--bogus"],
        ["search", ""],
        ["search", "x", "--bogus"],
        ["serach", "x"],
        ["highlights", "v.mp4", " "],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
