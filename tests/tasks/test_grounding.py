"""TFVTG-style grounding: the fast scorer equals a naive O(T^3) reference; planted events are found."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chronolens.metrics.temporal import temporal_iou
from chronolens.tasks.ground.tfvtg import (
    GroundingConfig,
    ground,
    ground_query,
    length_grid,
    tfvtg_finder,
)
from chronolens.timebase.intervals import sample_intervals, sample_step


def _naive_smooth(curve: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    radius = math.floor(truncate * sigma + 0.5) if sigma > 0 else 0
    if radius == 0:
        return curve.astype(np.float64).copy()
    weights = [math.exp(-0.5 * (d / sigma) ** 2) for d in range(-radius, radius + 1)]
    total = sum(weights)
    out = np.empty(len(curve))
    for t in range(len(curve)):
        acc = 0.0
        for d, w in zip(range(-radius, radius + 1), weights, strict=True):
            acc += w * curve[min(max(t + d, 0), len(curve) - 1)]
        out[t] = acc / total
    return out


def _naive_nms(windows: list[tuple[float, float]], scores: list[float], thr: float, top_k: int) -> list[int]:
    order = sorted(range(len(scores)), key=lambda c: (-scores[c], windows[c][0], windows[c][1]))
    keep: list[int] = []
    for c in order:
        if len(keep) == top_k:
            break
        if all(not (temporal_iou([windows[c]], [windows[q]])[0, 0] > thr) for q in keep):
            keep.append(c)
    return keep


def naive_ground(
    sim: np.ndarray, ts: np.ndarray, duration: float, cfg: GroundingConfig, top_k: int
) -> list[tuple[float, float, float]]:
    """Every window (i, j), best transition k by brute force, then greedy NMS: O(T^3)."""
    t = len(sim)
    step = sample_step(ts, duration)
    g = _naive_smooth(sim, cfg.sigma_seconds / step, cfg.smooth_truncate)
    max_rise = None if cfg.max_rise_seconds is None else math.floor(cfg.max_rise_seconds / step + 1e-9)
    lo_len = max(1, math.ceil(cfg.min_length_seconds / step - 1e-9))
    hi_len = max(lo_len, min(t, math.floor(cfg.max_length_seconds / step + 1e-9)))
    grid = set(length_grid(lo_len, hi_len, cfg.length_ratio))
    context = None if cfg.context_seconds is None else max(1, math.floor(cfg.context_seconds / step + 1e-9))

    def rise_start(k: int) -> int:
        i = k
        while i > 0 and g[i] - g[i - 1] > cfg.rise_threshold and (max_rise is None or k - i < max_rise):
            i -= 1
        return i

    starts, ends = sample_intervals(ts, duration)
    windows, scores = [], []
    ambient = float(np.median(sim))

    def static_score(k: int, j: int) -> float:
        n = j - k
        inside = sim[k:j]
        lo, hi = (0, t) if context is None else (max(k - context, 0), min(j + context, t))
        outside = np.concatenate([sim[lo:k], sim[j:hi]])
        mean_out = outside.mean() if outside.size else inside.mean()
        if cfg.reference == "median":
            mean_out = ambient
        if cfg.static_weighting == "balance":
            weight = math.sqrt(n * outside.size / (n + outside.size))
        else:
            weight = (n * step) ** cfg.length_exponent
        return float((inside.mean() - mean_out) * weight) + cfg.length_prior * n / t

    if cfg.window_start == "transition":
        # Each (k, j) is its own window [k, j); the rise into k only adds to its score.
        for k in range(t):
            for j in range(k + 1, t + 1):
                if j - k in grid:
                    windows.append((min(max(starts[k], 0.0), duration), min(max(ends[j - 1], 0.0), duration)))
                    scores.append(cfg.dynamic_weight * (g[k] - g[rise_start(k)]) + static_score(k, j))
        keep = _naive_nms(windows, scores, cfg.nms_iou, top_k)
        return [(windows[c][0], windows[c][1], scores[c]) for c in keep]
    for i in range(t):
        for j in range(i + 1, t + 1):
            best = -math.inf
            for k in range(i, j):
                n = j - k
                if n not in grid or rise_start(k) != i:
                    continue
                best = max(best, cfg.dynamic_weight * (g[k] - g[i]) + static_score(k, j))
            if best > -math.inf:
                windows.append((min(max(starts[i], 0.0), duration), min(max(ends[j - 1], 0.0), duration)))
                scores.append(best)
    keep = _naive_nms(windows, scores, cfg.nms_iou, top_k)
    return [(windows[c][0], windows[c][1], scores[c]) for c in keep]


CONFIGS = [
    GroundingConfig(),
    GroundingConfig(reference="outside"),
    GroundingConfig(reference="outside", length_prior=0.01, context_seconds=5.0),
    GroundingConfig.tfvtg(),
    GroundingConfig.tfvtg(reference="median", length_prior=0.0),
    GroundingConfig(length_exponent=0.0, nms_iou=0.5, max_length_seconds=9.0),
    GroundingConfig(static_weighting="balance"),
    GroundingConfig(static_weighting="balance", context_seconds=3.0, max_rise_seconds=1.0),
    GroundingConfig(static_weighting="balance", window_start="transition"),
    GroundingConfig(sigma_seconds=2.0, smooth_truncate=2.0, max_rise_seconds=2.0, context_seconds=4.0),
    GroundingConfig(rise_threshold=0.01, dynamic_weight=0.3, min_length_seconds=2.0, length_ratio=1.5),
]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_equals_naive_reference(config: GroundingConfig, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = int(rng.integers(8, 26))
    # Irregular sampling (VFR-like) so seconds and sample indices differ.
    ts = np.cumsum(rng.uniform(0.6, 1.4, size=t))
    duration = float(ts[-1] + rng.uniform(0.1, 1.0))
    sim = rng.normal(0.2, 0.05, size=t)
    sim[t // 3 : t // 3 + 4] += 0.2
    expected = naive_ground(sim, ts, duration, config, top_k=5)
    result = ground(sim, ts, duration, config=config, top_k=5)
    got = [m.as_list() for m in result.windows]
    assert len(got) == len(expected)
    for (s, e, score), (s2, e2, score2) in zip(got, expected, strict=True):
        assert (s, e) == (s2, e2)
        assert score == pytest.approx(score2, rel=1e-9, abs=1e-12)


def _planted(
    rng: np.random.Generator, t: int, events: list[tuple[int, int]], dim: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Unit frame embeddings: noise everywhere, pulled towards a query direction inside events."""
    query = rng.normal(size=dim)
    query /= np.linalg.norm(query)
    frames = rng.normal(size=(t, dim))
    frames -= np.outer(frames @ query, query)  # background orthogonal-ish to the query
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    for start, end in events:
        frames[start:end] = 0.6 * frames[start:end] + 0.8 * query
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    return frames.astype(np.float32), query.astype(np.float32)


