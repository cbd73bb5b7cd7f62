"""The transcripts side tables: what each video says, searchable by word (FTS5) and by meaning.

Tables in the catalog file, created on first write through :meth:`Catalog.ensure_tables`::

    speech_runs        one row per video: the speech model and its weights' hash, the content
                       hash the transcript was made from, and the outcome ('transcribed',
                       'no_audio' or 'failed' with its one-line error); cascades from ``videos``
    speech_segments    the segments of a transcript: start/end seconds, text, the model name
    speech_words       each segment's words: start/end seconds, text, probability
    speech_fts         FTS5 over the segments' text (external content: ``speech_segments``), kept
                       in sync by triggers, so a video removed by cascade leaves no stale entry
    speech_embeddings  one float32 row per (segment, text encoder), as a BLOB

A run is current while its content hash, model name and model hash equal the video's and the
backend's: re-indexing skips it. Each video's transcript (run, segments, words and, when given,
embeddings) is written in one transaction, so a kill leaves either the old transcript or the new
one. Embeddings are BLOBs in the catalog rather than a ``.npy`` beside it for the same reason: they
commit with their segments, cascade with them on removal, and need no second file kept in step.

Lexical search ranks segments with FTS5's ``bm25()``; user text is turned into an FTS5 query by
:func:`fts_query` (every term and ``"quoted phrase"`` quoted, so FTS syntax never reaches SQLite
from the user). A read-only catalog without the tables reads as holding no transcripts.
"""

from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chronolens.library.catalog import Catalog
from chronolens.speech.base import Segment, Transcript, Word

__all__ = [
    "TRANSCRIPTS_DDL",
    "LexicalHit",
    "SpeechRun",
    "SpeechStatus",
    "fts_query",
    "has_transcripts",
    "lexical_search",
    "load_embeddings",
    "load_segments",
    "load_transcript",
    "match_words",
    "query_terms",
    "save_embeddings",
    "save_speech_status",
    "save_transcript",
    "speech_runs",
    "tokens",
]

SpeechStatus = Literal["transcribed", "no_audio", "failed"]
EMBEDDING_DTYPE = np.float32  # segment embeddings are stored as little-endian float32 rows

TRANSCRIPTS_DDL = """
CREATE TABLE IF NOT EXISTS speech_runs (
    video_id INTEGER PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    model TEXT NOT NULL,                -- speech backend name, e.g. 'builtin:whisper-base'
    model_sha256 TEXT NOT NULL,         -- the backend's weights fingerprint (subtitles: the file's)
    content_hash TEXT NOT NULL,         -- the video's content hash when transcribed
    status TEXT NOT NULL CHECK (status IN ('transcribed', 'no_audio', 'failed')),
    error TEXT,                         -- why it failed (one line), NULL otherwise
    language TEXT,                      -- ISO 639-1, when known
    duration REAL NOT NULL DEFAULT 0,   -- seconds of audio transcribed
    computed_at REAL NOT NULL           -- unix time
);
CREATE TABLE IF NOT EXISTS speech_segments (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,               -- 0 for the video's first segment
    start_s REAL NOT NULL,              -- seconds on the video's clock
    end_s REAL NOT NULL,                -- seconds, >= start
    text TEXT NOT NULL,
    model TEXT NOT NULL                 -- speech model that produced it
);
CREATE INDEX IF NOT EXISTS speech_segments_video ON speech_segments (video_id, idx);
CREATE TABLE IF NOT EXISTS speech_words (
    segment_id INTEGER NOT NULL REFERENCES speech_segments (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,               -- 0 for the segment's first word
    start_s REAL NOT NULL,              -- seconds
    end_s REAL NOT NULL,                -- seconds
    word TEXT NOT NULL,
    probability REAL NOT NULL,
    PRIMARY KEY (segment_id, idx)
);
CREATE TABLE IF NOT EXISTS speech_embeddings (
    segment_id INTEGER NOT NULL REFERENCES speech_segments (id) ON DELETE CASCADE,
    encoder TEXT NOT NULL,              -- text encoder name, e.g. 'builtin:minilm'
    vector BLOB NOT NULL,               -- D little-endian float32, L2-normalised
    PRIMARY KEY (encoder, segment_id)
);
CREATE VIRTUAL TABLE IF NOT EXISTS speech_fts USING fts5 (
    text, content = 'speech_segments', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
)
"""

