"""Short-curve fast paths of the timebase, bit for bit: ``median`` against ``np.median`` and the
1-D ``clip_means`` (``np.bincount``) against the ``np.add.at`` sums it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.timebase.grid import clip_index, clip_means
from chronolens.timebase.intervals import median, sample_step


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.int64))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 99, 100, 101])
def test_median_is_np_median_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(n)
    cases = [
        rng.normal(size=n),
        np.round(rng.normal(size=n)),  # ties
        np.where(rng.random(n) < 0.5, 0.0, -0.0),  # signed zeros in the middle
        rng.choice([1.7e308, -1.7e308, 5e-324, 3.0], size=n),  # overflowing pair sums
    ]
    with_nan = rng.normal(size=n)
    with_nan[n // 2] = np.nan
    cases.append(with_nan)
    for values in cases:
        with np.errstate(over="ignore"):
            expected = float(np.median(values))
        got = median(values)
        assert _bits(got) == _bits(expected) or (np.isnan(got) and np.isnan(expected))


def test_sample_step_is_the_median_step() -> None:
    ts = np.cumsum(np.random.default_rng(0).uniform(0.1, 2.0, 50))
    assert sample_step(ts, 100.0) == float(np.median(np.diff(ts)))
    assert sample_step(np.array([3.0, 3.0, 3.0]), 7.0) == 7.0  # zero step: the duration


@pytest.mark.parametrize("seed", range(5))
def test_clip_means_1d_equals_add_at_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = int(rng.integers(1, 400))
    ts = np.sort(rng.uniform(0, 200, t))
    values = rng.normal(size=t) * 10.0 ** rng.integers(-6, 6, t)  # magnitudes make order matter
    duration = float(ts[-1]) + float(rng.uniform(0, 30))  # sparse tails: empty clips too
    index, count = clip_index(ts, duration)
    sums = np.zeros((count, 1))
    np.add.at(sums, index, values[:, None])
    counts = np.bincount(index, minlength=count)
    got = clip_means(values, ts, duration)
    has = counts > 0
    assert got[has].tobytes() == (sums[has, 0] / counts[has]).tobytes()
    assert got.shape == (count,)
    # The 2-D path (np.add.at) gives the same columns.
    both = clip_means(np.stack([values, values], axis=1), ts, duration)
    assert both[:, 0].tobytes() == got.tobytes() and both[:, 1].tobytes() == got.tobytes()
