"""The frame table's hot-path reads: one-shard fast paths and the BLAS-free row products agree with
the general paths over several shards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from chronolens.library.frames import FrameTable, quantize_rows, row_products

DIM = 32


def _videos(seed: int, n_videos: int) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        v: rng.normal(size=(int(rng.integers(1, 40)), DIM)).astype(np.float16).astype(np.float32)
        for v in range(n_videos)
    }


def _table(videos: dict[int, np.ndarray], root: Path | None, shards: int) -> FrameTable:
    """A table of ``videos`` in ``shards`` shards (each update appends one)."""
    table = FrameTable([], {}, dim=DIM)
    ids = sorted(videos)
    for part in np.array_split(np.asarray(ids), shards):
        current = {v: (f"{v}.npz", videos[v].shape[0]) for v in ids[: int(part[-1]) + 1]}
        table, _ = table.updated(
            current, lambda v: (videos[v], np.arange(videos[v].shape[0], dtype=np.float64)), root=root
        )
    assert len(table.shards) == shards
    return table


def test_row_products_equal_the_matrix_product() -> None:
    rng = np.random.default_rng(0)
    q = rng.normal(size=DIM).astype(np.float32)
    rows = rng.normal(size=(500, DIM)).astype(np.float32)
    codes = rng.integers(-127, 128, size=(500, DIM)).astype(np.int8)
    got = row_products(rows, q)
    assert got.dtype == np.float32 and got.shape == (500,)
    np.testing.assert_allclose(got, rows @ q, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(row_products(codes, q), codes.astype(np.float32) @ q, rtol=1e-5, atol=1e-3)
    assert row_products(np.zeros((0, DIM), np.float32), q).shape == (0,)


@pytest.mark.parametrize("on_disk", [False, True], ids=["memory", "disk"])
def test_one_shard_and_many_shards_read_the_same(tmp_path: Path, on_disk: bool) -> None:
    """gather / similarity / approx_similarity: rows of one shard (the fast path), rows spread over
    several shards (the general path), any order, repeats; the same values either way."""
    videos = _videos(1, 30)
    root = tmp_path / "ann" if on_disk else None
    many = _table(videos, root, shards=3)
    rng = np.random.default_rng(2)
    q = rng.normal(size=DIM).astype(np.float32)
    every = np.concatenate([videos[v] for v in sorted(videos)])  # (N, D) rows in global order
    _, scales = quantize_rows(every)
    bound = scales / 254.0 * np.abs(q).sum() + 1e-5
    first = many.offsets[1]
    for rows in (
        rng.integers(0, first, 50),  # one shard
        rng.integers(first, many.n_rows, 50),  # another one
        rng.integers(0, many.n_rows, 200),  # all of them, unordered, repeats
        np.zeros(0, dtype=np.int64),
    ):
        np.testing.assert_array_equal(many.gather(rows), every[rows])
        assert many.gather(rows).dtype == np.float32
        np.testing.assert_allclose(many.similarity(rows, q), every[rows] @ q, rtol=1e-5, atol=1e-5)
        approx = many.approx_similarity(rows, q)
        assert approx.shape == rows.shape and (np.abs(approx - every[rows] @ q) <= bound[rows]).all()


def test_reads_stay_correct_after_the_table_is_reopened(tmp_path: Path) -> None:
    """A table mapped back from disk (plain views of the maps) reads what was written."""
    videos = _videos(3, 12)
    table = _table(videos, tmp_path, shards=2)
    table.save(tmp_path)
    again = FrameTable.load(tmp_path, dim=DIM)
    assert again is not None
    rows = np.arange(again.n_rows)
    np.testing.assert_array_equal(again.gather(rows), table.gather(rows))
    for v in videos:
        emb, ts = again.frames(v)
        np.testing.assert_array_equal(emb.astype(np.float32), videos[v])
        np.testing.assert_array_equal(ts, np.arange(videos[v].shape[0], dtype=np.float64))
