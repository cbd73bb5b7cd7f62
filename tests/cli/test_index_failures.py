"""``chronolens index`` when things go wrong: filesystem errors, failed inputs, reruns (issue 17)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from tests.library.colorhist import segment_video

import chronolens
import chronolens.video.reader
from chronolens.cli.main import main

MODEL = "testcolor:cli"  # the colour-histogram test encoder, registered by tests.library.colorhist


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    folder = tmp_path / "videos"
    segment_video(folder / "a.mkv", [("blue", 2), ("red", 2)])
    return folder


def _fake(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("these are my notes, not a video\n" * 20)
    return path


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chronolens: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _raising_mkdir(error: OSError):  # type: ignore[no-untyped-def]
    def mkdir(self: Path, *args: object, **kwargs: object) -> None:
        raise error

    return mkdir


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
    ],
)
def test_library_directory_that_cannot_be_made_is_one_line(
    error: OSError,
    words: str,
    videos: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Path, "mkdir", _raising_mkdir(error))
    library = tmp_path / "rolib" / "sub"
    assert main(["-q", "index", str(videos), "--library", str(library), "--model", MODEL]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert str(library) in line and words in line.lower()


def test_library_path_that_is_a_file_or_under_one(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    for library in (file, file / "sub"):
        assert main(["-q", "index", str(videos), "--library", str(library), "--model", MODEL]) == 1
        _one_line_error(capsys.readouterr().err)
    assert file.read_text() == "keep me"


def test_full_disk_while_creating_or_indexing(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import chronolens.library.manifest
    import chronolens.library.store

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(chronolens.library.manifest, "write_text_atomic", full)
        assert main(["-q", "index", str(videos), "--library", str(tmp_path / "l1"), "--model", MODEL]) == 1
        assert "no space left on device" in _one_line_error(capsys.readouterr().err).lower()
    assert not (tmp_path / "l1").exists()
    with monkeypatch.context() as patch:
        patch.setattr(chronolens.library.store.EmbeddingStore, "save", full)
        assert main(["-q", "index", str(videos), "--library", str(tmp_path / "l2"), "--model", MODEL]) == 1
        assert "no space left on device" in _one_line_error(capsys.readouterr().err).lower()
    assert not (tmp_path / "l2").exists()


def test_failed_run_leaves_no_new_library_and_keeps_existing_ones(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "deep" / "e2"
    assert main(["-q", "index", str(tmp_path / "nonexistent"), "--library", str(new), "--model", MODEL]) == 1
    assert not new.exists() and not new.parent.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["-q", "index", str(tmp_path / "nonexistent"), "--library", str(empty), "--model", MODEL]) == 1
    )
    assert empty.is_dir() and not any(empty.iterdir())  # it was there before: only its contents go
    assert main(["-q", "index", str(_fake(tmp_path / "x" / "fake.mp4")), "--library", str(new)]) == 1
    assert not new.exists()
    good = tmp_path / "lib"
    assert main(["-q", "index", str(videos), "--library", str(good), "--model", MODEL]) == 0
    assert main(["-q", "index", str(tmp_path / "nonexistent"), "--library", str(good)]) == 1
    assert (good / "manifest.json").is_file()
    capsys.readouterr()
    assert main(["info", "--library", str(good), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_indexed"] == 1


def test_every_input_failed_exits_1_and_points_to_info(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "lib"
    assert main(["-q", "index", str(videos), "--library", str(library), "--model", MODEL]) == 0
    capsys.readouterr()
    fake = _fake(tmp_path / "fake.mp4")
    assert main(["-q", "index", str(fake), "--library", str(library)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("indexed 0, unchanged 0, failed 1") and "chronolens info --videos --failed" in out
    (line,) = [line for line in err.splitlines() if "fake.mp4" in line]
    assert line.count(str(fake)) == 1 and "not a readable media file" in line  # the path once
    assert "WARNING" not in err  # the summary lists it; no second, logged copy
    assert main(["info", "--library", str(library), "--videos", "--failed"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  [")]
    assert len(listed) == 1 and listed[0].startswith("  [failed]") and str(fake) in listed[0]
    assert main(["info", "--library", str(library), "--failed", "--json"]) == 0
    (video,) = json.loads(capsys.readouterr().out)["videos"]
    assert video["path"] == str(fake) and video["status"] == "failed"
    assert main(["-q", "index", str(fake), "--library", str(library), "--json"]) == 1  # --json too
    assert json.loads(capsys.readouterr().out)["failed"] == {
        str(fake): "not a readable media file (Invalid data found when processing input)"
    }


def test_failed_file_stays_failed_until_it_changes(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake(videos / "fake.mp4")
    library = tmp_path / "lib"
    argv = ["-q", "index", str(videos), "--library", str(library), "--model", MODEL, "--json"]
    assert main(argv) == 0  # one input indexed: not a failed run
    first = json.loads(capsys.readouterr().out)
    assert list(first["failed"]) == [str(fake)]
    reason = first["failed"][str(fake)]

    probes: list[str] = []
    real_probe = chronolens.video.reader.probe

    def counting_probe(path: object) -> object:
        probes.append(str(path))
        return real_probe(path)

    monkeypatch.setattr(chronolens.video.reader, "probe", counting_probe)
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["failed"] == {str(fake): reason} and again["unchanged"] == [str(videos / "a.mkv")]
    os.utime(fake, ns=(fake.stat().st_atime_ns, fake.stat().st_mtime_ns + 10**9))  # touched, same bytes
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == {str(fake): reason}
    assert probes == []  # reported from the catalog, not re-probed
    assert main([*argv, "--retry-failed"]) == 0
    assert json.loads(capsys.readouterr().out)["failed"] == {str(fake): reason}
    assert probes == [str(fake)]  # retried
    os.replace(segment_video(tmp_path / "green.mkv", [("green", 2)]), fake)  # now a video: indexed
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["indexed"] == [str(fake)]
    capsys.readouterr()
    assert main(["index", str(videos), "--library", str(library)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("indexed 0, unchanged 2, failed 0")


def test_non_video_files_in_a_folder_are_counted_and_listed_with_v(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = _fake(videos / "notes.txt")
    (videos / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    (videos / ".DS_Store").write_bytes(b"hidden: not counted")
    library = tmp_path / "lib"
    argv = ["-q", "index", str(videos), "--library", str(library), "--model", MODEL]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.startswith("indexed 1,") and "skipped 2 non-video files" in out and "-v lists" in out
    assert "notes.txt" not in err  # listed only with -v
    assert main(["-v", *argv]) == 0
    out, err = capsys.readouterr()
    assert "skipped 2 non-video files" in out and "-v lists" not in out
    (line,) = [line for line in err.splitlines() if line.startswith("  skipped: ") and "notes.txt" in line]
    assert line.count(str(notes)) == 1 and "not a video file" in line and ".txt" in line
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["non_video"] == sorted([str(videos / "cover.jpg"), str(notes)])
    assert "not a video file" in report["skipped"][str(notes)]
    # A file named explicitly is always tried, whatever its name.
    assert main(["-q", "index", str(videos / "cover.jpg"), "--library", str(library), "--json"]) == 1
    assert list(json.loads(capsys.readouterr().out)["failed"]) == [str(videos / "cover.jpg")]


def test_folder_without_videos_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    library = tmp_path / "lib"
    assert main(["-q", "index", str(empty), "--library", str(library), "--model", MODEL]) == 1
    line = _one_line_error(capsys.readouterr().err)
    assert f"no video files found under {empty}" in line and ".mp4, .mkv" in line
    assert not library.exists()  # the new library it would have created is not left behind
    _fake(empty / "readme.md")
    assert main(["-q", "index", str(empty), "--library", str(library), "--model", MODEL, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["non_video"] == [str(empty / "readme.md")]
    assert main(["-q", "index", str(empty), "--library", str(library), "--model", MODEL]) == 1
    assert "skipped 1 other entry" in _one_line_error(capsys.readouterr().err)
    assert not library.exists()


def test_retry_failed_with_rebuild_retries_in_a_resumed_rebuild(
    videos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chronolens.ingest.rebuild import rebuild_dir
    from chronolens.library import Library

    fake = _fake(videos / "fake.mp4")
    library = tmp_path / "lib"
    assert main(["-q", "index", str(videos), "--library", str(library), "--model", MODEL]) == 0
    with Library.open(rebuild_dir(library), model=MODEL) as leftover:  # a rebuild killed midway
        chronolens.index(leftover, [videos], progress=False)
    probes: list[str] = []
    real_probe = chronolens.video.reader.probe

    def counting_probe(path: object) -> object:
        probes.append(str(path))
        return real_probe(path)

    monkeypatch.setattr(chronolens.video.reader, "probe", counting_probe)
    capsys.readouterr()
    argv = ["-q", "index", "--rebuild", "--library", str(library), "--json"]
    assert main([*argv, "--retry-failed"]) == 0
    assert probes == [str(fake)]  # retried, not reported from the unfinished rebuild's catalog
    assert json.loads(capsys.readouterr().out)["failed"] == {
        str(fake): "not a readable media file (Invalid data found when processing input)"
    }
    with Library.open(rebuild_dir(library), model=MODEL) as leftover:
        chronolens.index(leftover, [videos], progress=False)
    probes.clear()
    assert main(argv) == 0
    assert probes == []  # without --retry-failed an unchanged failed file stays failed
