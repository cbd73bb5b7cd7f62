"""The frame table under ann/ and precomputed features: incremental, crash-safe, validated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder

import chronolens
from chronolens.errors import LibraryError
from chronolens.library import AnnConfig, Library
from chronolens.library.frames import TABLE_VERSION, FrameTable

DIM = 8  # ColorHistEncoder's width
SHARD_FILES = (".npy", ".times.npy", ".sq8.npy", ".scale.npy")  # one shard's files


def _features(seed: int, n: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.arange(n, dtype=np.float64) + 0.5, rng.random((n, DIM)).astype(np.float32) + 0.01


def _open(root: Path, **kwargs: object) -> Library:
    return Library.open(root, encoder=ColorHistEncoder(), **kwargs)  # type: ignore[arg-type]


def _brute_force(lib: Library, text: str, top_k: int) -> list[str]:
    """Every video scored on its own stored embeddings (no table, no index)."""
    from chronolens.tasks.retrieval import rank_videos

    q = lib.encoder.encode_texts([text])[0]
    records = lib.indexed()
    hits = rank_videos(q, records, lib._store_load, top_k=top_k)
    return [records[h.video_id].path for h in hits]


def test_add_features_then_search_and_replace(tmp_path: Path) -> None:
    with _open(tmp_path / "lib") as lib:
        for i in range(6):
            ts, emb = _features(i)
            record = lib.add_features(tmp_path / f"v{i}.mp4", ts, emb)
        assert record.codec == "features" and record.n_frames == 12 and record.duration == pytest.approx(12.5)
        assert [Path(h.video).name for h in chronolens.search(lib, "red", top_k=3)] == [
            Path(p).name for p in _brute_force(lib, "red", 3)
        ]
        ts, _ = _features(0)
        red = np.zeros((12, DIM), np.float32)
        red[:, 1] = 1.0  # pure red: the best match for "red" from now on
        lib.add_features(tmp_path / "v3.mp4", ts, red)
        assert len(lib.indexed()) == 6  # replaced, not added
        best = chronolens.search(lib, "red", top_k=1)[0]
        assert Path(best.video).name == "v3.mp4" and best.score == pytest.approx(1.0, abs=1e-3)
        emb, got_ts = lib.frame_embeddings(tmp_path / "v3.mp4")
        np.testing.assert_allclose(emb, red, atol=1e-3)
        np.testing.assert_array_equal(got_ts, ts)


@pytest.mark.parametrize(
    ("timestamps", "embeddings", "message"),
    [
        (np.arange(3.0), np.ones((3, 5)), "5-d, the library's encoder is 8-d"),
        (np.arange(4.0), np.ones((3, DIM)), "3 feature rows but timestamps of shape"),
        (np.array([0.0, 2.0, 1.0]), np.ones((3, DIM)), "timestamps must increase, row 2"),
        (
            np.arange(3.0),
            np.array([[np.nan] * DIM, [1.0] * DIM, [1.0] * DIM]),
            "NaN or infinite values .row 0",
        ),
        (np.arange(3.0), np.zeros((3, DIM)), "row 0 is all zeros"),
        (np.arange(0.0), np.ones((0, DIM)), "T >= 1"),
        (np.array([-1.0, 0.0, 1.0]), np.ones((3, DIM)), "finite seconds >= 0"),
    ],
)
def test_add_features_rejects_bad_input_and_keeps_the_library(
    tmp_path: Path, timestamps: np.ndarray, embeddings: np.ndarray, message: str
) -> None:
    with _open(tmp_path / "lib") as lib:
        ts, emb = _features(0)
        lib.add_features(tmp_path / "good.mp4", ts, emb)
        with pytest.raises(LibraryError, match=message):
            lib.add_features(tmp_path / "bad.mp4", timestamps, embeddings)
        assert [Path(r.path).name for r in lib.videos()] == ["good.mp4"]


def test_table_grows_incrementally_then_rebuilds_when_mostly_dead(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with _open(root) as lib:
        for i in range(4):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(i))
        first = lib.search_view().table
        assert len(first.shards) == 1 and first.n_rows == 48
        lib.add_features(tmp_path / "v4.mp4", *_features(4))
        grown = lib.search_view().table
        assert len(grown.shards) == 2 and grown.shards[0].name == first.shards[0].name  # appended
        on_disk = FrameTable.load(root / "ann", dim=DIM)
        assert on_disk is not None and on_disk.matches(
            {r.id: (str(r.embeddings), r.n_frames) for r in lib.videos()}
        )
        lib.add_features(tmp_path / "v0.mp4", *_features(10))  # re-indexed: its old rows die
        table = lib.search_view().table
        assert table.n_rows - table.n_live == 12
        for i in (1, 2):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(20 + i))  # 36 of 96 rows dead: > 25 %
        rebuilt = lib.search_view().table
        assert len(rebuilt.shards) == 1 and rebuilt.n_rows == rebuilt.n_live == 60
        names = {p.name for p in (root / "ann").iterdir()}
        assert names == {"table.json", "lock"} | {f"{rebuilt.shards[0].name}{x}" for x in SHARD_FILES}
        assert [Path(h.video).name for h in chronolens.search(lib, "blue", top_k=5)] == [
            Path(p).name for p in _brute_force(lib, "blue", 5)
        ]


def test_incremental_index_matches_a_fresh_build(tmp_path: Path) -> None:
    """New videos are added to the approximate index without retraining, and search sees them."""
    ann = AnnConfig(min_frames=1, nprobe=64)
    root = tmp_path / "lib"
    with _open(root, ann=ann) as lib:
        for i in range(30):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(i))
        first = lib.search_view()
        assert first.index is not None and first.index.ntotal == 360
        red = np.zeros((12, DIM), np.float32)
        red[:, 1] = 1.0
        lib.add_features(tmp_path / "new.mp4", np.arange(12.0), red)
        view = lib.search_view()
        assert view.index is not None and view.index.ntotal == 372 and len(view.table.shards) == 2
        assert view.table.trained_rows == 360  # not retrained
        assert Path(chronolens.search(lib, "red", top_k=1)[0].video).name == "new.mp4"
    with _open(root, ann=ann) as reopened:  # the grown index and table come back from disk
        view = reopened.search_view()
        assert view.index is not None and view.index.ntotal == 372
        assert Path(chronolens.search(reopened, "red", top_k=1)[0].video).name == "new.mp4"


@pytest.mark.parametrize("damage", ["table", "shard", "index", "old-layout"])
def test_damaged_or_old_ann_directory_is_rebuilt(tmp_path: Path, damage: str) -> None:
    ann = AnnConfig(min_frames=1)
    root = tmp_path / "lib"
    with _open(root, ann=ann) as lib:
        for i in range(20):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(i))
        expected = [h.video for h in chronolens.search(lib, "green", top_k=5)]
        table = lib.search_view().table
    ann_dir = root / "ann"
    if damage == "table":
        (ann_dir / "table.json").write_text("{not json")
    elif damage == "shard":
        (ann_dir / f"{table.shards[0].name}.npy").write_bytes(b"\x93NUMPY garbage")
    elif damage == "index":
        assert table.index_name is not None
        (ann_dir / table.index_name).write_bytes(b"garbage")
    else:  # a library from before the frame table: one fingerprinted index + owners
        for p in ann_dir.iterdir():
            p.unlink()
        (ann_dir / "frames-0123456789abcdef.faiss").write_bytes(b"old")
        (ann_dir / "frames-0123456789abcdef.owners.npy").write_bytes(b"old")
    with _open(root, ann=ann) as lib:
        assert [h.video for h in chronolens.search(lib, "green", top_k=5)] == expected
        assert not any(p.name.startswith("frames-") for p in ann_dir.iterdir())
        assert json.loads((ann_dir / "table.json").read_text())["version"] == TABLE_VERSION


def test_a_searching_process_sees_another_writer_commit(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with _open(root) as writer, _open(root) as reader:
        writer.add_features(tmp_path / "a.mp4", *_features(1))
        assert len(chronolens.search(reader, "blue", top_k=5)) == 1
        red = np.zeros((12, DIM), np.float32)
        red[:, 1] = 1.0
        writer.add_features(tmp_path / "b.mp4", np.arange(12.0), red)
        hits = chronolens.search(reader, "red", top_k=5)
        assert Path(hits[0].video).name == "b.mp4" and len(hits) == 2


def test_read_only_library_builds_its_table_in_memory(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    with _open(root) as lib:
        for i in range(5):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(i))
        expected = [h.video for h in chronolens.search(lib, "cyan", top_k=3)]
    for p in (root / "ann").iterdir():
        p.unlink()
    before = sorted(p.name for p in (root / "ann").iterdir())
    with _open(root, read_only=True) as lib:
        assert [h.video for h in chronolens.search(lib, "cyan", top_k=3)] == expected
    assert sorted(p.name for p in (root / "ann").iterdir()) == before  # nothing written


def test_an_update_killed_midway_loses_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process dying after writing a new shard but before its table.json leaves the old table
    in force; the next update collects the leftovers (and any partial file) and covers everything."""
    root = tmp_path / "lib"
    with _open(root) as lib:
        for i in range(4):
            lib.add_features(tmp_path / f"v{i}.mp4", *_features(i))
        lib.search_view()
    before = (root / "ann" / "table.json").read_bytes()
    with _open(root) as lib:
        lib.add_features(tmp_path / "v4.mp4", *_features(4))

        def killed(self: FrameTable, where: Path) -> None:
            raise KeyboardInterrupt  # as a kill between the shard's rename and the table's

        monkeypatch.setattr(FrameTable, "save", killed)
        with pytest.raises(KeyboardInterrupt):
            lib.search_view()
    assert (root / "ann" / "table.json").read_bytes() == before
    (root / "ann" / ".shard-0000.npy.partial-999").write_bytes(b"half")
    monkeypatch.undo()
    with _open(root) as lib:
        view = lib.search_view()
        assert view.table.n_live == 60 and len(lib.indexed()) == 5
        names = {p.name for p in (root / "ann").iterdir()}
        assert names == {"table.json", "lock"} | {
            f"{s.name}{x}" for s in view.table.shards for x in SHARD_FILES
        }


def test_int8_copy_scores_within_its_bound() -> None:
    """The shortlist's int8 scores stay within scale / 254 * ||q||_1 of the fp16 rows' scores."""
    from chronolens.library.frames import quantize_rows

    rng = np.random.default_rng(5)
    rows = rng.normal(size=(300, 64)).astype(np.float16)
    rows[7] = 0.0  # an all-zero row quantizes to zeros
    videos = {0: rows[:120].astype(np.float32), 1: rows[120:].astype(np.float32)}
    table = FrameTable.build(
        {v: (f"{v}.npz", e.shape[0]) for v, e in videos.items()},
        lambda v: (videos[v], np.arange(videos[v].shape[0], dtype=np.float64)),
        dim=64,
        root=None,
    )
    q = rng.normal(size=64).astype(np.float32)
    got = table.approx_similarity(np.arange(300), q)
    exact = rows.astype(np.float32) @ q
    _, scales = quantize_rows(rows)
    bound = scales / 254.0 * np.abs(q).sum() + 1e-5
    assert (np.abs(got - exact) <= bound).all() and got[7] == 0.0
    assert np.abs(got - exact).max() < 0.05 * np.abs(exact).max()