# Triggers hold ';' inside BEGIN ... END, which ensure_tables' statement split would cut: they
# are created one statement each. The delete trigger also fires on ON DELETE CASCADE.
_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS speech_segments_ai AFTER INSERT ON speech_segments BEGIN"
    " INSERT INTO speech_fts (rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS speech_segments_ad AFTER DELETE ON speech_segments BEGIN"
    " INSERT INTO speech_fts (speech_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
)


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeechRun:
    """What the speech pass recorded for one video."""

    video_id: int  # catalog row id
    model: str  # speech backend name
    model_sha256: str  # the backend's fingerprint
    content_hash: str  # the video's content hash when transcribed
    status: SpeechStatus  # "transcribed", "no_audio" or "failed"
    error: str | None  # why it failed
    language: str | None  # ISO 639-1, when known
    duration: float  # seconds of audio
    computed_at: float  # unix time


@dataclass(frozen=True, kw_only=True, slots=True)
class LexicalHit:
    """One segment matching a lexical query."""

    segment_id: int  # speech_segments row id
    video_id: int  # catalog row id
    start: float  # seconds, the segment's span
    end: float  # seconds
    text: str  # the segment's text
    score: float  # -bm25: higher is better (FTS5's bm25() is lower-is-better)


def _ensure(catalog: Catalog) -> None:
    catalog.ensure_tables(TRANSCRIPTS_DDL)
    with catalog.transaction() as conn:
        for trigger in _TRIGGERS:
            conn.execute(trigger)


def has_transcripts(catalog: Catalog) -> bool:
    """Whether any video of the catalog has a stored segment."""
    if not catalog.has_table("speech_segments"):
        return False
    return bool(catalog.query("SELECT 1 FROM speech_segments LIMIT 1"))


def save_transcript(
    catalog: Catalog,
    video_id: int,
    transcript: Transcript,
    *,
    content_hash: str,
    model_sha256: str,
    embeddings: tuple[str, np.ndarray] | None = None,
) -> list[int]:
    """Store (or replace) one video's transcript and its run, in one transaction.

    Args:
        catalog: a writable catalog (inside ``library.writing()``).
        video_id: the video's catalog row id.
        transcript: what was said; ``has_audio`` False records the video as having no audio.
        content_hash: the video's content hash the transcript was made from.
        model_sha256: the speech backend's fingerprint.
        embeddings: ``(text encoder name, (S, D) float32)``, one row per segment, stored with them.

    Returns:
        The new segments' row ids, in segment order.
    """
    if embeddings is not None and len(embeddings[1]) != len(transcript.segments):
        raise ValueError(f"embeddings has {len(embeddings[1])} rows for {len(transcript.segments)} segments")
    _ensure(catalog)
    status: SpeechStatus = "transcribed" if transcript.has_audio else "no_audio"
    ids: list[int] = []
    with catalog.transaction() as conn:
        _replace_run(
            conn,
            video_id,
            model=transcript.model,
            model_sha256=model_sha256,
            content_hash=content_hash,
            status=status,
            error=None,
            language=transcript.language,
            duration=transcript.duration,
        )
        for idx, segment in enumerate(transcript.segments):
            cursor = conn.execute(
                "INSERT INTO speech_segments (video_id, idx, start_s, end_s, text, model)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (video_id, idx, float(segment.start), float(segment.end), segment.text, transcript.model),
            )
            segment_id = int(cursor.lastrowid or 0)
            ids.append(segment_id)
            conn.executemany(
                "INSERT INTO speech_words (segment_id, idx, start_s, end_s, word, probability)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (segment_id, k, float(w.start), float(w.end), w.text, float(w.probability))
                    for k, w in enumerate(segment.words)
                ],
            )
        if embeddings is not None:
            _insert_embeddings(conn, embeddings[0], ids, embeddings[1])
    return ids


def save_speech_status(
    catalog: Catalog,
    video_id: int,
    *,
    model: str,
    model_sha256: str,
    content_hash: str,
    error: str,
) -> None:
    """Record that a video's audio could not be transcribed (its old segments are dropped)."""
    _ensure(catalog)
    with catalog.transaction() as conn:
        _replace_run(
            conn,
            video_id,
            model=model,
            model_sha256=model_sha256,
            content_hash=content_hash,
            status="failed",
            error=error,
            language=None,
            duration=0.0,
        )


