"""The TFVTG grounder over many short curves at once: what ``ground`` returns per curve, in one pass.

A search grounds its ten hits on curves of ~100 samples each; one ``ground`` call per hit is
mostly fixed cost (validation, the candidate table, NMS's loop), paid ten times. Here the curves
of the same length and static-length grid are stacked, every candidate of all of them is scored
in one ``(H, B, T)`` pass, and greedy temporal NMS runs over all of them together (one masked
max per kept window across the ``H`` rows).

The results are ``ground``'s, bit for bit (``tests/tasks/test_batched_grounding.py``):

- the scores are :class:`~chronolens.tasks.ground.candidates.TopCandidates`' ``all_scores``: the
  same floating-point operations on the same operands, broadcast over the stacked curves;
- greedy NMS over *every* candidate keeps what ``nms_over_chunks`` keeps from its best chunks
  (its own invariant: greedy NMS on a prefix of the visiting order keeps the first windows of
  greedy NMS on all), visiting in the same order (best score, earliest start, earliest end,
  lowest candidate index).

Curves the batch does not cover go through ``ground`` itself: a window contrasted with its
context (``context_seconds``), sums too large for the fast path, more than
``FULL_SCORE_MAX`` candidates (long videos: the block bounds of the per-curve path are cheaper
there), an empty curve, or a candidate scored ``-inf``/NaN or windowed with NaN (NMS's sorted
fallback orders those).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from chronolens.metrics.temporal import temporal_iou
from chronolens.tasks.ground.candidates import FULL_SCORE_MAX
from chronolens.tasks.ground.nms import NMS_CHUNK_PER_KEEP, NMS_FIRST_CHUNK
from chronolens.tasks.ground.tfvtg import (
    _DEFAULT_CONFIG,
    _FAST_MAX_SUM,
    DEFAULT_TOP_K,
    GroundingConfig,
    _static_lengths,
    _to_samples,
    _validate_curve,
    gaussian_smooth,
    ground,
    rise_starts,
)
from chronolens.tasks.highlights import query_saliency
from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment, clamp_span
from chronolens.timebase.intervals import median, sample_intervals, sample_step

__all__ = ["ground_batch", "ground_windows_batch"]


def ground_windows_batch(
    similarities: Sequence[np.ndarray],
    timestamps: Sequence[np.ndarray],
    durations: Sequence[float],
    *,
    config: GroundingConfig | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> list[tuple[Moment, ...]]:
    """The windows ``ground`` returns for each curve (``ground(...).windows``), computed together.

    Args:
        similarities: H curves, each (T_h,) query-frame similarities.
        timestamps: H (T_h,) seconds of each sample, increasing.
        durations: H video durations in seconds.
        config: settings (default ``GroundingConfig()``).
        top_k: windows per curve (after NMS).

    Returns:
        H tuples of up to ``top_k`` moments, best first: ``ground``'s, bit for bit.
    """
    cfg = config or _DEFAULT_CONFIG
    if not len(similarities) == len(timestamps) == len(durations):
        raise ValueError(
            f"similarities, timestamps and durations must have one entry per curve, got "
            f"{len(similarities)}, {len(timestamps)} and {len(durations)}"
        )
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    out: list[tuple[Moment, ...] | None] = [None] * len(similarities)
    groups: dict[tuple[int, tuple[int, ...]], list[int]] = {}
    curves = []
    for h, (sim, ts, duration) in enumerate(zip(similarities, timestamps, durations, strict=True)):
        s, t = _validate_curve(sim, ts, duration)
        curves.append((s, t, float(duration)))
        if _batchable(s, cfg):
            lengths = _static_lengths(cfg, sample_step(t, duration), s.size)
            n = sum(s.size - m + 1 for m in lengths)
            if lengths and n <= FULL_SCORE_MAX:
                groups.setdefault((s.size, tuple(lengths)), []).append(h)
                continue
        out[h] = ground(s, t, duration, config=cfg, top_k=top_k).windows
    for (_, group_lengths), members in groups.items():
        found = _ground_group([curves[h] for h in members], np.asarray(group_lengths, np.int64), cfg, top_k)
        for h, windows in zip(members, found, strict=True):
            s, t, duration = curves[h]
            out[h] = (
                windows if windows is not None else ground(s, t, duration, config=cfg, top_k=top_k).windows
            )
    return [w if w is not None else () for w in out]


def ground_batch(
    similarities: Sequence[np.ndarray],
    timestamps: Sequence[np.ndarray],
    durations: Sequence[float],
    *,
    config: GroundingConfig | None = None,
    top_k: int = DEFAULT_TOP_K,
) -> list[GroundingResult]:
    """``[ground(s, t, d, config=config, top_k=top_k) for s, t, d in ...]``, computed together."""
    cfg = config or _DEFAULT_CONFIG
    windows = ground_windows_batch(similarities, timestamps, durations, config=cfg, top_k=top_k)
    results = []
    for found, sim, ts, duration in zip(windows, similarities, timestamps, durations, strict=True):
        s = np.asarray(sim, dtype=np.float64)
        saliency = (
            (0.0,)
            if s.size == 0
            else tuple(query_saliency(s, ts, duration, clip_length=cfg.clip_length).tolist())
        )
        results.append(
            GroundingResult(
                windows=found, saliency=saliency, clip_length=cfg.clip_length, duration=float(duration)
            )
        )
    return results


def _batchable(sim: np.ndarray, cfg: GroundingConfig) -> bool:
    """Whether ``ground`` takes its fast path (``_best_windows``) on this curve."""
    return (
        sim.size > 0 and cfg.context_seconds is None and float(np.abs(sim).max()) * sim.size < _FAST_MAX_SUM
    )


def _medians(sims: np.ndarray) -> np.ndarray:
    """(H,) ``median(row)`` of each row of (H, T) (``chronolens.timebase.intervals.median``)."""
    t = sims.shape[1]
    ordered = np.sort(sims, axis=1)
    half = t // 2
    a, b = ordered[:, half - 1 + t % 2], ordered[:, half]
    out = b.copy() if t % 2 else (a + b) / 2.0
    for h in np.flatnonzero((a == 0.0) | (b == 0.0) | np.isnan(ordered[:, -1])).tolist():
        out[h] = median(sims[h])  # its np.median fallback: the sign of a middle zero
    return out


def _ground_group(
    curves: list[tuple[np.ndarray, np.ndarray, float]], lengths: np.ndarray, cfg: GroundingConfig, top_k: int
) -> list[tuple[Moment, ...] | None]:
    """Ground curves of one length T and one static-length grid (B,); ``None`` for a curve to be
    grounded by ``ground`` instead.

    NMS visits each row's best ``chunk`` candidates (``nms``'s first chunk size). Greedy NMS over
    them keeps what it keeps over all candidates when its last kept window scores above the
    chunk's cut (every candidate visited before it scores above the cut, so is in the chunk); a
    row where it does not (too few kept, a kept score at the cut) or whose chunk holds a score or
    window only the sorted NMS orders (-inf, NaN) goes to ``ground``.
    """
    sims = np.stack([c[0] for c in curves])  # (H, T)
    h_n, t = sims.shape
    step = [sample_step(ts, d) for _, ts, d in curves]
    scores = _scores(sims, lengths, step, cfg)
    valid = np.arange(t)[None, :] < (t - lengths + 1)[:, None]  # (B, T): k is a transition of length b
    group, k = np.nonzero(valid)  # (N,) each candidate's group and transition, in candidate order
    every = scores[:, valid]  # (H, N) candidate scores
    n = every.shape[1]
    chunk = min(n, NMS_FIRST_CHUNK, NMS_CHUNK_PER_KEEP * top_k)
    if chunk < n:
        pos = np.sort(np.argpartition(every, n - chunk, axis=1)[:, n - chunk :], axis=1)  # (H, C)
        cut = every[np.arange(h_n)[:, None], pos].min(axis=1)  # (H,) the chunk-th best score
    else:
        pos = np.broadcast_to(np.arange(n), (h_n, n))
        cut = np.full(h_n, -math.inf)
    live = np.take_along_axis(every, pos, axis=1)  # (H, C) in candidate order
    first_sample = np.broadcast_to(k[pos], pos.shape)  # (H, C) transitions
    if cfg.window_start != "transition":
        first_sample = np.stack(
            [_rise_starts(c[0], st, cfg)[k[p]] for c, st, p in zip(curves, step, pos, strict=True)]
        )
    windows = np.empty((*pos.shape, 2))  # (H, C, 2) [start, end] seconds
    for h, (_, ts, duration) in enumerate(curves):
        sample_start, sample_end = sample_intervals(ts, duration)
        windows[h, :, 0] = sample_start[first_sample[h]]
        windows[h, :, 1] = sample_end[k[pos[h]] + lengths[group[pos[h]]] - 1]
        np.clip(windows[h], 0.0, duration, out=windows[h])
    plain = np.asarray((live > -math.inf).all(axis=1) & ~np.isnan(windows).any(axis=(1, 2)))  # (H,)
    kept = _greedy_rows(live.copy(), windows, cfg.nms_iou, top_k)
    out: list[tuple[Moment, ...] | None] = []
    for h, (_, _, duration) in enumerate(curves):
        complete = len(kept[h]) == top_k or chunk == n
        if not (plain[h] and complete and (chunk == n or live[h, kept[h][-1]] > cut[h])):
            out.append(None)
            continue
        moments = []
        for p in kept[h]:
            span = clamp_span(float(windows[h, p, 0]), float(windows[h, p, 1]), duration)
            moments.append(Moment(span.start, span.end, float(live[h, p])))
        out.append(tuple(moments))
    return out


def _rise_starts(sim: np.ndarray, step: float, cfg: GroundingConfig) -> np.ndarray:
    """(T,) the first sample of the rise into each transition, as ``ground`` finds it."""
    g = gaussian_smooth(sim, cfg.sigma_seconds / step, cfg.smooth_truncate)
    max_rise = None if cfg.max_rise_seconds is None else _to_samples(cfg.max_rise_seconds, step)
    return rise_starts(g, cfg.rise_threshold, max_rise)


def _scores(sims: np.ndarray, lengths: np.ndarray, step: list[float], cfg: GroundingConfig) -> np.ndarray:
    """(H, B, T) every candidate score of the stacked curves (entries ``k >= T - n_b + 1`` are no
    candidate): ``TopCandidates.all_scores``' operations, broadcast over the rows."""
    h_n, t = sims.shape
    prefix = np.zeros((h_n, t + 1))
    np.cumsum(sims, axis=1, out=prefix[:, 1:])  # each row [0, cumsum(row)], as ground builds it
    total = prefix[:, -1]  # (H,)
    n = lengths
    n_f = n.astype(np.float64)[None, :, None]  # (1, B, 1)
    # prefix[k + n_b] for every k < T: a sliding view of each row padded with its last value.
    padded = np.empty((h_n, t + int(n[-1])))
    padded[:, : t + 1] = prefix
    padded[:, t + 1 :] = total[:, None]
    rows_view = np.lib.stride_tricks.as_strided(  # (H, n_max + 1, T) read-only view, no copy
        padded,
        shape=(h_n, padded.shape[1] - t + 1, t),
        strides=(padded.strides[0], padded.strides[1], padded.strides[1]),
        writeable=False,
    )
    inside = rows_view[:, n]  # (H, B, T) copy
    inside -= prefix[:, None, :t]
    with np.errstate(invalid="ignore", over="ignore"):
        if cfg.reference == "median":
            inside /= n_f
            contrast = np.subtract(inside, _medians(sims)[:, None, None], out=inside)
        else:
            mean_in = inside / n_f
            out_f = (t - n).astype(np.float64)[None, :, None]
            with np.errstate(divide="ignore"):
                outside = np.where(out_f > 0, (total[:, None, None] - inside) / out_f, mean_in)
            contrast = np.subtract(mean_in, outside, out=mean_in)
        if cfg.static_weighting == "balance":
            contrast *= np.sqrt(n * (t - n) / (n + (t - n) + 1e-12))[None, :, None]
        elif cfg.length_exponent:
            # (m * step) ** exponent per curve (its own step); x * 1.0 where a weight is 1 is exact.
            weights = [[(m * st) ** cfg.length_exponent for m in n.tolist()] for st in step]
            contrast *= np.asarray(weights, dtype=np.float64)[:, :, None]
        contrast += _dynamic(sims, step, cfg)
        contrast += (cfg.length_prior * (n / t))[None, :, None]
    return contrast