def test_planted_event_is_top_window() -> None:
    rng = np.random.default_rng(7)
    emb, q = _planted(rng, 60, [(20, 26)])
    ts = np.arange(60) + 0.5
    result = ground_query(emb, ts, 60.0, q, top_k=3)
    best = result.windows[0]
    assert temporal_iou([[best.start, best.end]], [[20.0, 26.0]])[0, 0] >= 0.7
    assert [w.score for w in result.windows] == sorted((w.score for w in result.windows), reverse=True)
    assert len(result.saliency) == 30
    assert int(np.argmax(result.saliency)) in range(10, 13)


def test_two_hour_video_windows_in_source_seconds() -> None:
    """7,200+ samples (2 h at 1 fps), planted events found anywhere, no frame cap, clamped."""
    rng = np.random.default_rng(3)
    t = 7_300
    events = [(150, 160), (3_600, 3_612), (7_288, 7_300)]  # the last touches the end of the video
    emb, q = _planted(rng, t, events)
    ts = np.arange(t) * 1.0 + 0.25
    duration = t - 0.5  # the last sample's interval is clamped to the duration
    result = ground_query(emb, ts, duration, q, top_k=5)
    tops = np.array([[m.start, m.end] for m in result.windows[:3]])
    gt = np.array([[s, min(e, duration)] for s, e in events], dtype=np.float64)
    assert (temporal_iou(tops, gt).max(axis=0) >= 0.7).all()
    assert all(0.0 <= m.start <= m.end <= duration for m in result.windows)
    assert max(m.end for m in result.windows) == pytest.approx(duration)
    assert len(result.saliency) == math.ceil(duration / 2.0)