def _replace_run(conn: sqlite3.Connection, video_id: int, **run: object) -> None:
    """Delete a video's run and segments (words, embeddings and FTS rows follow) and insert a run."""
    execute = conn.execute
    execute("DELETE FROM speech_segments WHERE video_id = ?", (video_id,))
    execute("DELETE FROM speech_runs WHERE video_id = ?", (video_id,))
    execute(
        "INSERT INTO speech_runs (video_id, model, model_sha256, content_hash, status, error, language,"
        " duration, computed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            video_id,
            run["model"],
            run["model_sha256"],
            run["content_hash"],
            run["status"],
            run["error"],
            run["language"],
            float(run["duration"]),  # type: ignore[arg-type]
            time.time(),
        ),
    )


def _insert_embeddings(
    conn: sqlite3.Connection, encoder: str, segment_ids: Sequence[int], vectors: np.ndarray
) -> None:
    rows = np.ascontiguousarray(np.asarray(vectors, dtype="<f4"))
    conn.executemany(
        "INSERT OR REPLACE INTO speech_embeddings (segment_id, encoder, vector) VALUES (?, ?, ?)",
        [(int(s), encoder, rows[i].tobytes()) for i, s in enumerate(segment_ids)],
    )


def save_embeddings(catalog: Catalog, encoder: str, segment_ids: Sequence[int], vectors: np.ndarray) -> None:
    """Store segment embeddings ``(S, D)`` of one text encoder, in one transaction."""
    if len(segment_ids) != len(vectors):
        raise ValueError(f"{len(segment_ids)} segment ids for {len(vectors)} embeddings")
    _ensure(catalog)
    with catalog.transaction() as conn:
        _insert_embeddings(conn, encoder, segment_ids, vectors)


def load_embeddings(catalog: Catalog, encoder: str) -> tuple[np.ndarray, np.ndarray]:
    """Every stored segment embedding of ``encoder``.

    Returns:
        ``(segment ids (S,) int64, vectors (S, D) float32)``; empty arrays when there are none.
    """
    if not catalog.has_table("speech_embeddings"):
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    rows = catalog.query(
        "SELECT segment_id, vector FROM speech_embeddings WHERE encoder = ? ORDER BY segment_id", (encoder,)
    )
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = np.array([int(r["segment_id"]) for r in rows], dtype=np.int64)
    vectors = np.stack([np.frombuffer(r["vector"], dtype="<f4") for r in rows]).astype(EMBEDDING_DTYPE)
    return ids, vectors


def speech_runs(catalog: Catalog) -> dict[int, SpeechRun]:
    """``video_id -> SpeechRun`` of every video the speech pass has seen (empty without the table)."""
    if not catalog.has_table("speech_runs"):
        return {}
    rows = catalog.query(
        "SELECT video_id, model, model_sha256, content_hash, status, error, language, duration, computed_at"
        " FROM speech_runs"
    )
    return {
        int(r["video_id"]): SpeechRun(
            video_id=int(r["video_id"]),
            model=str(r["model"]),
            model_sha256=str(r["model_sha256"]),
            content_hash=str(r["content_hash"]),
            status=r["status"],
            error=r["error"],
            language=r["language"],
            duration=float(r["duration"]),
            computed_at=float(r["computed_at"]),
        )
        for r in rows
    }


def load_segments(
    catalog: Catalog, segment_ids: Sequence[int] | None = None
) -> dict[int, tuple[int, Segment]]:
    """``segment id -> (video id, Segment with its words)`` of the given segments (None: all)."""
    if not catalog.has_table("speech_segments"):
        return {}
    if segment_ids is None:
        seg_rows = catalog.query("SELECT id, video_id, start_s, end_s, text FROM speech_segments")
        word_rows = catalog.query(
            "SELECT segment_id, start_s, end_s, word, probability FROM speech_words ORDER BY segment_id, idx"
        )
    else:
        wanted = sorted({int(s) for s in segment_ids})
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        seg_rows = catalog.query(
            f"SELECT id, video_id, start_s, end_s, text FROM speech_segments WHERE id IN ({marks})", wanted
        )
        word_rows = catalog.query(
            "SELECT segment_id, start_s, end_s, word, probability FROM speech_words"
            f" WHERE segment_id IN ({marks}) ORDER BY segment_id, idx",
            wanted,
        )
    words: dict[int, list[Word]] = {}
    for w in word_rows:
        words.setdefault(int(w["segment_id"]), []).append(
            Word(float(w["start_s"]), float(w["end_s"]), str(w["word"]), float(w["probability"]))
        )
    return {
        int(r["id"]): (
            int(r["video_id"]),
            Segment(
                float(r["start_s"]), float(r["end_s"]), str(r["text"]), tuple(words.get(int(r["id"]), ()))
            ),
        )
        for r in seg_rows
    }


