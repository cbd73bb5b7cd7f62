"""Spoken-word search: which videos *say* what the query asks, and when (the words' times).

Three modes over the library's transcripts (``chronolens.library.transcripts``):

* ``"lexical"``: FTS5 BM25 over the segments (terms OR'd, ``"quoted phrases"`` exact); a hit's
  moment is trimmed to the matched words' times (the whole segment when it has no word times,
  e.g. subtitles). Score: ``-bm25``.
* ``"semantic"``: cosine similarity of the query's sentence embedding with each segment's
  (``--text-encoder``, default ``builtin:minilm``), so "baking" finds "two cups of flour". Segment
  embeddings missing for that encoder are computed once and stored (when the library is writable
  and free; else kept for this call only). Score: the cosine.
* ``"both"``: the two segment rankings fused by weighted reciprocal rank
  (``chronolens.tasks.fusion.rrf``, ``k`` = 60); lexically matched segments keep their trimmed span.

A video's score is its best segment's; its moments are its best segments, best first.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from chronolens.encoders.sentence import DEFAULT_TEXT_ENCODER, TextEncoder, load_text_encoder
from chronolens.errors import LibraryError
from chronolens.library.library import Library
from chronolens.library.transcripts import (
    lexical_search,
    load_embeddings,
    load_segments,
    match_words,
    save_embeddings,
)
from chronolens.speech.base import Segment

__all__ = ["SPEECH_MODES", "SpeechMode", "SpeechResult", "SpokenMoment", "search_speech"]

logger = logging.getLogger(__name__)

SpeechMode = Literal["lexical", "semantic", "both"]
SPEECH_MODES: tuple[SpeechMode, ...] = ("lexical", "semantic", "both")
CANDIDATE_SEGMENTS = 200  # segments taken from each ranking before grouping by video
RRF_K = 60.0  # reciprocal-rank constant when lexical and semantic rankings are fused


@dataclass(frozen=True, kw_only=True, slots=True)
class SpokenMoment:
    """A moment of speech: its span, the segment's text, and how it matched."""

    start: float  # seconds
    end: float  # seconds
    score: float  # the mode's score (see the module docstring)
    text: str  # the segment's text
    match: SpeechMode  # "lexical", "semantic" or "both"
    similarity: float | None = None  # the segment's sentence-embedding cosine to the query (semantic modes)

    def as_list(self) -> list[float]:
        """``[start, end, score]``."""
        return [self.start, self.end, self.score]


@dataclass(frozen=True, kw_only=True, slots=True)
class SpeechResult:
    """One video whose speech matches a query."""

    video: str  # absolute path
    score: float  # its best moment's score
    duration: float  # seconds
    moments: list[SpokenMoment]  # best first

    def to_json(self) -> dict[str, object]:
        """``{"video", "score", "duration", "moments": [[s, e, score]], "said": [text, ...]}``."""
        return {
            "video": self.video,
            "score": self.score,
            "duration": self.duration,
            "moments": [m.as_list() for m in self.moments],
            "said": [m.text for m in self.moments],
        }


def _trimmed(segment: Segment, query: str) -> tuple[float, float]:
    """The span of the words matching the query (the segment's span without word times)."""
    hit = match_words(segment.words, query)
    if not hit:
        return segment.start, segment.end
    return segment.words[hit[0]].start, segment.words[hit[-1]].end


