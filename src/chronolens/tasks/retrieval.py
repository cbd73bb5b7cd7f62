"""Text-to-video retrieval: which videos match a query, by pooled frame similarity.

Pooling: a video's score is the mean of its ``POOL_TOP_K`` highest frame-query cosine
similarities (all frames when it has fewer). CLIP4Clip's parameter-free mean pooling averages
*every* frame, which drowns a short event in a long video (a 5 s event in a 10 min video moves the
mean by under 1%); max pooling is the opposite extreme and lets one noisy frame win. A top-k mean
keeps the event-length robustness of max while averaging out single-frame noise.

Ranking a library (``rank_library``) runs in two steps over its search view:

1. **Shortlist** (vectorised, no Python loop over videos). Small libraries: one product of the
   query with every frame, pooled per video. Large ones: the approximate frame index proposes
   ``candidate_frames`` frames; their similarities (from the table's int8 copy, within ~1e-3 of
   exact) are pooled per owning video, a video with fewer than ``POOL_TOP_K`` proposed frames
   filling the rest with the lowest proposed similarity (its unseen frames scored below every
   proposed one in the index). The best
   ``SHORTLIST`` videos go on.
2. **Exact scores** (``rank_videos``): each shortlisted video is scored on its full frame
   matrix, so the final scores and order are exactly those of scoring every video, for every
   video that reaches the shortlist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from chronolens.library.frames import FrameTable
from chronolens.library.view import SearchView

__all__ = [
    "POOL_TOP_K",
    "SHORTLIST",
    "VideoHit",
    "pool_by_owner",
    "pool_similarity",
    "rank_library",
    "rank_videos",
]

POOL_TOP_K = 5  # frames averaged for a video's score (at 1 fps: the best 5 seconds)
SHORTLIST = 16  # videos scored exactly per query (at least top_k); see rank_library and docs/search.md


@dataclass(frozen=True, slots=True)
class VideoHit:
    """One scored video with its similarity curve (kept for moment finding)."""

    video_id: int  # catalog row id
    score: float  # pooled similarity
    similarity: np.ndarray  # (T,) float32 cosine similarity of each frame with the query
    timestamps: np.ndarray  # (T,) float64 seconds


def pool_similarity(similarity: np.ndarray, *, top_k: int = POOL_TOP_K) -> float:
    """Mean of the ``top_k`` largest similarities (all of them when fewer).

    Args:
        similarity: ``(T,)`` frame-query similarities, T >= 1.
        top_k: frames averaged.
    """
    if similarity.size == 0:
        raise ValueError("pool_similarity needs at least one frame")
    k = min(top_k, similarity.size)
    best = np.partition(similarity, similarity.size - k)[similarity.size - k :]
    return float(best.mean())


def rank_videos(
    query: np.ndarray,
    video_ids: Iterable[int],
    load: Callable[[int], tuple[np.ndarray, np.ndarray]],
    *,
    top_k: int,
    pool_k: int = POOL_TOP_K,
) -> list[VideoHit]:
    """Score candidate videos exactly against a query embedding and keep the best.

    Args:
        query: ``(D,)`` float32 L2-normalised text embedding.
        video_ids: candidate video ids.
        load: returns ``(embeddings (T, D) float32, timestamps (T,) float64)`` of a video id.
        top_k: number of videos returned.
        pool_k: frames averaged per video (see ``pool_similarity``).

    Returns:
        Up to ``top_k`` hits, best first (ties broken by video id for determinism).
    """
    hits = []
    for video_id in video_ids:
        embeddings, timestamps = load(video_id)
        if embeddings.shape[0] == 0:
            continue
        similarity = embeddings @ query  # (T,)
        hits.append(VideoHit(video_id, pool_similarity(similarity, top_k=pool_k), similarity, timestamps))
    hits.sort(key=lambda h: (-h.score, h.video_id))
    return hits[:top_k]


def pool_by_owner(
    similarity: np.ndarray, owners: np.ndarray, *, top_k: int = POOL_TOP_K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per owner, the sum and count of its ``top_k`` largest similarities (vectorised).

    Args:
        similarity: ``(N,)`` similarities.
        owners: ``(N,)`` int64 owner of each similarity (any order).
        top_k: similarities kept per owner.

    Returns:
        ``ids`` ``(V,)`` ascending owners, ``sums`` ``(V,)`` float64 sum of each one's best
        ``min(top_k, n)`` similarities and ``counts`` ``(V,)`` how many those are.
    """
    if similarity.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0), empty
    order = np.lexsort((-similarity, owners))  # by owner, then best first
    sorted_owners = owners[order]
    starts = np.flatnonzero(np.r_[True, sorted_owners[1:] != sorted_owners[:-1]])
    group = np.cumsum(np.r_[False, sorted_owners[1:] != sorted_owners[:-1]])
    rank = np.arange(order.size) - starts[group]
    keep = rank < top_k
    sums = np.bincount(group[keep], weights=similarity[order][keep], minlength=starts.size)
    counts = np.bincount(group[keep], minlength=starts.size)
    return sorted_owners[starts], sums, counts


