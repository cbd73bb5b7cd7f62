"""The transcripts side tables: round trips, FTS5 kept in sync, BM25 order, phrases, safe queries."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from chronolens.library.catalog import Catalog
from chronolens.library.transcripts import (
    fts_query,
    has_transcripts,
    lexical_search,
    load_embeddings,
    load_transcript,
    match_words,
    query_terms,
    save_embeddings,
    save_speech_status,
    save_transcript,
    speech_runs,
)
from chronolens.speech import Segment, Transcript, Word


def _segment(start: float, text: str) -> Segment:
    words = text.split()
    return Segment(
        start,
        start + len(words) * 0.5,
        text,
        tuple(Word(start + 0.5 * k, start + 0.5 * (k + 1), w, 0.9) for k, w in enumerate(words)),
    )


COOKING = Transcript(
    segments=(
        _segment(1.0, "Now we add two cups of flour to the bowl."),
        _segment(8.0, "Stir slowly, then add the eggs."),
    ),
    model="fake:loud",
    language="en",
    duration=12.0,
)
GARAGE = Transcript(
    segments=(_segment(0.0, "The red car drives into the garage."),), model="fake:loud", duration=4.0
)


def _catalog(tmp_path: Path, n: int = 2) -> tuple[Catalog, list[int]]:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    ids = []
    for i in range(n):
        catalog.upsert_failed(path=f"/v/{i}.mp4", size=1, mtime_ns=1, content_hash=f"h{i}", error="x")
        record = catalog.get(f"/v/{i}.mp4")
        assert record is not None
        ids.append(record.id)
    return catalog, ids


def _fts_rows(catalog: Catalog) -> int:
    # The FTS index's own row count (not the external content table's).
    return int(catalog.query("SELECT COUNT(*) AS n FROM speech_fts_docsize")[0]["n"])


def test_round_trip_and_run(tmp_path: Path) -> None:
    catalog, (a, _) = _catalog(tmp_path)
    assert not has_transcripts(catalog) and load_transcript(catalog, a) is None
    ids = save_transcript(catalog, a, COOKING, content_hash="h0", model_sha256="s" * 64)
    assert len(ids) == 2 and has_transcripts(catalog)
    assert load_transcript(catalog, a) == COOKING
    run = speech_runs(catalog)[a]
    assert (run.model, run.model_sha256, run.content_hash, run.status) == (
        "fake:loud",
        "s" * 64,
        "h0",
        "transcribed",
    )


def test_replacing_a_transcript_keeps_fts_in_sync(tmp_path: Path) -> None:
    catalog, (a, _) = _catalog(tmp_path)
    save_transcript(catalog, a, COOKING, content_hash="h0", model_sha256="s")
    save_transcript(catalog, a, GARAGE, content_hash="h0", model_sha256="s")
    assert _fts_rows(catalog) == 1
    assert lexical_search(catalog, "flour") == []
    assert [h.text for h in lexical_search(catalog, "garage")] == [GARAGE.segments[0].text]


def test_removing_the_video_cascades_into_fts_words_and_embeddings(tmp_path: Path) -> None:
    catalog, (a, b) = _catalog(tmp_path)
    ids = save_transcript(
        catalog, a, COOKING, content_hash="h0", model_sha256="s", embeddings=("enc", np.eye(2, 3))
    )
    save_transcript(catalog, b, GARAGE, content_hash="h1", model_sha256="s")
    assert load_embeddings(catalog, "enc")[0].tolist() == ids
    catalog.delete("/v/0.mp4")
    assert _fts_rows(catalog) == 1 and lexical_search(catalog, "flour") == []
    assert catalog.query("SELECT COUNT(*) AS n FROM speech_words")[0]["n"] == len(GARAGE.segments[0].words)
    assert load_embeddings(catalog, "enc")[0].size == 0
    assert set(speech_runs(catalog)) == {b}


def test_bm25_ranks_and_phrases_are_exact(tmp_path: Path) -> None:
    catalog, (a, b) = _catalog(tmp_path)
    save_transcript(catalog, a, COOKING, content_hash="h0", model_sha256="s")
    save_transcript(catalog, b, GARAGE, content_hash="h1", model_sha256="s")
    hits = lexical_search(catalog, "add flour")
    assert [h.start for h in hits] == [1.0, 8.0]  # both words beat one word
    assert hits[0].score > hits[1].score > 0
    assert [h.start for h in lexical_search(catalog, '"two cups"')] == [1.0]
    assert lexical_search(catalog, '"cups two"') == []
    assert [h.video_id for h in lexical_search(catalog, "RED Car")] == [b]  # case-insensitive


@pytest.mark.parametrize(
    "text", ['"', 'flour"', "AND", "NOT flour", "a*", "(flour", "col:flour", "NEAR(a b)", "^", "'", "-", ""]
)
def test_fts_syntax_never_reaches_the_user(tmp_path: Path, text: str) -> None:
    catalog, (a, _) = _catalog(tmp_path)
    save_transcript(catalog, a, COOKING, content_hash="h0", model_sha256="s")
    try:
        hits = lexical_search(catalog, text)
    except sqlite3.Error as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"{text!r} raised {exc}")
    if "flour" in text:
        assert [h.start for h in hits] == [1.0]


def test_query_terms_and_expression() -> None:
    assert query_terms('Flour "two  cups" café') == [("flour",), ("two", "cups"), ("cafe",)]
    assert query_terms('open "quote runs on') == [("open",), ("quote", "runs", "on")]
    assert fts_query('say "AND" NOT') == '"say" OR "and" OR "not"'
    assert fts_query("?!") is None


def test_match_words_trims_to_terms_and_phrases() -> None:
    words = COOKING.segments[0].words  # Now we add two cups of flour to the bowl.
    assert match_words(words, "flour") == [6]
    assert match_words(words, '"two cups"') == [3, 4]
    assert match_words(words, '"cups two"') == []
    assert match_words(words, "BOWL add") == [2, 9]  # "bowl." matches bowl


def test_no_audio_and_failed_runs(tmp_path: Path) -> None:
    catalog, (a, b) = _catalog(tmp_path)
    mute = Transcript(segments=(), model="fake:loud", has_audio=False)
    save_transcript(catalog, a, mute, content_hash="h0", model_sha256="s")
    save_transcript(catalog, b, GARAGE, content_hash="h1", model_sha256="s")
    save_speech_status(catalog, b, model="fake:loud", model_sha256="s", content_hash="h1", error="bad audio")
    runs = speech_runs(catalog)
    assert (runs[a].status, runs[b].status, runs[b].error) == ("no_audio", "failed", "bad audio")
    assert load_transcript(catalog, a) == mute
    assert load_transcript(catalog, b) is None and not has_transcripts(catalog)


def test_embeddings_round_trip_float32(tmp_path: Path) -> None:
    catalog, (a, _) = _catalog(tmp_path)
    ids = save_transcript(catalog, a, COOKING, content_hash="h0", model_sha256="s")
    vectors = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
    save_embeddings(catalog, "enc", ids, vectors)
    got_ids, got = load_embeddings(catalog, "enc")
    assert got_ids.tolist() == ids and got.dtype == np.float32 and np.array_equal(got, vectors)
    assert load_embeddings(catalog, "other")[0].size == 0


def test_read_only_catalog_without_tables_reads_empty(tmp_path: Path) -> None:
    catalog, (a, _) = _catalog(tmp_path)
    catalog.close()
    reader = Catalog(tmp_path / "catalog.sqlite", read_only=True)
    assert speech_runs(reader) == {} and lexical_search(reader, "flour") == []
    assert load_transcript(reader, a) is None and not has_transcripts(reader)
    reader.close()
