"""The grounder's fast path (best candidates by block bounds) equals scoring every candidate."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.ground import candidates, nms
from chronolens.tasks.ground.candidates import TopCandidates, kth_largest
from chronolens.tasks.ground.tfvtg import GroundingConfig, ground, propose
from chronolens.timebase import clamp_span
from chronolens.timebase.intervals import sample_intervals

CONFIGS = {
    "default": GroundingConfig(),
    "outside": GroundingConfig(reference="outside"),
    "length": GroundingConfig(static_weighting="length"),
    "plain-mean": GroundingConfig(static_weighting="length", length_exponent=0.0),
    "rise-start": GroundingConfig(window_start="rise", max_rise_seconds=2.0),
    "dynamic": GroundingConfig(dynamic_weight=0.5, rise_threshold=0.001),
    "tfvtg": GroundingConfig.tfvtg(),
    "no-prior": GroundingConfig(length_prior=0.0),
    "short-grid": GroundingConfig(min_length_seconds=3.0, max_length_seconds=40.0, length_ratio=1.5),
    "signed-zeros": GroundingConfig(dynamic_weight=-0.0, length_prior=-0.0),
}


def _previous(
    sim: np.ndarray, ts: np.ndarray, duration: float, cfg: GroundingConfig, top_k: int
) -> list[tuple[float, float, float]]:
    """``ground``'s windows as computed before the fast path: every candidate scored by propose."""
    props = propose(sim, ts, duration, cfg)
    sample_start, sample_end = sample_intervals(ts, duration)

    def windows_of(idx: np.ndarray) -> np.ndarray:
        start, transition, end = props.decode(idx)
        if cfg.window_start == "transition":
            start = transition
        lo = np.clip(sample_start[start], 0.0, duration)
        hi = np.clip(sample_end[end - 1], 0.0, duration)
        return np.stack([lo, hi], axis=1)

    keep = nms.temporal_nms(windows_of, props.score, iou_threshold=cfg.nms_iou, max_keep=top_k)
    out = []
    for (start, end), idx in zip(windows_of(keep).tolist(), keep.tolist(), strict=True):
        span = clamp_span(start, end, duration)
        out.append((span.start, span.end, float(props.score[idx])))
    return out