def _dynamic(sims: np.ndarray, step: list[float], cfg: GroundingConfig) -> np.ndarray | float:
    """The dynamic term added to every score: (H, 1, T), or the float it is for a zero weight."""
    if not cfg.dynamic_weight:
        return cfg.dynamic_weight * 0.0  # the same signed zero ``ground`` adds
    rows = []
    for s, st in zip(sims, step, strict=True):
        g = gaussian_smooth(s, cfg.sigma_seconds / st, cfg.smooth_truncate)
        rows.append(cfg.dynamic_weight * (g - g[_rise_starts(s, st, cfg)]))
    return np.stack(rows)[:, None, :]


def _greedy_rows(
    live: np.ndarray, windows: np.ndarray, iou_threshold: float, max_keep: int
) -> list[list[int]]:
    """Greedy temporal NMS over each row of ``live`` (H, N) scores (modified: -inf marks the
    suppressed) with ``windows`` (H, N, 2); kept positions per row, in the order kept.

    Visiting order per row: best score, then earliest start, earliest end, lowest position (what
    ``chronolens.tasks.ground.nms`` visits); a row stops when every window is suppressed.
    """
    h_n = live.shape[0]
    rows = np.arange(h_n)
    kept: list[list[int]] = [[] for _ in range(h_n)]
    active = np.ones(h_n, dtype=bool)
    start, end = windows[..., 0], windows[..., 1]  # (H, N) views
    for _ in range(max_keep):
        top = live.max(axis=1)  # (H,)
        active &= top > -math.inf
        if not active.any():
            break
        best = live == top[:, None]  # (H, N)
        earliest = np.where(best, start, math.inf).min(axis=1)
        best &= start == earliest[:, None]
        earliest = np.where(best, end, math.inf).min(axis=1)
        best &= end == earliest[:, None]
        first = best.argmax(axis=1)  # (H,) the first remaining window in visiting order
        for h in np.flatnonzero(active).tolist():
            kept[h].append(int(first[h]))
        iou = temporal_iou(windows, windows[rows, first][:, None, :])[..., 0]  # (H, N)
        live[iou > iou_threshold] = -math.inf
        live[rows, first] = -math.inf  # NaN never suppresses: a zero-length window is no IoU with itself
    return kept