def load_transcript(catalog: Catalog, video_id: int) -> Transcript | None:
    """The stored transcript of one video (``None``: never transcribed, or its audio failed)."""
    run = speech_runs(catalog).get(video_id) if catalog.has_table("speech_runs") else None
    if run is None or run.status == "failed":
        return None
    rows = catalog.query("SELECT id FROM speech_segments WHERE video_id = ? ORDER BY idx", (video_id,))
    segments = load_segments(catalog, [int(r["id"]) for r in rows])
    return Transcript(
        segments=tuple(segments[int(r["id"])][1] for r in rows),
        model=run.model,
        language=run.language,
        has_audio=run.status != "no_audio",
        duration=run.duration,
    )


# ---------------------------------------------------------------------------- lexical search
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits: "_" separates, as in unicode61


def tokens(text: str) -> list[str]:
    """Text as FTS5's ``unicode61 remove_diacritics 2`` tokenizer sees it: casefolded word runs
    without diacritics (``"Café, two"`` -> ``["cafe", "two"]``)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [t.casefold() for t in _TOKEN.findall(plain)]


def query_terms(query: str) -> list[tuple[str, ...]]:
    """The user's query as terms and phrases: ``'flour "two cups"'`` -> ``[("flour",), ("two", "cups")]``.

    Text between double quotes is one phrase (an unbalanced quote runs to the end); everything
    else is split into single terms. Punctuation is dropped as the tokenizer drops it.
    """
    out: list[tuple[str, ...]] = []
    for k, chunk in enumerate(query.split('"')):
        parts = tokens(chunk)
        if k % 2:  # inside quotes
            if parts:
                out.append(tuple(parts))
        else:
            out.extend((p,) for p in parts)
    return out


def fts_query(query: str) -> str | None:
    """An FTS5 MATCH expression for user text: each term or phrase quoted, joined by OR.

    OR lets BM25 rank segments holding more of the terms first instead of requiring all of them;
    a quoted phrase must appear as is. ``None`` when the text holds no searchable word.
    """
    terms = query_terms(query)
    if not terms:
        return None
    return " OR ".join('"' + " ".join(term) + '"' for term in dict.fromkeys(terms))


def lexical_search(catalog: Catalog, query: str, *, limit: int = 50) -> list[LexicalHit]:
    """Segments matching ``query``, best BM25 first (see :func:`fts_query` for the syntax)."""
    expression = fts_query(query)
    if expression is None or not catalog.has_table("speech_fts"):
        return []
    rows = catalog.query(
        "SELECT s.id, s.video_id, s.start_s, s.end_s, s.text, bm25(speech_fts) AS rank"
        " FROM speech_fts JOIN speech_segments AS s ON s.id = speech_fts.rowid"
        " WHERE speech_fts MATCH ? ORDER BY rank, s.id LIMIT ?",
        (expression, int(limit)),
    )
    return [
        LexicalHit(
            segment_id=int(r["id"]),
            video_id=int(r["video_id"]),
            start=float(r["start_s"]),
            end=float(r["end_s"]),
            text=str(r["text"]),
            score=-float(r["rank"]),
        )
        for r in rows
    ]


def match_words(words: Sequence[Word], query: str) -> list[int]:
    """Indices of the words that match the query's terms or phrases (phrases: consecutive words)."""
    flat: list[tuple[str, int]] = [(t, i) for i, w in enumerate(words) for t in tokens(w.text)]
    found: set[int] = set()
    for term in query_terms(query):
        n = len(term)
        for pos in range(len(flat) - n + 1):
            if tuple(t for t, _ in flat[pos : pos + n]) == term:
                found.update(i for _, i in flat[pos : pos + n])
    return sorted(found)
