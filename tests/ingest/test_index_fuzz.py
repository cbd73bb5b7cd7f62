"""Fuzzing ``chronolens index`` with bad media: exit 0 or 1, never a traceback or a hang, nothing lost.

Seeded and bounded: one corpus of ~20 bad and odd entries (cut and damaged videos, random bytes,
empty files, an image and a text file under video names, dangling and looping symlinks, a FIFO, a
directory named ``x.mp4``) is indexed beside good videos, as a folder and then entry by entry.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.ingest.bad_media import bad_corpus
from tests.library.colorhist import segment_video

from chronolens.cli.main import main
from chronolens.library import Library

MODEL = "testcolor:fuzz"  # the colour-histogram test encoder, registered by tests.library.colorhist
SEED = 25
TIME_LIMIT_S = 60  # the whole test; it takes a few seconds


@pytest.fixture
def alarm() -> Iterator[None]:
    """Turn a hang into a failure instead of a stuck suite."""

    def timeout(signum: int, frame: object) -> None:
        raise TimeoutError(f"index hung (over {TIME_LIMIT_S} s)")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(TIME_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _index(capsys: pytest.CaptureFixture[str], library: Path, *paths: Path) -> dict[str, object]:
    capsys.readouterr()
    code = main(["-q", "index", *map(str, paths), "--library", str(library), "--model", MODEL, "--json"])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err  # 3 would be a traceback
    assert "Traceback" not in captured.err
    return json.loads(captured.out) if code == 0 else {}


def _searchable(library: Path) -> dict[str, str]:
    with Library.open(library, create=False) as lib:
        return {Path(r.path).name: r.status for r in lib.videos() if r.status == "indexed"}


@pytest.mark.usefixtures("alarm")
def test_index_survives_bad_media(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    videos = tmp_path / "videos"
    good_a = segment_video(videos / "a.mkv", [("blue", 2), ("red", 2)])
    good_b = segment_video(videos / "b.mkv", [("green", 3)])
    library = tmp_path / "lib"
    first = _index(capsys, library, videos)
    assert sorted(Path(p).name for p in first["indexed"]) == ["a.mkv", "b.mkv"]  # type: ignore[union-attr]

    entries = bad_corpus(videos / "bad", np.random.default_rng(SEED), good=good_a)
    report = _index(capsys, library, videos)
    assert report, "a folder of bad entries must not be a user error"
    accounted = {
        *report["indexed"],  # type: ignore[misc]
        *report["unchanged"],  # type: ignore[misc]
        *report["failed"],  # type: ignore[misc]
        *report["skipped"],  # type: ignore[misc]
    }
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            continue  # a directory named x.mp4 is walked: its inner file is accounted for
        assert str(entry) in accounted, f"{entry.name} neither indexed, failed nor skipped"
    assert {"a.mkv", "b.mkv"} <= set(_searchable(library))

    again = _index(capsys, library, videos)  # a second pass: the same outcome, nothing re-tried
    assert not again["indexed"] and again["failed"] == report["failed"]  # still failed, same reasons
    for entry in entries:  # each entry given on its own
        _index(capsys, library, entry, good_b)

    capsys.readouterr()
    assert main(["search", "red", "--library", str(library), "--top-k", "1", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    hits = hits["results"] if isinstance(hits, dict) else hits
    assert Path(hits[0]["video"]).name == "a.mkv"  # nothing lost: the good videos stay searchable
    assert {"a.mkv", "b.mkv"} <= set(_searchable(library))