def rank_library(
    query: np.ndarray,
    view: SearchView,
    *,
    top_k: int,
    candidate_frames: int,
    pool_k: int = POOL_TOP_K,
    shortlist: int = SHORTLIST,
) -> list[VideoHit]:
    """Rank a library's searchable videos for a query embedding (see the module docstring).

    Args:
        query: ``(D,)`` float32 L2-normalised text embedding.
        view: the library's search view (``Library.search_view()``).
        top_k: number of videos returned.
        candidate_frames: frames the approximate index proposes (large libraries).
        pool_k: frames averaged per video.
        shortlist: videos scored exactly (raised to ``top_k``).

    Returns:
        Up to ``top_k`` hits, best first (ties broken by video id).
    """
    table = view.table
    shortlist = max(shortlist, top_k)
    if view.index is None:
        return _rank_exact(query, table, top_k=top_k, pool_k=pool_k, shortlist=shortlist)
    _, rows = view.index.search(query[None, :], min(candidate_frames, view.index.ntotal))
    rows = rows[0][rows[0] >= 0]
    owners = table.owners[rows]
    rows, owners = rows[owners >= 0], owners[owners >= 0]
    if rows.size == 0:
        return []
    sims = table.approx_similarity(rows, query)  # int8 copy: ~10x cheaper than the fp16 rows
    ids, sums, counts = pool_by_owner(sims, owners, top_k=pool_k)
    lengths = np.array([table.entries[int(v)].count for v in ids])
    wanted = np.minimum(lengths, pool_k)
    estimate = (sums + (wanted - counts) * float(sims.min())) / wanted
    chosen = [int(v) for v in ids[np.lexsort((ids, -estimate))[:shortlist]]]
    # Exact scores of the shortlist, from one product over all their frames.
    spans = [table.span(v) for v in chosen]
    flat = table.gather(np.concatenate([np.arange(lo, hi) for lo, hi in spans])) @ query
    bounds = np.cumsum([0] + [hi - lo for lo, hi in spans])
    curves = {v: flat[bounds[i] : bounds[i + 1]] for i, v in enumerate(chosen)}
    return _best(curves, table, top_k=top_k, pool_k=pool_k)


def _rank_exact(
    query: np.ndarray, table: FrameTable, *, top_k: int, pool_k: int, shortlist: int
) -> list[VideoHit]:
    """Exact ranking over every frame: videos scored in order of their best frame until none can win.

    A video's pooled score is at most its best frame's similarity, so once ``top_k`` scored
    videos beat every unscored video's best frame the ranking is final (usually after the first
    ``shortlist`` videos).
    """
    sims = table.dense() @ query  # (N,) every frame
    ids = np.fromiter(table.entries, dtype=np.int64, count=len(table.entries))
    if ids.size == 0:
        return []
    spans = np.array([table.span(int(v)) for v in ids], dtype=np.int64).reshape(-1, 2)
    order = np.argsort(spans[:, 0], kind="stable")
    ids, spans = ids[order], spans[order]
    # Best frame per video: reduceat over the videos' (sorted, disjoint) row ranges.
    edges = spans.reshape(-1)
    best_frame = np.maximum.reduceat(sims, edges[:-1] if edges[-1] == sims.size else edges)[::2]
    by_best = np.lexsort((ids, -best_frame))
    curves: dict[int, np.ndarray] = {}
    done = 0
    while done < by_best.size:
        for i in by_best[done : done + shortlist]:
            lo, hi = spans[i]
            curves[int(ids[i])] = sims[lo:hi]
        done += shortlist
        scores = sorted((pool_similarity(c, top_k=pool_k) for c in curves.values()), reverse=True)
        if done >= by_best.size or (len(scores) >= top_k and scores[top_k - 1] >= best_frame[by_best[done]]):
            break
    return _best(curves, table, top_k=top_k, pool_k=pool_k)


def _best(curves: dict[int, np.ndarray], table: FrameTable, *, top_k: int, pool_k: int) -> list[VideoHit]:
    """The ``top_k`` best of the scored videos (ties by id), with their curves and timestamps."""
    scored = sorted(
        ((pool_similarity(c, top_k=pool_k), v) for v, c in curves.items()), key=lambda t: (-t[0], t[1])
    )
    return [
        VideoHit(v, score, curves[v], np.array(table.frames(v)[1], dtype=np.float64))
        for score, v in scored[:top_k]
    ]
