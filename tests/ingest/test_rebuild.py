"""``index --rebuild``: a library re-indexed with another sampling/encoder, swapped in whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.library.colorhist import segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.errors import EncoderMismatchError
from chronolens.ingest import rebuild
from chronolens.ingest.rebuild import rebuild_dir
from chronolens.library import Library


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    segment_video(root / "a.mkv", [("blue", 3), ("red", 3), ("blue", 4)])  # red at [3, 6)
    segment_video(root / "b.mkv", [("green", 10)])
    return root


def _frames(root: Path) -> dict[str, int]:
    with Library.open(root, create=False) as lib:
        return {Path(r.path).name: r.n_frames for r in lib.videos()}


def test_rebuild_changes_sampling_keeps_videos_and_leaves_no_sibling(tmp_path: Path, videos: Path) -> None:
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir, model="testcolor:a") as lib:
        chronolens.index(lib, [videos], progress=False)
    assert _frames(lib_dir) == {"a.mkv": 10, "b.mkv": 10}  # 1 fps
    with pytest.raises(EncoderMismatchError, match="--rebuild"):
        Library.open(lib_dir, sampling=chronolens.FixedFps(fps=2.0))

    report = rebuild(lib_dir, sampling=chronolens.FixedFps(fps=2.0), progress=False)

    assert sorted(Path(p).name for p in report.indexed) == ["a.mkv", "b.mkv"]  # no path given: the catalog's
    assert _frames(lib_dir) == {"a.mkv": 20, "b.mkv": 20}
    with Library.open(lib_dir, create=False) as lib:
        assert lib.manifest.sampling == chronolens.FixedFps(fps=2.0).spec
        top = chronolens.search(lib, "red", top_k=1)[0]
        assert Path(top.video).name == "a.mkv" and 2.5 <= top.moments[0].start <= 3.5
    assert not rebuild_dir(lib_dir).exists() and not (tmp_path / ".lib.old").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib", "videos"]


def test_rebuild_to_another_encoder_through_the_cli(tmp_path: Path, videos: Path) -> None:
    lib_dir = tmp_path / "lib"
    at = ["--library", str(lib_dir)]
    assert main(["-q", "index", str(videos / "a.mkv"), *at, "--model", "testcolor:a"]) == 0
    # Another encoder: refused without --rebuild, rebuilt with it (and b.mkv added on the way).
    assert main(["-q", "index", str(videos), *at, "--model", "testcolor:b"]) == 1
    assert main(["-q", "index", str(videos), *at, "--model", "testcolor:b", "--rebuild"]) == 0
    with Library.open(lib_dir, create=False) as lib:
        assert lib.manifest.encoder == "testcolor:b"
        assert sorted(Path(r.path).name for r in lib.videos()) == ["a.mkv", "b.mkv"]
    # --rebuild of an existing library needs no PATH; plain index does (usage error, exit 2).
    assert main(["-q", "index", *at, "--rebuild", "--fps", "2"]) == 0
    assert _frames(lib_dir) == {"a.mkv": 20, "b.mkv": 20}
    assert main(["-q", "index", *at]) == 2  # a usage error, as argparse reports one


def test_old_library_stays_searchable_while_rebuilding_and_after_a_failed_rebuild(
    tmp_path: Path, videos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir, model="testcolor:a") as lib:
        chronolens.index(lib, [videos], progress=False)
    seen_during: list[str] = []
    from chronolens import ingest

    real_index = ingest.index

    def index_then_die(library: Library, paths: list[str], **kwargs: object) -> object:
        real_index(library, paths[:1], **kwargs)  # type: ignore[arg-type]
        # mid-rebuild: the old library still answers, read-only, from its own directory
        with Library.open(lib_dir, create=False, read_only=True) as old:
            seen_during.extend(Path(r.video).name for r in chronolens.search(old, "red", top_k=1))
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "index", index_then_die)
    with pytest.raises(KeyboardInterrupt):
        rebuild(lib_dir, sampling=chronolens.FixedFps(fps=2.0), progress=False)
    assert seen_during == ["a.mkv"]
    assert _frames(lib_dir) == {"a.mkv": 10, "b.mkv": 10}  # untouched
    assert rebuild_dir(lib_dir).exists()  # the partial rebuild, resumed next time

    monkeypatch.setattr(ingest, "index", real_index)
    report = rebuild(lib_dir, sampling=chronolens.FixedFps(fps=2.0), progress=False)
    assert [Path(p).name for p in report.unchanged] == ["a.mkv"]  # resumed: a.mkv was already done
    assert _frames(lib_dir) == {"a.mkv": 20, "b.mkv": 20}


def test_fallback_swap_interrupted_between_renames_is_finished(tmp_path: Path, videos: Path) -> None:
    lib_dir = tmp_path / "lib"
    with Library.open(lib_dir, model="testcolor:a") as lib:
        chronolens.index(lib, [videos], progress=False)
    rebuild(lib_dir, sampling=chronolens.FixedFps(fps=2.0), progress=False)
    # Simulate a kill after the first of the fallback's renames: the old library parked, the
    # complete new one still at the rebuild path, nothing under the name.
    lib_dir.rename(rebuild_dir(lib_dir))
    (tmp_path / ".lib.old").mkdir()
    rebuild(lib_dir, progress=False)
    assert _frames(lib_dir) == {"a.mkv": 20, "b.mkv": 20}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib", "videos"]
