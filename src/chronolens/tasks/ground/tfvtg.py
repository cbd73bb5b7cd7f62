"""Training-free temporal grounding after TFVTG (Zheng et al., ECCV 2024; ``minghangz/TFVTG``).

Given a query's similarity curve over a video's samples, a proposal is a window of samples
``[i, j)`` made of a *dynamic* phase ``[i, k]`` (the event begins: the similarity rises) and a
*static* phase ``[k, j)`` (the event goes on: the similarity is high). With ``g`` the curve
smoothed by a Gaussian filter and ``s`` the raw curve (TFVTG scores the rise on the smoothed
curve and the static phase on the raw one):

- the rise into sample ``k`` starts at ``i(k)``: the earliest ``i <= k`` such that every step
  ``g[t + 1] - g[t]``, ``i <= t < k``, exceeds ``rise_threshold`` (at most ``max_rise_seconds``
  back). ``i(k) = k`` when the step into ``k`` is no rise. This is where TFVTG's code starts a
  window (``dynamic_idxs``);
- ``dynamic(k) = g[k] - g[i(k)]``, the height of that rise;
- ``static(k, j) = mean(s[k:j]) - reference``, weighted by the window's size
  (``static_weighting``); the reference is ``median(s)``, the level of the ambient samples where
  nothing happens (default), or TFVTG's ``mean(s outside [k, j))`` (outside: the whole video, or
  the ``context_seconds`` either side of the window);
- every score gets ``length_prior * (j - k) / T``: negligible against any real contrast, it
  breaks ties in favour of the longer window, so a flat curve (nothing stands out, every
  contrast 0) answers with the longest window: the whole video when it fits the grid;
- the static length ``j - k`` is taken from a grid (every length up to where a ratio step of
  ``length_ratio`` exceeds one sample, then geometric), from ``min_length_seconds`` to
  ``max_length_seconds``: the cost is linear in ``T`` (``T x |grid|`` candidates, each O(1) by
  prefix sums);
- the score of a window ``[i, j)`` is the best, over transitions ``k`` whose rise starts at
  ``i``, of ``dynamic_weight * dynamic(k) + static(k, j)``.

Windows become seconds through the interval each sample stands for
(``chronolens.timebase.intervals.sample_intervals``) and are clamped to ``[0, duration]``; greedy
temporal NMS (``nms_iou``) keeps the top ones. Nothing caps the length of the video.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from chronolens.tasks.ground.candidates import TopCandidates
from chronolens.tasks.ground.decompose import Relation, combine
from chronolens.tasks.ground.nms import temporal_nms
from chronolens.tasks.ground.smoothing import gaussian_kernel, smooth_curve
from chronolens.tasks.highlights import query_saliency
from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment, clamp_span
from chronolens.timebase.grid import CLIP_LENGTH
from chronolens.timebase.intervals import median, sample_intervals, sample_step

__all__ = [
    "DEFAULT_TOP_K",
    "GroundingConfig",
    "Proposals",
    "gaussian_smooth",
    "ground",
    "ground_query",
    "length_grid",
    "propose",
    "rise_starts",
    "tfvtg_finder",
]

logger = logging.getLogger(__name__)

DEFAULT_TOP_K = 10  # windows returned by default (QVHighlights evaluates up to 10)
# How the static contrast (mean inside - mean outside) is weighted by the window's size:
# "length" multiplies by (length in s) ** length_exponent; "balance" multiplies by
# sqrt(n_in * n_out / n_context), which makes the score the two-sample t-like statistic of a
# step (inside vs outside levels) and so prefers windows whose edges match the curve's edges.
STATIC_WEIGHTINGS = ("length", "balance")
# Where a reported window starts: "rise" (TFVTG: the dynamic phase is part of the event) or
# "transition" (the dynamic phase is evidence that the event starts at k, but lies before it:
# right for abrupt onsets, where smoothing makes the rise begin before the event does).
WINDOW_STARTS = ("rise", "transition")
# What the static phase is contrasted with: "outside" (TFVTG: the mean of the samples outside the
# window, or within ``context_seconds`` of it) or "median" (the curve's median: the level of the
# ambient frames where nothing happens, which other events' rises and dips barely move).
REFERENCES = ("outside", "median")


@dataclass(frozen=True, kw_only=True)
class GroundingConfig:
    """Settings of the TFVTG-style grounder; ``GroundingConfig.tfvtg()`` gives the paper's scoring."""

    sigma_seconds: float = 1.0  # Gaussian smoothing of the curve for the rise, std in seconds (0: none)
    smooth_truncate: float = 1.0  # kernel radius in sigmas (reference: a 3-tap kernel, sigma 1 sample)
    rise_threshold: float = 0.0005  # a step of the smoothed curve is a rise above this (similarity units)
    max_rise_seconds: float | None = None  # longest dynamic phase in seconds (None: the whole rise)
    dynamic_weight: float = 0.0  # weight of the dynamic score against the static score (TFVTG: 1)
    length_exponent: float = 0.5  # "length" weighting: x (static length in s) ** this (TFVTG: 0)
    static_weighting: str = "balance"  # size weighting of the static contrast, see STATIC_WEIGHTINGS
    window_start: str = "transition"  # where a reported window starts, see WINDOW_STARTS
    min_length_seconds: float = 0.0  # shortest static phase (rounded up to >= 1 sample)
    max_length_seconds: float = 150.0  # longest static phase (QVHighlights' longest window)
    length_ratio: float = 1.1  # growth factor of the static-length grid once steps exceed 1 sample
    context_seconds: float | None = None  # "outside" is this far either side of a window (None: all)
    reference: str = "median"  # what the static phase is contrasted with, see REFERENCES
    nms_iou: float = 0.3  # temporal NMS: drop windows overlapping a kept one above this IoU (reference)
    clip_length: float = CLIP_LENGTH  # seconds per saliency clip of the result (QVHighlights convention)
    length_prior: float = 1e-6  # added to a score per fraction of the video covered: ties go to longer

    @classmethod
    def tfvtg(cls, **overrides: object) -> GroundingConfig:
        """TFVTG's own scoring: dynamic + plain-mean static score against the mean outside, windows
        start at the rise.

        The defaults differ (balanced static contrast against the curve's median, no dynamic term,
        windows start at the transition) because they measured better on chronolens' synthetic val
        split, whose events start abruptly: there the smoothed rise begins before the event does,
        and other events' rises and dips move the mean outside a window (docs/grounding.md).
        """
        base: dict[str, object] = {
            "dynamic_weight": 1.0,
            "length_exponent": 0.0,
            "static_weighting": "length",
            "window_start": "rise",
            "reference": "outside",
        }
        return cls(**{**base, **overrides})  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.sigma_seconds) and self.sigma_seconds >= 0):
            raise ValueError(f"GroundingConfig.sigma_seconds must be >= 0, got {self.sigma_seconds}")
        if not (math.isfinite(self.length_prior) and self.length_prior >= 0):
            raise ValueError(f"GroundingConfig.length_prior must be >= 0, got {self.length_prior}")
        if not self.smooth_truncate > 0:
            raise ValueError(f"GroundingConfig.smooth_truncate must be > 0, got {self.smooth_truncate}")
        if not (math.isfinite(self.rise_threshold) and self.rise_threshold >= 0):
            # >= 0 keeps every rise increasing, so the earliest start is the best one.
            raise ValueError(f"GroundingConfig.rise_threshold must be >= 0, got {self.rise_threshold}")
        if self.max_rise_seconds is not None and not self.max_rise_seconds >= 0:
            raise ValueError(f"GroundingConfig.max_rise_seconds must be >= 0, got {self.max_rise_seconds}")
        if not (math.isfinite(self.dynamic_weight) and self.dynamic_weight >= 0):
            raise ValueError(f"GroundingConfig.dynamic_weight must be >= 0, got {self.dynamic_weight}")
        if self.static_weighting not in STATIC_WEIGHTINGS:
            raise ValueError(
                f"GroundingConfig.static_weighting must be one of {STATIC_WEIGHTINGS}, "
                f"got {self.static_weighting!r}"
            )
        if self.reference not in REFERENCES:
            raise ValueError(f"GroundingConfig.reference must be one of {REFERENCES}, got {self.reference!r}")
        if self.window_start not in WINDOW_STARTS:
            raise ValueError(
                f"GroundingConfig.window_start must be one of {WINDOW_STARTS}, got {self.window_start!r}"
            )
        if not (math.isfinite(self.length_exponent) and 0 <= self.length_exponent <= 1):
            raise ValueError(f"GroundingConfig.length_exponent must be in [0, 1], got {self.length_exponent}")
        if not self.min_length_seconds >= 0:
            raise ValueError(
                f"GroundingConfig.min_length_seconds must be >= 0, got {self.min_length_seconds}"
            )
        if not (math.isfinite(self.max_length_seconds) and self.max_length_seconds > 0):
            raise ValueError(f"GroundingConfig.max_length_seconds must be > 0, got {self.max_length_seconds}")
        if self.max_length_seconds < self.min_length_seconds:
            raise ValueError("GroundingConfig.max_length_seconds must be >= min_length_seconds")
        if not self.length_ratio > 1:
            raise ValueError(f"GroundingConfig.length_ratio must be > 1, got {self.length_ratio}")
        if self.context_seconds is not None and not self.context_seconds > 0:
            raise ValueError(f"GroundingConfig.context_seconds must be > 0, got {self.context_seconds}")
        if not 0.0 <= self.nms_iou <= 1.0:
            raise ValueError(f"GroundingConfig.nms_iou must be in [0, 1], got {self.nms_iou}")
        if not self.clip_length > 0:
            raise ValueError(f"GroundingConfig.clip_length must be > 0, got {self.clip_length}")


