"""Fusing visual and spoken search results into one ranking and one set of moments.

The rule (weighted reciprocal-rank fusion, Cormack, Clarke & Buettcher 2009), with
``k = FusionConfig.k`` (60) and per-modality weights ``w_visual``, ``w_speech`` (1, 1):

* **Videos.** ``score(v) = sum_m w_m / (k + rank_m(v))`` over the modalities that returned ``v``
  (ranks from 1); a modality that did not return ``v`` adds nothing. Ties go to the better best
  single-modality rank, then to the path. Videos whose fused score is 0 (only returned by a
  modality weighted 0) are dropped. Ranks, not raw scores, are fused: cosine similarities of
  frames and BM25 / cosine scores of transcript segments live on unrelated scales.
* **Moments inside a video.** Each modality's moments are ranked in its own order; moment ``i``
  of modality ``m`` starts with ``w_m / (k + i)``. A moment overlapping a moment of the *other*
  modality with temporal IoU (``chronolens.metrics.temporal.temporal_iou``) of at least
  ``iou_threshold`` also gains that moment's score (the best such one): seen and said at once is
  stronger evidence than either. Then the one greedy temporal NMS
  (``chronolens.tasks.ground.nms.temporal_nms``, IoU above ``iou_threshold`` suppresses) keeps
  the best ``moments_per_video``. A kept moment that gained from the other modality is marked
  ``"both"``; a spoken moment carries the words said.

``FusionConfig(speech_weight=0)`` reproduces the visual ranking; ``visual_weight=0`` the spoken one.

**The meaning gate** (``FusionConfig.speech_gate``, 0.3). Both rankings list nearly every video
(frame similarities and sentence-embedding cosines are defined for all of them), so plain RRF
lets an uninformative modality outvote an informative one: on ``chronolens bench speech``, where
the frames answer the visual queries and the audio the spoken ones, RRF found the right video for
27% of queries against 39% for speech alone and 24% for frames alone. The gate asks first whether
the query is *said* at all: when spoken search ran semantically (a sentence encoder was given) its
best segment's cosine to the query is the evidence (MiniLM: the right sentence's paraphrases
scored a median 0.41 there, visual queries' best segments 0.23). At or above the gate, the spoken
ranking leads and the videos only the frames found follow in visual order; below it, the visual
ranking leads and spoken evidence is left out (it did not match the query's meaning). Moments
inside a led video are fused as above. A gated video's score is ``1 / (k + position)``. That
rule found the right video for 47% of the bench's queries (75% of phrase queries, 62% of
paraphrases, 30% of visual ones); 0.3 was chosen on that bench, so it is a tunable, not a
constant of nature. Without semantic scores (lexical-only spoken search) or with
``speech_gate=None`` the plain RRF above applies.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from chronolens.metrics.temporal import temporal_iou
from chronolens.tasks.ground.nms import temporal_nms
from chronolens.tasks.search import SearchResult
from chronolens.tasks.speech_search import SpeechResult

__all__ = ["RRF_K", "FusedMoment", "FusedResult", "FusionConfig", "Modality", "fuse", "rrf", "speech_match"]

RRF_K = 60.0  # the reciprocal-rank constant of Cormack et al. (2009)
Modality = Literal["visual", "speech", "both"]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, kw_only=True, slots=True)
class FusionConfig:
    """How visual and spoken evidence are weighed (see the module docstring for the rule)."""

    k: float = RRF_K  # reciprocal-rank constant: larger flattens the gap between ranks
    visual_weight: float = 1.0  # weight of the visual ranking (>= 0)
    speech_weight: float = 1.0  # weight of the spoken ranking (>= 0)
    iou_threshold: float = 0.5  # tIoU at which moments agree (bonus) and above which NMS suppresses
    speech_gate: float | None = 0.3  # cosine at which speech leads (module docstring); None: plain RRF

    def __post_init__(self) -> None:
        if not self.k > 0:
            raise ValueError(f"FusionConfig.k must be > 0, got {self.k}")
        if self.visual_weight < 0 or self.speech_weight < 0:
            raise ValueError(
                f"FusionConfig weights must be >= 0, got visual_weight={self.visual_weight}, "
                f"speech_weight={self.speech_weight}"
            )
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"FusionConfig.iou_threshold must be in [0, 1], got {self.iou_threshold}")


@dataclass(frozen=True, kw_only=True, slots=True)
class FusedMoment:
    """One moment of a fused result."""

    start: float  # seconds
    end: float  # seconds
    score: float  # fused reciprocal-rank score
    modality: Modality  # which evidence found it ("both": seen and said)
    text: str | None = None  # the words said, for spoken moments

    def as_list(self) -> list[float]:
        """``[start, end, score]``."""
        return [self.start, self.end, self.score]


@dataclass(frozen=True, kw_only=True, slots=True)
class FusedResult:
    """One video of the fused ranking."""

    video: str  # absolute path
    score: float  # fused reciprocal-rank score
    duration: float  # seconds
    modality: Modality  # which rankings returned the video
    moments: list[FusedMoment]  # best first

    def to_json(self) -> dict[str, object]:
        """``{"video", "score", "duration", "modality", "moments": [[s, e, score]], "moment_modalities",
        "said"}`` (``said``: the words of each moment, null for visual ones)."""
        return {
            "video": self.video,
            "score": self.score,
            "duration": self.duration,
            "modality": self.modality,
            "moments": [m.as_list() for m in self.moments],
            "moment_modalities": [m.modality for m in self.moments],
            "said": [m.text for m in self.moments],
        }


def rrf(
    rankings: Mapping[str, Sequence[K]], weights: Mapping[str, float], *, k: float = RRF_K
) -> dict[K, float]:
    """Weighted reciprocal-rank fusion: ``key -> sum_m weights[m] / (k + rank_m(key))``, ranks from 1.

    A key listed twice in one ranking counts at its best rank.
    """
    scores: dict[K, float] = {}
    for name, ranking in rankings.items():
        weight = float(weights.get(name, 1.0))
        seen: set[K] = set()
        for rank, key in enumerate(ranking, 1):
            if key in seen:
                continue
            seen.add(key)
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return scores


def fuse(
    visual: Sequence[SearchResult],
    spoken: Sequence[SpeechResult],
    *,
    config: FusionConfig | None = None,
    top_k: int = 10,
    moments_per_video: int = 3,
) -> list[FusedResult]:
    """One ranking and one set of moments from visual and spoken results (the module's rule).

    Args:
        visual: ``chronolens.search`` results, best first.
        spoken: ``search_speech`` results, best first.
        config: the weights, ``k`` and IoU threshold (default ``FusionConfig()``).
        top_k: videos returned.
        moments_per_video: moments kept per video.

    Returns:
        Up to ``top_k`` results, best fused score first.
    """
    cfg = config if config is not None else FusionConfig()
    match = speech_match(spoken)
    if cfg.speech_gate is not None and match is not None:
        if match < cfg.speech_gate:  # not said: the frames decide, the speech is left out
            spoken = []
        lead, follow = (spoken, visual) if spoken else (visual, [])
        order = list(dict.fromkeys([r.video for r in lead] + [r.video for r in follow]))
        scores = {v: 1.0 / (cfg.k + position) for position, v in enumerate(order, 1)}
    else:
        weights = {"visual": cfg.visual_weight, "speech": cfg.speech_weight}
        rankings = {"visual": [r.video for r in visual], "speech": [r.video for r in spoken]}
        scores = rrf(rankings, weights, k=cfg.k)
    by_visual = {r.video: (rank, r) for rank, r in enumerate(visual, 1)}
    by_speech = {r.video: (rank, r) for rank, r in enumerate(spoken, 1)}

    def best_rank(video: str) -> int:
        return min(by_visual.get(video, (1 << 30,))[0], by_speech.get(video, (1 << 30,))[0])

    order = sorted((v for v, s in scores.items() if s > 0), key=lambda v: (-scores[v], best_rank(v), v))
    results = []
    for video in order[:top_k]:
        seen = by_visual.get(video)
        said = by_speech.get(video)
        both = seen is not None and said is not None
        modality: Modality = "both" if both else ("visual" if seen is not None else "speech")
        duration = seen[1].duration if seen is not None else said[1].duration  # type: ignore[index]
        moments = _fuse_moments(
            [(m.start, m.end, None) for m in seen[1].moments] if seen is not None else [],
            [(m.start, m.end, m.text) for m in said[1].moments] if said is not None else [],
            cfg,
            moments_per_video,
        )
        results.append(
            FusedResult(
                video=video, score=scores[video], duration=duration, modality=modality, moments=moments
            )
        )
    return results


def speech_match(spoken: Sequence[SpeechResult]) -> float | None:
    """The best sentence-embedding cosine of any spoken moment (None: none was scored semantically)."""
    values = [m.similarity for r in spoken for m in r.moments if m.similarity is not None]
    return max(values) if values else None


def _fuse_moments(
    visual: list[tuple[float, float, str | None]],
    spoken: list[tuple[float, float, str | None]],
    cfg: FusionConfig,
    keep: int,
) -> list[FusedMoment]:
    """The moments rule of the module docstring over one video's visual and spoken moments."""
    if keep < 1 or not (visual or spoken):
        return []
    items = [(s, e, t, "visual", cfg.visual_weight / (cfg.k + i)) for i, (s, e, t) in enumerate(visual, 1)]
    items += [(s, e, t, "speech", cfg.speech_weight / (cfg.k + i)) for i, (s, e, t) in enumerate(spoken, 1)]
    windows = np.array([[s, e] for s, e, *_ in items], dtype=np.float64)  # (N, 2)
    base = np.array([b for *_, b in items], dtype=np.float64)  # (N,)
    kinds = np.array([k == "visual" for *_, k, _ in items])  # (N,) True: visual
    iou = temporal_iou(windows, windows)  # (N, N)
    agree = (iou >= cfg.iou_threshold) & (kinds[:, None] != kinds[None, :])  # other modality only
    bonus = np.where(agree, base[None, :], 0.0).max(axis=1) if len(items) > 1 else np.zeros(1)
    fused = base + bonus  # (N,)
    kept = temporal_nms(windows, fused, iou_threshold=cfg.iou_threshold, max_keep=keep)
    out = []
    for i in kept:
        s, e, text, kind, _ = items[int(i)]
        if text is None and agree[i].any():  # a visual moment that was also said: show the words
            text = items[int(np.flatnonzero(agree[i])[np.argmax(base[agree[i]])])][2]
        modality: Modality = "both" if agree[i].any() and bonus[i] > 0 else kind  # type: ignore[assignment]
        if fused[i] <= 0:
            continue
        out.append(FusedMoment(start=s, end=e, score=float(fused[i]), modality=modality, text=text))
    return out
