"""Entries of an indexed folder that are not good videos: none aborts, hangs or keeps stale data."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.ingest.bad_media import png_named_mp4, truncated_faststart_mp4
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.ingest import discover
from chronolens.library import Library

MODEL = "testcolor:bad"  # the colour-histogram test encoder, registered by tests.library.colorhist


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    segment_video(root / "a.mkv", [("blue", 3), ("red", 3)])
    segment_video(root / "b.mkv", [("green", 4)])
    return root


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail (instead of hanging the suite) if the test body blocks for more than 20 s."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError("index hung")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _open(tmp_path: Path) -> Library:
    return Library.open(tmp_path / "lib", encoder=ColorHistEncoder())


def test_dangling_symlink_and_loop_are_skipped_and_others_indexed(tmp_path: Path, videos: Path) -> None:
    dangling = videos / "dangling.mp4"
    dangling.symlink_to(tmp_path / "nonexistent" / "x.mp4")
    loop = videos / "loop.mp4"
    loop.symlink_to(loop)
    (videos / "self").symlink_to(videos, target_is_directory=True)  # a directory loop: not followed
    good_link = videos / "link.mkv"
    good_link.symlink_to(videos / "b.mkv")
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)
    assert sorted(Path(p).name for p in report.indexed) == ["a.mkv", "b.mkv", "link.mkv"]
    assert report.skipped[str(dangling)].startswith("dangling symlink")
    assert "symlink loop" in report.skipped[str(loop)]
    assert "not followed" in report.skipped[str(videos / "self")]
    assert not report.failed


def test_explicit_symlink_loop_gets_its_own_reason(tmp_path: Path, videos: Path) -> None:
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    skipped: dict[str, str] = {}
    files, _ = discover([loop, videos / "a.mkv"], skipped=skipped)
    assert files == [videos / "a.mkv"]
    assert "symlink loop" in skipped[str(loop)] and "no such file" not in skipped[str(loop)]
    with Library.open(tmp_path / "lib", encoder=ColorHistEncoder()) as lib:
        report = chronolens.index(lib, [loop, videos / "a.mkv"], progress=False)
    assert report.indexed == [str(videos / "a.mkv")] and list(report.skipped) == [str(loop)]


@pytest.mark.usefixtures("alarm")
def test_fifo_named_mp4_is_skipped_without_opening_it(tmp_path: Path, videos: Path) -> None:
    fifo = videos / "pipe.mp4"
    os.mkfifo(fifo)
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)  # would block opening the FIFO
        assert len(report.indexed) == 2 and "not a regular file (fifo)" in report.skipped[str(fifo)]
        explicit = chronolens.index(lib, [fifo], progress=False)
    assert "not a regular file (fifo)" in explicit.skipped[str(fifo)]


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_broken_embeddings_file_is_reindexed(tmp_path: Path, videos: Path, damage: str) -> None:
    encoder = ColorHistEncoder()
    with Library.open(tmp_path / "lib", encoder=encoder) as lib:
        chronolens.index(lib, [videos], progress=False)
        record = lib.record(videos / "a.mkv")
        assert record.embeddings is not None
        npz = tmp_path / "lib" / "embeddings" / record.embeddings
        data = bytearray(npz.read_bytes())
        if damage == "truncate":
            npz.write_bytes(bytes(data[: len(data) // 2]))
        elif damage == "flip":  # same size, one byte changed inside the embeddings
            data[len(data) // 2] ^= 0xFF
            npz.write_bytes(bytes(data))
        else:
            npz.unlink()
        seen = encoder.images_seen
        report = chronolens.index(lib, [videos], progress=False)
        assert report.indexed == [str(videos / "a.mkv")] and report.unchanged == [str(videos / "b.mkv")]
        assert encoder.images_seen == seen + 6
        assert Path(chronolens.search(lib, "red", top_k=1)[0].video).name == "a.mkv"
        again = chronolens.index(lib, [videos], progress=False)
        assert len(again.unchanged) == 2 and not again.indexed


def test_same_size_edit_of_a_large_file_is_reindexed(tmp_path: Path, videos: Path) -> None:
    big = videos / "a.mkv"
    padding = np.random.default_rng(0).integers(0, 256, 5 << 20, np.uint8).tobytes()
    with big.open("ab") as fh:  # Matroska ignores trailing bytes: the video stays the same
        fh.write(padding)
    encoder = ColorHistEncoder()
    with Library.open(tmp_path / "lib", encoder=encoder) as lib:
        chronolens.index(lib, [videos], progress=False)
        seen = encoder.images_seen
        data = bytearray(big.read_bytes())
        # Between two of the blocks the old sampled hash read (1 MiB edges, 8 x 64 KiB inside).
        span = len(data) - 2 * (1 << 20) - (64 << 10)
        start = (1 << 20) + span * 4 // 9 + (64 << 10) + 10_000
        data[start : start + 191_000] = bytes(191_000)
        stat = big.stat()
        big.write_bytes(bytes(data))
        os.utime(big, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        assert big.stat().st_size == stat.st_size
        report = chronolens.index(lib, [videos], progress=False)
    assert report.indexed == [str(big)] and encoder.images_seen == seen + 6


def test_truncated_faststart_mp4_is_indexed_as_partial(tmp_path: Path, videos: Path) -> None:
    cut = truncated_faststart_mp4(videos / "cut.mp4", keep_frames=3, n_frames=6)
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)
        record = lib.record(cut)
    assert str(cut) in report.indexed and record.n_frames == 3
    assert "ended early" in report.partial[str(cut)] and "6.0" in report.partial[str(cut)]
    assert record.warning == report.partial[str(cut)]
    assert list(report.partial) == [str(cut)]  # the good videos are not partial


def test_png_named_mp4_fails_with_a_clear_reason(tmp_path: Path, videos: Path) -> None:
    png = png_named_mp4(videos / "still.mp4")
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)
    assert len(report.indexed) == 2 and "still image" in report.failed[str(png)]


def test_a_named_text_file_fails_instead_of_indexing_as_ansi_art(tmp_path: Path, videos: Path) -> None:
    """FFmpeg's tty demuxer opens a multi-line .txt as a 'video' of rendered text; it must fail."""
    notes = tmp_path / "notes.txt"
    notes.write_text("a line of meeting notes\n" * 50)
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [notes], progress=False)
    assert not report.indexed and "a text file" in report.failed[str(notes)]


