"""The shots side table: stored at index time, skipped when current, recomputed on change, cascaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.ingest.remove import remove
from chronolens.ingest.shots import index_shots
from chronolens.library import Library
from chronolens.library.shots import load_shots, shots_catalog
from chronolens.tasks.shots import detect_shots, get_detector, library_shots, shots_for, snap_to_shots
from chronolens.video import FixedFps

FPS = 10  # the library samples every frame, so the embedding detector is exact to the frame too


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    segment_video(root / "a.mkv", [("blue", 1.5), ("red", 2.0), ("yellow", 1.3)], fps=FPS)  # cuts 1.5, 3.5
    segment_video(root / "b.mkv", [("green", 2.0), ("magenta", 1.0)], fps=FPS)  # cut 2.0
    return root


@pytest.fixture
def library(tmp_path: Path, videos: Path) -> Library:
    lib = Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testcolor:x"), sampling=FixedFps(fps=FPS))
    chronolens.index(lib, [videos], progress=False)
    return lib


def _n_rows(library: Library, table: str) -> int:
    return int(shots_catalog(library).query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])


@pytest.mark.parametrize("name", ["histogram", "embedding"])
def test_index_shots_stores_and_detect_shots_reads_them(library: Library, videos: Path, name: str) -> None:
    with library:
        report = index_shots(library, detector=get_detector(name), progress=False)
        assert sorted(Path(p).name for p in report.stored) == ["a.mkv", "b.mkv"] and report.n_shots == 5
        a = detect_shots(videos / "a.mkv", name, library=library)
        assert a.stored and a.cuts == (1.5, 3.5) and a.detector == name
        assert detect_shots(videos / "b.mkv", name, library=library).cuts == (2.0,)
        assert not detect_shots(videos / "a.mkv", name, library=library, stored=False).stored


def test_second_pass_skips_current_videos_and_recomputes_a_changed_one(
    library: Library, videos: Path
) -> None:
    detector = get_detector("histogram")
    with library:
        index_shots(library, detector=detector, progress=False)
        again = index_shots(library, detector=detector, progress=False)
        assert again.stored == [] and len(again.unchanged) == 2
        segment_video(videos / "a.mkv", [("white", 1.0), ("red", 2.0)], fps=FPS)  # same path, new content
        chronolens.index(library, [videos], progress=False)
        third = index_shots(library, detector=detector, progress=False)
        assert [Path(p).name for p in third.stored] == ["a.mkv"]
        assert detect_shots(videos / "a.mkv", "histogram", library=library).cuts == (1.0,)
        assert _n_rows(library, "shot_runs") == 2


def test_removing_a_video_removes_its_shots(library: Library, videos: Path) -> None:
    with library:
        index_shots(library, detector=get_detector("histogram"), progress=False)
        assert _n_rows(library, "shots") == 5
        remove(library, [videos / "a.mkv"])
        assert _n_rows(library, "shots") == 2 and _n_rows(library, "shot_runs") == 1


def test_a_failing_video_is_reported_and_the_pass_goes_on(library: Library, videos: Path) -> None:
    (videos / "b.mkv").unlink()
    with library:
        report = index_shots(library, detector=get_detector("histogram"), progress=False)
    assert [Path(p).name for p in report.stored] == ["a.mkv"]
    assert [Path(p).name for p in report.failed] == ["b.mkv"] and "file not found" in next(
        iter(report.failed.values())
    )


def test_only_named_videos(library: Library, videos: Path) -> None:
    with library:
        report = index_shots(library, [videos / "b.mkv"], detector=get_detector("histogram"), progress=False)
    assert [Path(p).name for p in report.stored] == ["b.mkv"]


def test_library_shots_prefers_stored_then_embeddings(library: Library, videos: Path) -> None:
    with library:
        fallback = library_shots(library, videos / "a.mkv")
        assert fallback.detector == "embedding" and not fallback.stored and fallback.cuts == (1.5, 3.5)
        index_shots(library, detector=get_detector("histogram"), progress=False)
        stored = library_shots(library, videos / "a.mkv")
        assert stored.detector == "histogram" and stored.stored


def test_read_only_library_without_the_table(library: Library, tmp_path: Path, videos: Path) -> None:
    library.close()
    with Library.open(tmp_path / "lib", create=False, read_only=True) as reader:
        record = reader.record(videos / "a.mkv")
        assert load_shots(shots_catalog(reader), record.id) is None
        result = detect_shots(videos / "a.mkv", "histogram", library=reader)
        assert not result.stored and result.cuts == (1.5, 3.5)


def test_shots_for_snapping_uses_the_library_else_decodes(
    library: Library, videos: Path, tmp_path: Path
) -> None:
    with library:
        inside = shots_for(videos / "a.mkv", library=library)
        hits = chronolens.search(library, "a red scene", top_k=1, moments_per_video=1)
        snapped = snap_to_shots(
            hits[0].moments, library_shots(library, hits[0].video), duration=hits[0].duration
        )
    assert inside.detector == "embedding" and inside.cuts == (1.5, 3.5)
    assert (snapped[0].start, snapped[0].end) == (1.5, 3.5)  # the red shot, edges on its cuts
    other = segment_video(tmp_path / "o.mkv", [("red", 1.0), ("blue", 1.0)], fps=FPS)
    outside = shots_for(other, library=tmp_path / "no-library")
    assert outside.detector == "histogram" and outside.cuts == (1.0,)