def test_finder_shape_and_edge_cases() -> None:
    sim = np.array([0.1, 0.1, 0.5, 0.5, 0.1])
    ts = np.arange(5.0)
    moments = tfvtg_finder(sim, ts, 5.0, 2)
    assert 1 <= len(moments) <= 2 and moments[0].start <= 2.0 <= moments[0].end
    single = ground(np.array([0.3]), np.array([0.0]), 1.0)
    assert [(m.start, m.end) for m in single.windows] == [(0.0, 1.0)]
    assert single.windows[0].score == pytest.approx(0.0, abs=1e-5)
    empty = ground(np.zeros(0), np.zeros(0), 0.0)
    assert empty.windows == ()
    with pytest.raises(ValueError, match="similarity and timestamps"):
        ground(np.zeros(3), np.zeros(4), 3.0)
    with pytest.raises(ValueError, match="top_k"):
        ground(sim, ts, 5.0, top_k=0)


@pytest.mark.parametrize(
    "config",
    [GroundingConfig(), GroundingConfig(reference="outside"), GroundingConfig.tfvtg()],
    ids=["default", "outside", "tfvtg"],
)
@pytest.mark.parametrize("t", [1, 2, 40, 150])
def test_flat_curve_answers_the_whole_video(config: GroundingConfig, t: int) -> None:
    """Nothing stands out: every window's contrast is 0 and the length prior picks the longest."""
    ts = np.arange(t) + 0.5
    result = ground(np.full(t, 0.37), ts, float(t), config=config, top_k=3)
    assert (result.windows[0].start, result.windows[0].end) == (0.0, float(t))
    assert result.windows[0].score == pytest.approx(config.length_prior, rel=1e-6)
    # Longer than the longest proposal: a longest window (any one; a flat curve has no better one).
    long = ground(np.full(400, 0.37), np.arange(400) + 0.5, 400.0, config=config, top_k=1).windows[0]
    assert long.end - long.start == pytest.approx(config.max_length_seconds)


def test_median_reference_ignores_other_events() -> None:
    """Against the ambient level, a dip elsewhere does not make ambient samples look like the event."""
    sim = np.full(60, 0.3)
    sim[10:16] = 0.5  # the queried event
    sim[30:50] = 0.0  # a long, deep dip (another event the query does not describe)
    ts = np.arange(60) + 0.5
    best = ground(sim, ts, 60.0, top_k=1).windows[0]
    assert (best.start, best.end) == (10.0, 16.0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sigma_seconds", -1.0),
        ("rise_threshold", -0.1),
        ("max_length_seconds", 0.0),
        ("length_ratio", 1.0),
        ("nms_iou", 1.5),
        ("context_seconds", 0.0),
        ("length_exponent", 2.0),
        ("reference", "mean"),
        ("length_prior", -1.0),
    ],
)
def test_config_validation_names_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        GroundingConfig(**{field: value})


def test_length_grid_is_dense_then_geometric() -> None:
    grid = length_grid(1, 150, 1.1)
    assert grid[:10] == tuple(range(1, 11))
    assert grid[-1] == 150 and list(grid) == sorted(set(grid))
    assert len(grid) < 45


def test_a_zero_length_video_grounds_at_once() -> None:
    """One sample of a 0 s video: the step falls back to 1 s instead of ~0 (which hung smoothing)."""
    import time

    assert sample_step(np.zeros(1), 0.0) == 1.0
    started = time.perf_counter()
    result = ground(np.array([0.3]), np.zeros(1), 0.0)
    assert time.perf_counter() - started < 5.0
    assert all(m.start == 0.0 and m.end == 0.0 for m in result.windows)