def test_cli_json_lists_skipped_and_partial(
    tmp_path: Path, videos: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (videos / "dangling.mp4").symlink_to(tmp_path / "nowhere.mp4")
    truncated_faststart_mp4(videos / "cut.mp4")
    args = ["-q", "index", str(videos), "--library", str(tmp_path / "lib"), "--model", MODEL]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report["skipped"]) == [str(videos / "dangling.mp4")]
    assert list(report["partial"]) == [str(videos / "cut.mp4")]
    truncated_faststart_mp4(videos / "cut.mp4", keep_frames=2)  # changed: re-indexed, partial again
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "skipped 1" in captured.out and "partial 1" in captured.out
    assert "skipped: " in captured.err and "partial: " in captured.err


def test_still_image_indexed_by_an_older_version_is_rechecked(tmp_path: Path, videos: Path) -> None:
    png = png_named_mp4(videos / "still.mp4")
    with _open(tmp_path) as lib:
        chronolens.index(lib, [videos], progress=False)
        with lib.writing() as (catalog, store):  # what chronolens <= this change recorded for it
            store.save("still.npz", np.ones((1, 8), np.float32) / np.sqrt(8), np.zeros(1))
            size, sha256 = store.checksum("still.npz") or (0, "")
            with catalog.transaction() as conn:
                conn.execute(
                    "UPDATE videos SET status = 'indexed', duration = 0, n_frames = 1, error = NULL,"
                    " embeddings = 'still.npz', embeddings_size = ?, embeddings_sha256 = ? WHERE path = ?",
                    (size, sha256, str(png)),
                )
        report = chronolens.index(lib, [videos], progress=False)
        assert "still image" in report.failed[str(png)] and len(report.unchanged) == 2
        assert lib.record(png).status == "failed"