def _curve(rng: np.random.Generator, t: int, kind: str) -> np.ndarray:
    if kind == "noise":
        return rng.normal(0.2, 0.04, t)
    if kind == "ties":
        return np.round(rng.normal(0.2, 0.04, t), 2)
    if kind == "levels":
        return rng.integers(0, 3, t) * 0.25  # heavy ties
    if kind == "flat":
        return np.full(t, 0.37)
    if kind == "walk":
        return np.cumsum(rng.normal(0.0, 0.01, t)) + 0.2
    sim = rng.normal(0.2, 0.04, t)
    for start in rng.integers(0, t, max(1, t // 50)):
        sim[start : start + int(rng.integers(1, 20))] += rng.uniform(0.05, 0.3)
    return sim


def _same(got: list[tuple[float, float, float]], want: list[tuple[float, float, float]]) -> bool:
    """Bit-identical windows and scores (the sign of a zero score included)."""
    return got == want and all(np.signbit(a[2]) == np.signbit(b[2]) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("bounds", [False, True], ids=["full", "bounds"])
@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_fast_path_equals_every_candidate_scored(
    monkeypatch: pytest.MonkeyPatch, config: str, bounds: bool
) -> None:
    """Random curves (ties, flat, smooth, events), T from 1, VFR and uniform times, any top_k."""
    if bounds:
        monkeypatch.setattr(candidates, "FULL_SCORE_MAX", 0)  # every size goes through the bounds
    cfg = CONFIGS[config]
    rng = np.random.default_rng(sorted(CONFIGS).index(config) + 100 * bounds)
    for t in [1, 2, 3, 4, 7, 33, 150, 700, 2500]:
        for kind in ["noise", "ties", "levels", "flat", "walk", "events"]:
            sim = _curve(rng, t, kind)
            if rng.random() < 0.5:
                ts, duration = np.arange(t) + 0.5, float(t)
            else:
                ts = np.cumsum(rng.uniform(0.3, 1.7, t))
                duration = max(0.0, float(ts[-1] + rng.uniform(-0.5, 1.0)))  # may cut the last sample
            top_k = int(rng.choice([1, 3, 10]))
            got = [m.as_list() for m in ground(sim, ts, duration, config=cfg, top_k=top_k).windows]
            want = _previous(sim, ts, duration, cfg, top_k)
            assert _same([tuple(g) for g in got], want), (t, kind, top_k)


def test_fast_path_equals_with_nms_doublings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny first NMS chunk forces many grown chunks on both paths."""
    monkeypatch.setattr(nms, "NMS_FIRST_CHUNK", 2)
    monkeypatch.setattr(candidates, "FULL_SCORE_MAX", 0)
    rng = np.random.default_rng(5)
    for t in [5, 60, 900]:
        for kind in ["walk", "ties", "events"]:
            sim = _curve(rng, t, kind)
            ts = np.arange(t) + 0.5
            got = [tuple(m.as_list()) for m in ground(sim, ts, float(t), top_k=10).windows]
            assert _same(got, _previous(sim, ts, float(t), GroundingConfig(), 10)), (t, kind)


def _scorer(sim: np.ndarray, cfg: GroundingConfig) -> tuple[TopCandidates, np.ndarray]:
    """A TopCandidates for a 1 fps curve, and propose's scores of the same candidates."""
    t = sim.size
    lengths = propose(sim, np.arange(t) + 0.5, float(t), cfg).lengths
    weights = np.sqrt(lengths * (t - lengths) / (t + 1e-12))
    top = TopCandidates(
        prefix=np.concatenate([[0.0], np.cumsum(sim)]),
        lengths=lengths,
        dynamic=0.0,
        ambient=float(np.median(sim)),
        weights=weights,
        priors=cfg.length_prior * (lengths / t),
    )
    return top, propose(sim, np.arange(t) + 0.5, float(t), cfg).score


@pytest.mark.parametrize("offset", [0.0, 1e6], ids=["similarity", "large-values"])
def test_block_bounds_bound_every_score(offset: float) -> None:
    """Each block's bound is at least every exact score in it, even where rounding is large."""
    rng = np.random.default_rng(1)
    for kind in ["noise", "walk", "events", "flat"]:
        top, exact = _scorer(_curve(rng, 3000, kind) + offset, GroundingConfig())
        assert np.array_equal(top.all_scores(), exact)
        nb = -(-top.t // candidates.BLOCK)
        bound = top._bounds().reshape(top.lengths.size, nb)
        for row in range(top.lengths.size):
            scores = np.full(nb * candidates.BLOCK, -np.inf)
            scores[: top.sizes[row]] = exact[top.offsets[row] : top.offsets[row + 1]]
            block_max = scores.reshape(nb, candidates.BLOCK).max(axis=1)
            assert (bound[row] >= block_max).all(), (kind, row)


@pytest.mark.parametrize("chunk", [1, 7, 1024, 5000])
def test_top_equals_partition_reference(chunk: int) -> None:
    """``top`` returns exactly the candidates scoring at least the chunk-th best, in index order."""
    rng = np.random.default_rng(chunk)
    for kind in ["events", "ties", "levels"]:
        top, exact = _scorer(_curve(rng, 4000, kind), GroundingConfig())
        cut = np.partition(exact, exact.size - chunk)[exact.size - chunk]
        members, scores = top._top_by_bounds(chunk)
        assert np.array_equal(members, np.flatnonzero(exact >= cut))
        assert np.array_equal(scores, exact[members])


def test_kth_largest_matches_partition() -> None:
    rng = np.random.default_rng(0)
    for n, k in [(1, 1), (10, 10), (100, 3), (50_000, 1024), (50_000, 1)]:
        values = np.round(rng.normal(size=n), 1)  # many ties
        assert kth_largest(values, k) == np.partition(values, n - k)[n - k]
