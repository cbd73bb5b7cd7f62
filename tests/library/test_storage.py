"""Catalog, embeddings store, manifest and content hash: the library's on-disk pieces."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import EncoderMismatchError, LibraryError
from chronolens.library.catalog import SCHEMA_VERSION, Catalog
from chronolens.library.hashing import BLOCK_BYTES, content_hash
from chronolens.library.manifest import Manifest, read_manifest, write_manifest
from chronolens.library.store import EmbeddingStore


def _indexed(catalog: Catalog, path: str, embeddings: str, n_frames: int = 3) -> str | None:
    return catalog.upsert_indexed(
        path=path, size=10, mtime_ns=5, content_hash="h", duration=3.0, fps=10.0, codec="ffv1",
        width=64, height=48, n_frames=n_frames, embeddings=embeddings,
    )  # fmt: skip


def test_catalog_upsert_status_and_reopen(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    assert _indexed(catalog, "/v/a.mp4", "a1.npz") is None
    # Re-indexing returns the file the row pointed to before, so the caller can delete it.
    assert _indexed(catalog, "/v/a.mp4", "a2.npz", n_frames=4) == "a1.npz"
    catalog.upsert_failed(path="/v/b.mp4", size=1, mtime_ns=1, content_hash="x", error="cannot decode")
    catalog.set_status("/v/a.mp4", "missing")
    catalog.close()

    catalog = Catalog(tmp_path / "c.sqlite")
    a, b = catalog.records()
    assert (a.path, a.status, a.n_frames, a.embeddings) == ("/v/a.mp4", "missing", 4, "a2.npz")
    assert (b.status, b.error, b.embeddings) == ("failed", "cannot decode", None)
    assert catalog.counts() == {"indexed": 0, "failed": 1, "missing": 1}
    assert catalog.referenced_embeddings() == {"a2.npz"}
    assert catalog.get_by_id(a.id) == a
    assert catalog.integrity_check() == "ok"
    mode = sqlite3.connect(tmp_path / "c.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_catalog_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "c.sqlite")
    with pytest.raises(RuntimeError), catalog.transaction() as conn:
        conn.execute(
            "INSERT INTO videos (path, size, mtime_ns, content_hash, status, indexed_at)"
            " VALUES ('/x', 1, 1, 'h', 'indexed', 0)"
        )
        raise RuntimeError("killed mid-transaction")
    assert catalog.records() == []


def test_catalog_rejects_other_schema_version(tmp_path: Path) -> None:
    Catalog(tmp_path / "c.sqlite").close()
    conn = sqlite3.connect(tmp_path / "c.sqlite")
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    conn.commit()
    conn.close()
    with pytest.raises(LibraryError, match="schema version"):
        Catalog(tmp_path / "c.sqlite")


def test_store_round_trip_is_atomic_and_float16(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "emb")
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(7, 16)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    ts = np.arange(7) / 3.0
    name = EmbeddingStore.file_name("/v/a.mp4", "hash1")
    assert name != EmbeddingStore.file_name("/v/a.mp4", "hash2")  # a changed video gets a new file
    store.save(name, emb, ts)
    assert sorted(p.name for p in (tmp_path / "emb").iterdir()) == [name]  # no temp file left behind
    loaded, loaded_ts = store.load(name)
    assert loaded.dtype == np.float32 and loaded.shape == (7, 16)
    np.testing.assert_allclose(loaded, emb, atol=1e-3)
    np.testing.assert_array_equal(loaded_ts, ts)
    with pytest.raises(ValueError, match=r"\(T, D\)"):
        store.save(name, emb, ts[:3])


def test_store_orphans_and_partials_are_removed(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "emb")
    for name in ("keep.npz", "orphan.npz"):
        store.save(name, np.ones((1, 2), np.float32), np.zeros(1))
    (tmp_path / "emb" / "keep.npz.partial-123").write_bytes(b"half a file")
    assert store.remove_orphans({"keep.npz"}) == 2
    assert store.names() == {"keep.npz"}


def test_store_corrupt_file_is_a_library_error(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "emb")
    (tmp_path / "emb" / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(LibraryError, match=r"bad\.npz.*re-run index"):
        store.load("bad.npz")
    with pytest.raises(LibraryError, match="missing"):
        store.load("absent.npz")


def _manifest() -> Manifest:
    return Manifest(
        encoder="hf:tiny", weights_sha256="ab" * 32, dim=32, sampling="fps:1", decode_size=32,
        chronolens_version="0.1.0", pyav_version="18", ffmpeg_version="8", created=1.0, updated=1.0,
    )  # fmt: skip


def test_manifest_round_trip_and_atomic_write(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(path, _manifest())
    assert read_manifest(path) == _manifest()
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    assert json.loads(path.read_text())["encoder"] == "hf:tiny"
    touched = _manifest().touched()
    assert touched.updated > 1.0 and touched.created == 1.0


def test_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="not a chronolens library"):
        read_manifest(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(LibraryError, match="malformed"):
        read_manifest(tmp_path / "manifest.json")
    with pytest.raises(ValueError, match=r"Manifest\.dim"):
        replace(_manifest(), dim=0)


def test_manifest_mismatch_messages_name_difference_and_remedy(tmp_path: Path) -> None:
    m = _manifest()
    m.check_request(model=None, sampling=None, library=tmp_path)
    m.check_request(model="hf:tiny", sampling="fps:1", library=tmp_path)
    with pytest.raises(EncoderMismatchError, match=r"'hf:tiny', not 'hf:other'.*--model hf:tiny.*--library"):
        m.check_request(model="hf:other", sampling=None, library=tmp_path)
    with pytest.raises(EncoderMismatchError, match="'fps:1', not 'fps:2'"):
        m.check_request(model=None, sampling="fps:2", library=tmp_path)
    with pytest.raises(EncoderMismatchError, match="64 dims"):
        m.check_encoder(name="hf:tiny", dim=64, weights_sha256="ab" * 32, library=tmp_path)
    with pytest.raises(EncoderMismatchError, match="weights sha256"):
        m.check_encoder(name="hf:tiny", dim=32, weights_sha256="cd" * 32, library=tmp_path)


def test_content_hash_detects_changes_small_and_large(tmp_path: Path) -> None:
    small = tmp_path / "s.bin"
    small.write_bytes(b"abc")
    first = content_hash(small)
    small.write_bytes(b"abd")
    assert content_hash(small) != first and first.startswith("sha256-v2:")
    small.write_bytes(b"")
    assert content_hash(small) == "sha256-v2:" + hashlib.sha256(b"").hexdigest()

    big = tmp_path / "b.bin"
    data = bytearray(np.random.default_rng(0).integers(0, 256, 6 * BLOCK_BYTES + 123, np.uint8))
    big.write_bytes(bytes(data))
    base = content_hash(big)
    assert base == "sha256-v2:" + hashlib.sha256(data).hexdigest()  # the whole file, streamed
    # Every byte counts: the edges, block boundaries and the middle a sampled hash skipped.
    for offset in (0, BLOCK_BYTES - 1, BLOCK_BYTES, 3 * BLOCK_BYTES + 777_777, len(data) - 1):
        changed = bytearray(data)
        changed[offset] ^= 0xFF
        big.write_bytes(bytes(changed))
        assert content_hash(big) != base, offset
    big.write_bytes(bytes(data) + b"x")  # a longer file
    assert content_hash(big) != base
    big.write_bytes(bytes(data))
    assert content_hash(big) == base


def test_content_hash_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        content_hash(fifo)  # a plain open() would wait for a writer forever


def test_schema_1_catalog_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
        "CREATE TABLE videos (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
        " mtime_ns INTEGER NOT NULL, content_hash TEXT NOT NULL, duration REAL NOT NULL DEFAULT 0,"
        " fps REAL NOT NULL DEFAULT 0, codec TEXT NOT NULL DEFAULT '', width INTEGER NOT NULL DEFAULT 0,"
        " height INTEGER NOT NULL DEFAULT 0, n_frames INTEGER NOT NULL DEFAULT 0, embeddings TEXT,"
        " status TEXT NOT NULL, error TEXT, indexed_at REAL NOT NULL);"
        "INSERT INTO videos (path, size, mtime_ns, content_hash, n_frames, embeddings, status, indexed_at)"
        " VALUES ('/v/a.mp4', 10, 5, 'sampled-sha256-v1:ab', 3, 'a.npz', 'indexed', 1.0);"
    )
    conn.close()
    old = Catalog(path, read_only=True).records()  # read as it is, no write
    assert [(r.path, r.embeddings_sha256, r.warning) for r in old] == [("/v/a.mp4", None, None)]
    assert sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchone() == (1,)

    catalog = Catalog(path)  # writable: migrated
    (record,) = catalog.records()
    assert (record.content_hash, record.embeddings, record.embeddings_sha256) == (
        "sampled-sha256-v1:ab", "a.npz", None,
    )  # fmt: skip
    catalog.set_embeddings_checksum("/v/a.mp4", size=7, sha256="cd" * 32)
    assert catalog.get("/v/a.mp4").embeddings_sha256 == "cd" * 32  # type: ignore[union-attr]
    catalog.close()
    assert sqlite3.connect(path).execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    assert SCHEMA_VERSION == 2


def test_store_verify_checks_size_and_sha256(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path / "e")
    store.save("a.npz", np.eye(3, dtype=np.float32), np.arange(3.0))
    checksum = store.checksum("a.npz")
    assert checksum is not None
    size, sha = checksum
    assert store.verify("a.npz", size=size, sha256=sha)
    assert store.verify("a.npz", size=None, sha256=None)  # an old row: verified by loading
    data = bytearray((tmp_path / "e" / "a.npz").read_bytes())
    data[-30] ^= 0x01
    (tmp_path / "e" / "a.npz").write_bytes(bytes(data))
    assert not store.verify("a.npz", size=size, sha256=sha)
    (tmp_path / "e" / "a.npz").write_bytes(bytes(data[:100]))
    assert not store.verify("a.npz", size=size, sha256=sha)
    assert not store.verify("a.npz", size=None, sha256=None)
    assert not store.verify("gone.npz", size=size, sha256=sha) and store.checksum("gone.npz") is None