@dataclass(frozen=True)
class Proposals:
    """Every scored candidate of one curve, stored compactly (windows are samples ``[start, end)``).

    Candidates are grouped by static length: candidate ``offsets[b] + k`` has transition ``k``,
    static length ``lengths[b]`` and end ``k + lengths[b]``; its start is ``rise_start[k]``.
    Use :meth:`decode` for the sample indices of any subset.

    Attributes:
        score: (N,) float64 ``dynamic_weight * dynamic + static``.
        offsets: (B + 1,) int64 first candidate of each length group (last: N).
        lengths: (B,) int64 static length of each group, in samples.
        rise_start: (T,) int64 first sample of the rise into each transition.
    """

    score: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    rise_start: np.ndarray

    def decode(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start, transition and end (exclusive) sample of candidates ``idx`` (each (n,) int64)."""
        idx = np.asarray(idx, dtype=np.int64)
        group = np.searchsorted(self.offsets, idx, side="right") - 1  # (n,)
        transition = idx - self.offsets[group]
        return self.rise_start[transition], transition, transition + self.lengths[group]


_DEFAULT_CONFIG = GroundingConfig()  # built (and validated) once, not per call
# Largest sum of |similarity| the fast path takes: sums stay finite however they are formed.
_FAST_MAX_SUM = 1e300


def _to_samples(seconds: float, step: float) -> int:
    return math.floor(seconds / step + 1e-9)


@lru_cache(maxsize=64)
def length_grid(min_length: int, max_length: int, ratio: float) -> tuple[int, ...]:
    """Static-phase lengths in samples: every integer while ``ratio`` steps are < 1, then geometric.

    Args:
        min_length: shortest length (>= 1).
        max_length: longest length (>= min_length); always included.
        ratio: growth factor (> 1).

    Returns:
        Increasing lengths from ``min_length`` to ``max_length``.
    """
    lengths = []
    n = max(1, min_length)
    while n < max_length:
        lengths.append(n)
        n = max(n + 1, math.ceil(n * ratio - 1e-9))
    lengths.append(max(max_length, max(1, min_length)))
    return tuple(lengths)


def _static_lengths(config: GroundingConfig, step: float, t: int) -> list[int]:
    """The static-length grid of a curve of ``t`` samples ``step`` seconds apart (lengths <= t)."""
    lo_len = max(1, math.ceil(config.min_length_seconds / step - 1e-9))
    hi_len = max(lo_len, min(t, _to_samples(config.max_length_seconds, step)))
    return [n for n in length_grid(lo_len, hi_len, config.length_ratio) if n <= t]


def gaussian_smooth(curve: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    """Normalised Gaussian filter, edges padded with the nearest value.

    Args:
        curve: (T,) values.
        sigma: standard deviation in samples (0: a copy of the curve).
        truncate: kernel radius in sigmas.

    Returns:
        (T,) float64.
    """
    return smooth_curve(curve, gaussian_kernel(sigma, truncate), edges="nearest")


def rise_starts(smoothed: np.ndarray, threshold: float, max_rise: int | None) -> np.ndarray:
    """For each sample ``k``, the first sample of the rise into ``k`` (``k`` itself when none).

    Args:
        smoothed: (T,) smoothed curve.
        threshold: minimum step of a rise.
        max_rise: longest rise in samples (``None``: unbounded).

    Returns:
        (T,) int64 ``i(k) <= k``.
    """
    t = smoothed.shape[0]
    rising = np.diff(smoothed) > threshold  # (T - 1,) step t -> t + 1 rises
    idx = np.arange(t)
    # Last sample before k where the step into it was *not* a rise: the run of rises starts there.
    not_rise = np.concatenate([[True], ~rising])  # (T,) step into k is no rise (or k == 0)
    last_break = np.maximum.accumulate(np.where(not_rise, idx, 0))  # (T,)
    starts = last_break
    if max_rise is not None:
        starts = np.maximum(starts, idx - max_rise)
    return starts.astype(np.int64)


def propose(
    similarity: np.ndarray, timestamps: np.ndarray, duration: float, config: GroundingConfig
) -> Proposals:
    """Score every candidate window of one curve (vectorised, ``O(T x |grid|)``).

    Args:
        similarity: (T,) query-frame similarities.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        config: settings.

    Returns:
        The candidates, in (static length, transition) order.
    """
    s = np.asarray(similarity, dtype=np.float64)
    t = s.shape[0]
    step = sample_step(timestamps, duration)
    g = gaussian_smooth(s, config.sigma_seconds / step, config.smooth_truncate)
    max_rise = None if config.max_rise_seconds is None else _to_samples(config.max_rise_seconds, step)
    first = rise_starts(g, config.rise_threshold, max_rise)  # (T,)
    dynamic = config.dynamic_weight * (g - g[first])  # (T,)
    prefix = np.concatenate([[0.0], np.cumsum(s)])  # (T + 1,)
    total = prefix[-1]
    context = None if config.context_seconds is None else max(1, _to_samples(config.context_seconds, step))
    grid = _static_lengths(config, step, t)
    if context is not None:
        # Prefix sums padded with their edge values so window +- context is a plain slice.
        padded = np.concatenate([np.zeros(context), prefix, np.full(context, total)])  # (T + 1 + 2c,)
    ambient = float(np.median(s)) if config.reference == "median" else 0.0
    scores = []
    for n in grid:
        m = t - n + 1  # transitions k = 0 .. m - 1, ends j = k + n (slices, no gathers)
        inside = prefix[n:] - prefix[:m]  # (m,)
        if context is None:
            # A window covering everything has no outside: it contrasts with nothing (score 0).
            outside = (total - inside) / (t - n) if t > n else inside / n
        else:
            hi = padded[2 * context + n : 2 * context + n + m]  # prefix[min(j + c, T)]
            lo = padded[:m]  # prefix[max(k - c, 0)]
            out_n = (
                np.minimum(np.arange(n + context, n + context + m), t)
                - np.maximum(np.arange(-context, m - context), 0)
                - n
            )  # (m,) samples in the context outside the window
            outside = np.divide(hi - lo - inside, out_n, out=inside / n, where=out_n > 0)
        if config.reference == "median":
            outside = ambient
        contrast = inside / n - outside  # (m,) mean inside minus the reference level
        if config.static_weighting == "balance":
            n_out = (t - n) if context is None else out_n  # samples outside (scalar or (m,))
            contrast = contrast * np.sqrt(n * n_out / (n + n_out + 1e-12))
        elif config.length_exponent:
            contrast = contrast * (n * step) ** config.length_exponent
        scores.append(dynamic[:m] + contrast + config.length_prior * (n / t))
    sizes = np.array([t - n + 1 for n in grid], dtype=np.int64)
    return Proposals(
        score=np.concatenate(scores) if scores else np.zeros(0),
        offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        lengths=np.asarray(grid, dtype=np.int64),
        rise_start=first,
    )


def _validate_curve(
    similarity: np.ndarray, timestamps: np.ndarray, duration: float
) -> tuple[np.ndarray, np.ndarray]:
    sim = np.asarray(similarity, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    if sim.ndim != 1 or sim.shape != ts.shape:
        raise ValueError(f"similarity and timestamps must both be (T,), got {sim.shape} and {ts.shape}")
    if not (math.isfinite(duration) and duration >= 0):
        raise ValueError(f"duration must be finite and >= 0, got {duration}")
    if not np.isfinite(sim).all():
        raise ValueError("similarity must be finite")
    return sim, ts


def _best_windows_of_all(
    sim: np.ndarray, ts: np.ndarray, duration: float, cfg: GroundingConfig, top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (K,) and windows (K, 2) NMS keeps, from every candidate :func:`propose` scores."""
    props = propose(sim, ts, duration, cfg)
    sample_start, sample_end = sample_intervals(ts, duration)

    def windows_of(idx: np.ndarray) -> np.ndarray:
        start, transition, end = props.decode(idx)
        if cfg.window_start == "transition":
            start = transition
        lo = np.clip(sample_start[start], 0.0, duration)  # (n,) seconds
        hi = np.clip(sample_end[end - 1], 0.0, duration)  # (n,)
        return np.stack([lo, hi], axis=1)  # (n, 2)

    keep = temporal_nms(windows_of, props.score, iou_threshold=cfg.nms_iou, max_keep=top_k)
    return props.score[keep], windows_of(keep)


def _best_windows(
    sim: np.ndarray, ts: np.ndarray, duration: float, cfg: GroundingConfig, top_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`_best_windows_of_all` returns, scoring only the candidates NMS visits.

    The scores are :func:`propose`'s, bit for bit (``chronolens.tasks.ground.candidates``); only
    ``context_seconds=None`` (a static phase contrasted with the whole video) takes this path.
    """
    t = sim.shape[0]
    step = sample_step(ts, duration)
    lengths = _static_lengths(cfg, step, t)
    if not lengths:
        return np.zeros(0), np.zeros((0, 2))
    first = None
    # A zero weight makes every dynamic score the same signed zero (rises only go up): no need
    # to smooth unless windows start at the rise.
    dynamic: np.ndarray | float = cfg.dynamic_weight * 0.0
    if cfg.dynamic_weight or cfg.window_start == "rise":
        g = gaussian_smooth(sim, cfg.sigma_seconds / step, cfg.smooth_truncate)
        max_rise = None if cfg.max_rise_seconds is None else _to_samples(cfg.max_rise_seconds, step)
        first = rise_starts(g, cfg.rise_threshold, max_rise)  # (T,)
        if cfg.dynamic_weight:
            dynamic = cfg.dynamic_weight * (g - g[first])  # (T,)
    # propose's size weights and length priors, group by group (same arithmetic: integer products
    # are exact, int / int and int / float round the same quotient once, sqrt is correctly rounded).
    n = np.asarray(lengths, dtype=np.int64)  # (B,)
    if cfg.static_weighting == "balance":
        weights = np.sqrt(n * (t - n) / (n + (t - n) + 1e-12))
    else:
        weights = np.asarray(
            [(m * step) ** cfg.length_exponent if cfg.length_exponent else 1.0 for m in lengths],
            dtype=np.float64,
        )
    top = TopCandidates(
        prefix=np.concatenate([[0.0], np.cumsum(sim)]),
        lengths=n,
        dynamic=dynamic,
        ambient=median(sim) if cfg.reference == "median" else None,
        weights=weights,
        priors=cfg.length_prior * (n / t),
    )
    sample_start, sample_end = sample_intervals(ts, duration)
    starts = None if cfg.window_start == "transition" else first
    kept = top.nms(sample_start, sample_end, starts, duration, iou_threshold=cfg.nms_iou, max_keep=top_k)
    return kept[1], kept[2]


def ground(
    similarity: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    *,
    config: GroundingConfig | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> GroundingResult:
    """Ground one query in one video from its similarity curve.

    Args:
        similarity: (T,) query-frame similarities (any T: nothing caps the video length).
        timestamps: (T,) seconds of each sample, increasing.
        duration: video duration in seconds.
        config: settings (default ``GroundingConfig()``).
        top_k: windows returned (after NMS).

    Returns:
        Up to ``top_k`` windows in seconds, best first, clamped to ``[0, duration]``, and the
        query's per-clip saliency.
    """
    cfg = config or _DEFAULT_CONFIG
    sim, ts = _validate_curve(similarity, timestamps, duration)
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if sim.size == 0:
        return GroundingResult(
            windows=(), saliency=(0.0,), clip_length=cfg.clip_length, duration=float(duration)
        )
    if cfg.context_seconds is None and float(np.abs(sim).max()) * sim.size < _FAST_MAX_SUM:
        scores, windows = _best_windows(sim, ts, duration, cfg, top_k)
    else:
        scores, windows = _best_windows_of_all(sim, ts, duration, cfg, top_k)
    moments = []
    for (start, end), score in zip(windows.tolist(), scores.tolist(), strict=True):
        span = clamp_span(start, end, duration)
        moments.append(Moment(span.start, span.end, score))
    saliency = query_saliency(sim, ts, duration, clip_length=cfg.clip_length)
    return GroundingResult(
        windows=tuple(moments),
        saliency=tuple(saliency.tolist()),
        clip_length=cfg.clip_length,
        duration=float(duration),
    )


def tfvtg_finder(similarity: np.ndarray, timestamps: np.ndarray, duration: float, top_k: int) -> list[Moment]:
    """``ground`` with default settings in the ``MomentFinder`` shape (registered as ``"grounder"``)."""
    return list(ground(similarity, timestamps, duration, top_k=top_k).windows)


def ground_query(
    embeddings: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    text_embedding: np.ndarray | Sequence[np.ndarray],
    *,
    relation: Relation = "sequential",
    config: GroundingConfig | None = None,
    top_k: int = DEFAULT_TOP_K,
    per_part: int = 3,
) -> GroundingResult:
    """Ground a query given as one text embedding, or a composite one given as its parts.

    Args:
        embeddings: (T, D) L2-normalised frame embeddings.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        text_embedding: (D,) for a plain query; (P, D) or a list of P (D,) for the sub-queries of
            a composite query, in event order (see ``chronolens.tasks.ground.decompose``).
        relation: how the P > 1 parts relate, ``"sequential"`` or ``"simultaneous"``.
        config: grounding settings.
        top_k: windows returned.
        per_part: proposals per sub-query enumerated when combining (TFVTG uses 3).

    Returns:
        The grounding; for a composite query, the combined windows followed by the windows of the
        mean curve of the parts (the fallback when no combination satisfies the relation).
    """
    cfg = config or GroundingConfig()
    frames = np.asarray(embeddings, dtype=np.float32)
    queries = np.atleast_2d(np.asarray(text_embedding, dtype=np.float32))  # (P, D)
    if frames.ndim != 2 or queries.shape[1] != frames.shape[1]:
        raise ValueError(
            f"embeddings (T, D) and text embeddings (P, D) disagree: {frames.shape}, {queries.shape}"
        )
    curves = (frames @ queries.T).T.astype(np.float64)  # (P, T)
    if curves.shape[0] == 1:
        return ground(curves[0], timestamps, duration, config=cfg, top_k=top_k)
    if relation not in ("sequential", "simultaneous"):
        raise ValueError(f"relation must be 'sequential' or 'simultaneous' for {curves.shape[0]} parts")
    parts = [ground(c, timestamps, duration, config=cfg, top_k=max(per_part, 1)).windows for c in curves]
    combined = combine(parts, relation, per_part=per_part)
    whole = ground(curves.mean(axis=0), timestamps, duration, config=cfg, top_k=top_k)
    ranked = combined + [m for m in whole.windows if m.score < (combined[-1].score if combined else math.inf)]
    # Keep the ranking monotone: fallback windows only after (and below) the combined ones.
    return GroundingResult(
        windows=tuple(ranked[:top_k]),
        saliency=whole.saliency,
        clip_length=cfg.clip_length,
        duration=float(duration),
    )
