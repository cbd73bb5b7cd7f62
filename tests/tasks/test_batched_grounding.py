"""Grounding many curves in one pass (``ground_batch``) returns what ``ground`` returns per curve."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.ground import batched, nms
from chronolens.tasks.ground.batched import ground_batch, ground_windows_batch
from chronolens.tasks.ground.tfvtg import GroundingConfig, ground

CONFIGS = {
    "default": GroundingConfig(),
    "outside": GroundingConfig(reference="outside"),
    "length": GroundingConfig(static_weighting="length"),
    "plain-mean": GroundingConfig(static_weighting="length", length_exponent=0.0),
    "rise-start": GroundingConfig(window_start="rise", max_rise_seconds=2.0),
    "dynamic": GroundingConfig(dynamic_weight=0.5, rise_threshold=0.001),
    "tfvtg": GroundingConfig.tfvtg(),
    "no-prior": GroundingConfig(length_prior=0.0),
    "rise-no-prior": GroundingConfig(window_start="rise", length_prior=0.0),  # exact ties: order by end
    "short-grid": GroundingConfig(min_length_seconds=3.0, max_length_seconds=40.0, length_ratio=1.5),
    "signed-zeros": GroundingConfig(dynamic_weight=-0.0, length_prior=-0.0),
    "context": GroundingConfig(context_seconds=5.0),  # not batched: every curve through ground
    "iou-0": GroundingConfig(nms_iou=0.0),
    "iou-1": GroundingConfig(nms_iou=1.0),
}


def _curve(rng: np.random.Generator, t: int, kind: str) -> np.ndarray:
    if t == 0:
        return np.zeros(0)
    if kind == "noise":
        return rng.normal(0.2, 0.04, t)
    if kind == "ties":
        return np.round(rng.normal(0.2, 0.04, t), 2)
    if kind == "levels":
        return rng.integers(0, 3, t) * 0.25  # heavy ties
    if kind == "plateaus":
        return (rng.random(t) < 0.7) * 0.25  # nothing above the median: many windows tie at score 0
    if kind == "flat":
        return np.full(t, 0.37)
    if kind == "zeros":
        return np.where(rng.random(t) < 0.6, 0.0, -0.0) * rng.integers(0, 2, t)  # signed zeros
    if kind == "walk":
        return np.cumsum(rng.normal(0.0, 0.01, t)) + 0.2
    sim = rng.normal(0.2, 0.04, t)
    for start in rng.integers(0, t, max(1, t // 50)):
        sim[start : start + int(rng.integers(1, 20))] += rng.uniform(0.05, 0.3)
    return sim.astype(np.float32) if rng.random() < 0.5 else sim  # search's curves are float32


def _times(rng: np.random.Generator, t: int) -> tuple[np.ndarray, float]:
    kind = rng.integers(0, 3)
    if kind == 0 or t == 0:
        return np.arange(t) + 0.5, float(t)
    if kind == 1:
        return np.arange(t) * 2.0 + 1.0, float(2 * t)  # 2 s clips
    ts = np.cumsum(rng.uniform(0.3, 1.7, t))  # VFR; the duration may cut the last sample
    return ts, max(0.0, float(ts[-1] + rng.uniform(-0.5, 1.0)))


def _key(moments: tuple) -> list[tuple[float, float, float, bool]]:
    """Bit-identical comparison: values and the sign of a zero score."""
    return [(m.start, m.end, m.score, bool(np.signbit(m.score))) for m in moments]


def _batch(rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray], list[float]]:
    """A search-like batch: several curves of one length, plus others of other lengths."""
    sims, times, durations = [], [], []
    common = int(rng.choice([1, 2, 5, 40, 100, 180]))
    for _ in range(int(rng.integers(1, 12))):
        t = common if rng.random() < 0.7 else int(rng.choice([0, 1, 3, 17, 100, 700]))
        kind = str(rng.choice(["noise", "ties", "levels", "plateaus", "flat", "zeros", "walk", "events"]))
        ts, duration = _times(rng, t)
        sims.append(_curve(rng, t, kind))
        times.append(ts)
        durations.append(duration)
    return sims, times, durations


@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_batched_windows_equal_ground_per_curve(config: str) -> None:
    """Many seeds of random batches (ties, flat curves, signed zeros, VFR, T from 0, any top_k)."""
    cfg = CONFIGS[config]
    for seed in range(40):
        rng = np.random.default_rng(1000 * sorted(CONFIGS).index(config) + seed)
        sims, times, durations = _batch(rng)
        top_k = int(rng.choice([1, 2, 3, 10, 50]))
        got = ground_windows_batch(sims, times, durations, config=cfg, top_k=top_k)
        for h, (s, ts, d) in enumerate(zip(sims, times, durations, strict=True)):
            want = ground(s, ts, d, config=cfg, top_k=top_k).windows
            assert _key(got[h]) == _key(want), (seed, h, s.size, top_k)


def test_ground_batch_equals_ground_results() -> None:
    """Whole results: windows, saliency, clip length and duration."""
    rng = np.random.default_rng(7)
    sims, times, durations = _batch(rng)
    for got, s, ts, d in zip(
        ground_batch(sims, times, durations, top_k=3), sims, times, durations, strict=True
    ):
        assert got == ground(s, ts, d, top_k=3)


def test_search_sized_batch_takes_the_vectorised_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten 100-sample curves (a search's hits) are grounded without one ``ground`` call."""
    rng = np.random.default_rng(3)
    sims = [_curve(rng, 100, "events") for _ in range(10)]
    times = [np.arange(100) + 0.5] * 10
    want = [ground(s, ts, 100.0, top_k=3).windows for s, ts in zip(sims, times, strict=True)]

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the batch fell back to ground")

    monkeypatch.setattr(batched, "ground", forbidden)
    got = ground_windows_batch(sims, times, [100.0] * 10, top_k=3)
    assert [_key(g) for g in got] == [_key(w) for w in want]


