"""Side tables in the catalog file: created on demand, cascade on delete, invisible read-only."""

from __future__ import annotations

from pathlib import Path

from chronolens.library.catalog import Catalog

DDL = """
CREATE TABLE IF NOT EXISTS notes (
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_video ON notes (video_id)
"""


def _catalog_with_one_video(path: Path) -> tuple[Catalog, int]:
    catalog = Catalog(path)
    catalog.upsert_failed(path="/v/a.mp4", size=1, mtime_ns=1, content_hash="h", error="x")
    record = catalog.get("/v/a.mp4")
    assert record is not None
    return catalog, record.id


def test_side_table_rows_go_with_their_video(tmp_path: Path) -> None:
    catalog, video_id = _catalog_with_one_video(tmp_path / "catalog.sqlite")
    assert catalog.ensure_tables(DDL)
    with catalog.transaction() as conn:
        conn.execute("INSERT INTO notes (video_id, text) VALUES (?, ?)", (video_id, "said"))
    assert [row["text"] for row in catalog.query("SELECT text FROM notes")] == ["said"]
    catalog.delete("/v/a.mp4")
    assert catalog.query("SELECT text FROM notes") == []
    catalog.close()


def test_read_only_catalog_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    catalog, _ = _catalog_with_one_video(path)
    catalog.close()
    reader = Catalog(path, read_only=True)
    assert not reader.ensure_tables(DDL)
    assert not reader.has_table("notes")
    reader.close()
    writer = Catalog(path)
    writer.ensure_tables(DDL)
    writer.close()
    reader = Catalog(path, read_only=True)
    assert reader.ensure_tables(DDL) and reader.has_table("notes")
    reader.close()
