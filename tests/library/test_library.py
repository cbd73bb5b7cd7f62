"""Library end to end with a colour-histogram encoder: search quality, incremental ingest, mismatch."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.errors import ChronolensError, EncoderMismatchError, LibraryError
from chronolens.library import AnnConfig, Library
from chronolens.video.sampling import FixedFps


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    root = tmp_path / "videos"
    segment_video(root / "a.mkv", [("blue", 3), ("red", 3), ("blue", 4)])  # red at [3, 6)
    segment_video(root / "b.mkv", [("green", 10)])
    segment_video(root / "sub" / "c.mkv", [("yellow", 4), ("white", 6)])  # white at [4, 10)
    (root / "notes.txt").write_text("not a video")  # ignored when walking a directory
    return root


def _open(tmp_path: Path, **kwargs: object) -> Library:
    encoder = kwargs.pop("encoder", ColorHistEncoder())
    return Library.open(tmp_path / "lib", encoder=encoder, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "video", "truth"),
    [("a red scene", "a.mkv", (3.0, 6.0)), ("white", "c.mkv", (4.0, 10.0)), ("green", "b.mkv", (0.0, 10.0))],
)
def test_search_ranks_right_video_and_moment_first(
    tmp_path: Path, videos: Path, query: str, video: str, truth: tuple[float, float]
) -> None:
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)
        assert len(report.indexed) == 3 and not report.failed and report.n_frames == 30
        results = chronolens.search(lib, query, top_k=2)
    assert Path(results[0].video).name == video
    assert results[0].score > results[1].score
    best = results[0].moments[0]
    assert _iou((best.start, best.end), truth) >= 0.5, best
    assert 0.0 <= best.start < best.end <= results[0].duration == pytest.approx(10.0)
    payload = results[0].to_json()
    assert payload["video"] == results[0].video and payload["moments"][0] == [
        best.start,
        best.end,
        best.score,
    ]


def test_incremental_add_skips_reindexes_and_marks_missing(tmp_path: Path, videos: Path) -> None:
    encoder = ColorHistEncoder()
    with _open(tmp_path, encoder=encoder) as lib:
        chronolens.index(lib, [videos], progress=False)
        seen = encoder.images_seen
        report = chronolens.index(lib, [videos], progress=False)
        assert len(report.unchanged) == 3 and not report.indexed and encoder.images_seen == seen

        b = videos / "b.mkv"
        os.utime(b, ns=(b.stat().st_atime_ns, b.stat().st_mtime_ns + 10**9))  # touched, same bytes
        report = chronolens.index(lib, [videos], progress=False)
        assert len(report.unchanged) == 3 and encoder.images_seen == seen
        record = next(r for r in lib.videos() if r.path == str(b))
        assert record.mtime_ns == b.stat().st_mtime_ns

        old_files = {p.name for p in (tmp_path / "lib" / "embeddings").iterdir()}
        segment_video(b, [("green", 5), ("red", 5)])  # changed content
        (videos / "sub" / "c.mkv").unlink()
        report = chronolens.index(lib, [videos], progress=False)
        assert report.indexed == [str(b)] and report.missing == [str(videos / "sub" / "c.mkv")]
        new_files = {p.name for p in (tmp_path / "lib" / "embeddings").iterdir()}
        assert len(new_files) == 3 and len(new_files - old_files) == 1  # old b file replaced, c's kept

        statuses = {Path(r.path).name: r.status for r in lib.videos()}
        assert statuses == {"a.mkv": "indexed", "b.mkv": "indexed", "c.mkv": "missing"}
        assert [Path(r.video).name for r in chronolens.search(lib, "white")] == [
            "a.mkv",
            "b.mkv",
        ]  # c excluded
        top = chronolens.search(lib, "red", top_k=1)[0]
        assert Path(top.video).name == "b.mkv" and top.moments[0].start >= 4.0  # new content searched
        info = lib.info()
        assert (info.n_indexed, info.n_missing, info.n_failed, info.n_frames) == (2, 1, 0, 20)


def test_corrupt_file_is_recorded_failed_and_others_indexed(tmp_path: Path, videos: Path) -> None:
    bad = videos / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos], progress=False)
        assert len(report.indexed) == 3 and list(report.failed) == [str(bad)]
        record = next(r for r in lib.videos() if r.path == str(bad))
        assert record.status == "failed" and record.error
        assert lib.info().n_failed == 1
        again = chronolens.index(lib, [videos], progress=False)  # unchanged: still failed, not retried
        assert again.failed == {str(bad): record.error} and str(bad) not in again.unchanged


def test_add_explicit_files_and_missing_path(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path) as lib:
        report = chronolens.index(lib, [videos / "a.mkv"], progress=False)
        assert report.indexed == [str(videos / "a.mkv")]
        with pytest.raises(ChronolensError, match="no such file"):
            chronolens.index(lib, [tmp_path / "nope.mp4"], progress=False)


def test_reopen_checks_encoder_and_sampling(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path, sampling=FixedFps(fps=2.0)) as lib:
        chronolens.index(lib, [videos / "b.mkv"], progress=False)
        assert lib.info().n_frames == 20
    with Library.open(tmp_path / "lib", encoder=ColorHistEncoder(), create=False) as lib:
        assert lib.manifest.sampling == "fps:2"
    with pytest.raises(EncoderMismatchError, match="test:colorhist"):
        Library.open(tmp_path / "lib", model="hf:some/other-model")
    with pytest.raises(EncoderMismatchError, match="weights sha256"):
        Library.open(tmp_path / "lib", encoder=ColorHistEncoder(weights_sha256="f" * 64))
    with pytest.raises(EncoderMismatchError, match="fps:1"):
        Library.open(tmp_path / "lib", sampling=FixedFps(fps=1.0))


def test_open_refuses_missing_or_foreign_directories(tmp_path: Path, videos: Path) -> None:
    with pytest.raises(LibraryError, match="no chronolens library"):
        Library.open(tmp_path / "absent", create=False)
    with pytest.raises(LibraryError, match="needs a model"):
        Library.open(tmp_path / "absent")
    with pytest.raises(LibraryError, match="not a chronolens library"):
        Library.open(videos, encoder=ColorHistEncoder())


def test_ann_search_matches_exact_and_rebuilds_when_stale(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path) as exact:
        chronolens.index(exact, [videos], progress=False)
        expected = [(r.video, r.score) for r in chronolens.search(exact, "red yellow", top_k=3)]
    ann_lib = Library.open(tmp_path / "lib2", encoder=ColorHistEncoder(), ann=AnnConfig(min_frames=1))
    with ann_lib:
        chronolens.index(ann_lib, [videos / "a.mkv", videos / "b.mkv"], progress=False)
        first = {p.name for p in (tmp_path / "lib2" / "ann").iterdir()}
        assert any(name.endswith(".faiss") for name in first) and ann_lib.info().search_mode == "ivf-pq"
        chronolens.index(ann_lib, [videos], progress=False)
        second = {p.name for p in (tmp_path / "lib2" / "ann").iterdir()}
        indexes = [name for name in second if name.endswith(".faiss")]
        assert len(indexes) == 1 and indexes[0] not in first  # a new index for the new content, old removed
        shards = {name for name in second if name.startswith("shard-")}
        assert shards > {name for name in first if name.startswith("shard-")}  # the new video: a new shard
        assert second == shards | {indexes[0], "table.json", "lock"}
        got = [(r.video, r.score) for r in chronolens.search(ann_lib, "red yellow", top_k=3)]
    assert [v for v, _ in got] == [v for v, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], atol=1e-6)


def test_overlapped_decode_gives_identical_embeddings(tmp_path: Path, videos: Path) -> None:
    """The decode-ahead thread (used on machines with spare cores) changes nothing but speed."""

    with _open(tmp_path) as sequential:
        chronolens.index(sequential, [videos], progress=False)
        expected = [
            (r.video, r.score, r.moments) for r in chronolens.search(sequential, "red white", top_k=3)
        ]
    overlap = chronolens.IngestConfig(
        overlap_min_cpus=1, batch_size=4
    )  # force the threaded path, several batches
    with Library.open(tmp_path / "lib2", encoder=ColorHistEncoder()) as lib:
        report = chronolens.index(lib, [videos], config=overlap, progress=False)
        assert len(report.indexed) == 3
        assert [
            (r.video, r.score, r.moments) for r in chronolens.search(lib, "red white", top_k=3)
        ] == expected


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_read_only_library_searches_without_writing(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path) as lib:
        chronolens.index(lib, [videos], progress=False)
        expected = [(r.video, r.score) for r in chronolens.search(lib, "a red scene", top_k=3)]
    root = tmp_path / "lib"
    before = _snapshot(root)
    ann = AnnConfig(min_frames=1)  # no index on disk yet: it must be built in memory, not saved
    with Library.open(root, encoder=ColorHistEncoder(), read_only=True, ann=ann) as ro:
        assert ro.read_only
        got = [(r.video, r.score) for r in chronolens.search(ro, "a red scene", top_k=3)]
        assert len(ro.videos()) == 3
        with pytest.raises(LibraryError, match="read-only"):
            chronolens.index(ro, [videos], progress=False)
    assert [v for v, _ in got] == [v for v, _ in expected]
    assert _snapshot(root) == before  # nothing created, removed or touched
    with pytest.raises(LibraryError, match="read-only"):
        Library.open(tmp_path / "nowhere", encoder=ColorHistEncoder(), read_only=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_library_directory_opens_read_only(tmp_path: Path, videos: Path) -> None:
    with _open(tmp_path) as lib:
        chronolens.index(lib, [videos], progress=False)
    root = tmp_path / "lib"
    modes = {p: p.stat().st_mode for p in [root, *root.rglob("*")]}
    try:
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        with Library.open(root, encoder=ColorHistEncoder()) as ro:
            assert ro.read_only
            assert Path(chronolens.search(ro, "white", top_k=1)[0].video).name == "c.mkv"
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