def test_long_curve_falls_back_and_matches() -> None:
    """Over FULL_SCORE_MAX candidates a curve takes ground's block bounds; the answer is the same."""
    rng = np.random.default_rng(11)
    sims = [_curve(rng, 3000, "events"), _curve(rng, 100, "events")]
    times = [np.arange(3000) + 0.5, np.arange(100) + 0.5]
    got = ground_windows_batch(sims, times, [3000.0, 100.0], top_k=10)
    for g, s, ts in zip(got, sims, times, strict=True):
        assert _key(g) == _key(ground(s, ts, float(ts.size), top_k=10).windows)


@pytest.mark.parametrize("first_chunk", [1, 2, 5, 40])
def test_small_chunks_fall_back_where_needed(monkeypatch: pytest.MonkeyPatch, first_chunk: int) -> None:
    """A tiny first chunk on both sides: ground's NMS grows its chunks, the batch keeps a row only
    when its chunk decides it (else it takes ground); the answers stay the same."""
    monkeypatch.setattr(nms, "NMS_FIRST_CHUNK", first_chunk)
    monkeypatch.setattr(batched, "NMS_FIRST_CHUNK", first_chunk)
    monkeypatch.setattr(nms, "NMS_CHUNK_PER_KEEP", 1)
    monkeypatch.setattr(batched, "NMS_CHUNK_PER_KEEP", 1)
    rng = np.random.default_rng(5 + first_chunk)
    for _ in range(10):
        sims, times, durations = _batch(rng)
        top_k = int(rng.choice([1, 3, 10]))
        got = ground_windows_batch(sims, times, durations, top_k=top_k)
        for g, s, ts, d in zip(got, sims, times, durations, strict=True):
            assert _key(g) == _key(ground(s, ts, d, top_k=top_k).windows)


def test_invalid_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one entry per curve"):
        ground_windows_batch([np.zeros(3)], [], [3.0])
    with pytest.raises(ValueError, match="top_k"):
        ground_windows_batch([np.zeros(3)], [np.arange(3.0)], [3.0], top_k=0)
    with pytest.raises(ValueError, match="finite"):
        ground_windows_batch([np.array([0.1, np.nan])], [np.arange(2.0)], [2.0])
