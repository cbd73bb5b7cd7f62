"""Search a library: which videos match a text query, and where inside them.

1. **Retrieval** (``chronolens.tasks.retrieval.rank_library``): the whole query text is embedded
   once; a vectorised shortlist over the library's frame table (every frame, or the query's
   nearest frames in its approximate index) picks the videos scored exactly by pooled frame
   similarity.
2. **Grounding** (``chronolens.tasks.ground``): inside each of the ``top_k`` videos the moments
   come from the training-free grounder over the video's similarity curve. A composite query
   ("A then B", "A while B") is split by ``decompose`` exactly as ``chronolens ground`` splits it:
   each part is grounded and the parts' windows are combined (``ground_query``); ranking still uses
   the whole text, which names both events. ``decompose=False`` grounds the whole text as one
   query.
3. **Saliency** (optional): the query's per-clip saliency of each hit on the 2 s clip grid.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from chronolens.library.library import Library
from chronolens.tasks.ground.batched import ground_batch, ground_windows_batch
from chronolens.tasks.ground.decompose import Relation
from chronolens.tasks.ground.decompose import decompose as split_query
from chronolens.tasks.ground.tfvtg import GroundingConfig, ground_query
from chronolens.tasks.results import GroundingResult
from chronolens.tasks.retrieval import VideoHit, rank_library
from chronolens.timebase import Moment

__all__ = ["SearchResult", "search"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchResult:
    """One video matching a query, with its best moments."""

    video: str  # absolute path of the video file
    score: float  # pooled frame-query similarity (see chronolens.tasks.retrieval)
    moments: list[Moment]  # best spans inside the video, best first
    duration: float  # video duration in seconds
    saliency: tuple[float, ...] | None = None  # per CLIP_LENGTH clip in [0, 1], when asked for

    def to_json(self) -> dict[str, object]:
        """``{"video", "score", "duration", "moments": [[start, end, score], ...]}`` (+ ``"saliency"``)."""
        out: dict[str, object] = {
            "video": self.video,
            "score": self.score,
            "duration": self.duration,
            "moments": [m.as_list() for m in self.moments],
        }
        if self.saliency is not None:
            out["saliency"] = list(self.saliency)
        return out


def search(
    library: Library | str | os.PathLike[str],
    query: str,
    *,
    top_k: int = 10,
    moments_per_video: int = 3,
    decompose: bool = True,
    saliency: bool = False,
    config: GroundingConfig | None = None,
) -> list[SearchResult]:
    """Find the videos (and moments inside them) that best match a text query.

    Args:
        library: an open ``Library``, or the path of one (opened for the call).
        query: free text; "A then B" / "A while B" are split unless ``decompose`` is false.
        top_k: number of videos returned.
        moments_per_video: best moments returned per video (0: none).
        decompose: split composite queries into their parts for grounding.
        saliency: also return each hit's per-clip saliency of the query.
        config: grounder settings (default ``GroundingConfig()``).

    Returns:
        Up to ``top_k`` results, best first.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if moments_per_video < 0:
        raise ValueError(f"moments_per_video must be >= 0, got {moments_per_video}")
    if not isinstance(library, Library):
        with Library.open(library, create=False) as opened:
            return search(
                opened,
                query,
                top_k=top_k,
                moments_per_video=moments_per_video,
                decompose=decompose,
                saliency=saliency,
                config=config,
            )
    view = library.search_view()
    records = view.records
    if not records:
        return []
    parts = split_query(query) if decompose else None
    composite = parts is not None and parts.relation != "single"
    texts = [query, *parts.parts] if composite and parts is not None else [query]
    embedded = library.encoder.encode_texts(texts).astype(np.float32)  # (1 + P, D)
    q = embedded[0]  # (D,) the whole text ranks the videos
    hits = rank_library(q, view, top_k=top_k, candidate_frames=library.ann_config.candidate_frames)
    per_hit = max(moments_per_video, 1)
    found: list[GroundingResult | None] = [None] * len(hits)
    if moments_per_video or saliency:
        if composite and parts is not None:
            for i, hit in enumerate(hits):
                duration = records[hit.video_id].duration
                found[i] = _ground_parts(
                    library, hit, embedded[1:], parts.relation, duration, per_hit, config
                )
        else:
            durations = [records[h.video_id].duration for h in hits]
            found = list(_ground_hits(hits, durations, per_hit, saliency, config))
    results = []
    for hit, grounded in zip(hits, found, strict=True):
        record = records[hit.video_id]
        moments: list[Moment] = list(grounded.windows[:moments_per_video]) if grounded is not None else []
        results.append(
            SearchResult(
                video=record.path,
                score=hit.score,
                moments=moments,
                duration=record.duration,
                saliency=grounded.saliency if saliency and grounded is not None else None,
            )
        )
    return results


def _ground_hits(
    hits: list[VideoHit], durations: list[float], top_k: int, saliency: bool, config: GroundingConfig | None
) -> list[GroundingResult]:
    """``ground`` on every hit's curve, in one vectorised pass (``ground_batch``: same results);
    without ``saliency`` the results carry none (``()``, never returned)."""
    sims, times = [h.similarity for h in hits], [h.timestamps for h in hits]
    if saliency:
        return ground_batch(sims, times, durations, config=config, top_k=top_k)
    windows = ground_windows_batch(sims, times, durations, config=config, top_k=top_k)
    clip = (config or GroundingConfig()).clip_length
    return [
        GroundingResult(windows=w, saliency=(), clip_length=clip, duration=float(d))
        for w, d in zip(windows, durations, strict=True)
    ]


def _ground_parts(
    library: Library,
    hit: VideoHit,
    parts: np.ndarray,
    relation: Relation,
    duration: float,
    top_k: int,
    config: GroundingConfig | None,
) -> GroundingResult:
    """Ground a composite query's parts ``(P, D)`` in one hit and combine them."""
    embeddings, _ = library.load(hit.video_id)  # cached by the ranking that just read it
    return ground_query(
        embeddings,
        hit.timestamps,
        duration,
        parts,
        relation=relation,
        config=config,
        top_k=max(top_k, 1),
    )