# catalog connection -> (its generation, encoder name, segment ids, (S, D) matrix): a process that
# keeps a library open (chronolens serve, a notebook) reads the segment vectors once per change of
# the catalog instead of once per query (373 ms -> one matrix product at 20,000 segments).
_MATRICES: weakref.WeakKeyDictionary[object, tuple[object, str, list[int], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def _segment_matrix(
    library: Library, encoder: TextEncoder, indexed: set[int]
) -> tuple[list[int], np.ndarray]:
    """The indexed videos' segment ids and their ``(S, D)`` embeddings, computing missing ones."""
    catalog = library.catalog
    cached = _MATRICES.get(catalog)
    if cached is not None and cached[0] == catalog.generation() and cached[1] == encoder.name:
        return cached[2], cached[3]
    segments = {s: v for s, (v, _) in load_segments(catalog).items() if v in indexed}
    if not segments:
        return [], np.zeros((0, 0), np.float32)
    ids, vectors = load_embeddings(library.catalog, encoder.name)
    have = {int(s): i for i, s in enumerate(ids)}
    missing = sorted(set(segments) - set(have))
    if missing:
        texts = load_segments(library.catalog, missing)
        new = np.asarray(encoder.encode_texts([texts[s][1].text for s in missing]), dtype=np.float32)
        _store(library, encoder.name, missing, new)
        vectors = np.concatenate([vectors.reshape(len(ids), -1), new]) if len(ids) else new
        have.update({s: len(ids) + k for k, s in enumerate(missing)})
    order = sorted(segments)
    matrix = np.ascontiguousarray(vectors[[have[s] for s in order]])  # (S, D)
    _MATRICES[catalog] = (catalog.generation(), encoder.name, order, matrix)
    return order, matrix


def _semantic(
    library: Library, query: str, encoder: TextEncoder, indexed: set[int], limit: int
) -> list[tuple[int, float]]:
    """``(segment id, cosine)`` best first, over the segments of indexed videos."""
    order, matrix = _segment_matrix(library, encoder, indexed)
    if not order:
        return []
    q = np.asarray(encoder.encode_texts([query]), dtype=np.float32)[0]  # (D,)
    cosine = matrix @ q  # (S,)
    best = np.argsort(-cosine, kind="stable")[:limit]
    return [(order[i], float(cosine[i])) for i in best]


def _store(library: Library, encoder: str, segment_ids: Sequence[int], vectors: np.ndarray) -> None:
    """Keep newly computed segment embeddings in the library when it can be written now."""
    if library.read_only:
        return
    try:
        with library.writing() as (catalog, _store):
            save_embeddings(catalog, encoder, segment_ids, vectors)
    except LibraryError as exc:  # another process is indexing: they are recomputed next time
        logger.info("segment embeddings not stored: %s", exc)


def search_speech(
    library: Library,
    query: str,
    *,
    mode: SpeechMode = "both",
    text_encoder: TextEncoder | str | None = None,
    top_k: int = 10,
    moments_per_video: int = 3,
) -> list[SpeechResult]:
    """Find the videos whose transcripts match ``query`` and the moments it is said.

    Args:
        library: an open library with transcripts (``chronolens index --speech``).
        query: free text; ``"quoted phrases"`` are exact in lexical search.
        mode: ``"lexical"``, ``"semantic"`` or ``"both"``.
        text_encoder: the sentence encoder (or its name) of semantic search; default
            ``builtin:minilm``.
        top_k: videos returned.
        moments_per_video: moments returned per video.

    Returns:
        Up to ``top_k`` results, best first (empty when the library has no transcripts).
    """
    if mode not in SPEECH_MODES:
        raise ValueError(f"mode must be one of {', '.join(SPEECH_MODES)}, got {mode!r}")
    records = library.indexed()
    lexical = [
        h for h in lexical_search(library.catalog, query, limit=CANDIDATE_SEGMENTS) if h.video_id in records
    ]
    semantic: list[tuple[int, float]] = []
    if mode != "lexical":
        encoder = (
            text_encoder
            if isinstance(text_encoder, TextEncoder)
            else load_text_encoder(text_encoder or DEFAULT_TEXT_ENCODER)
        )
        semantic = _semantic(library, query, encoder, set(records), CANDIDATE_SEGMENTS)
    if mode == "lexical":
        ranked = [(h.segment_id, h.score) for h in lexical]
    elif mode == "semantic":
        ranked = semantic
    else:
        from chronolens.tasks.fusion import rrf

        fused = rrf(
            {"lexical": [h.segment_id for h in lexical], "semantic": [s for s, _ in semantic]}, {}, k=RRF_K
        )
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
    lexical_ids = {h.segment_id for h in lexical}
    semantic_ids = {s for s, _ in semantic}
    cosines = dict(semantic)
    segments = load_segments(library.catalog, [s for s, _ in ranked])
    grouped: dict[int, list[SpokenMoment]] = {}
    for segment_id, score in ranked:
        video_id, segment = segments[segment_id]
        lexically = segment_id in lexical_ids
        start, end = _trimmed(segment, query) if lexically else (segment.start, segment.end)
        duration = records[video_id].duration
        start, end = min(max(start, 0.0), duration), min(max(end, 0.0), duration)
        match: SpeechMode = ("both" if segment_id in semantic_ids else "lexical") if lexically else "semantic"
        grouped.setdefault(video_id, []).append(
            SpokenMoment(
                start=start,
                end=max(start, end),
                score=score,
                text=segment.text,
                match=match,
                similarity=cosines.get(segment_id),
            )
        )
    results = [
        SpeechResult(
            video=records[v].path,
            score=moments[0].score,
            duration=records[v].duration,
            moments=moments[:moments_per_video],
        )
        for v, moments in grouped.items()  # insertion order: best segment first
    ]
    return results[:top_k]
