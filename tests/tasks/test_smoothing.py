"""The one curve smoother: both finders' behaviours, bit for bit as before it was shared."""

from __future__ import annotations

import math

import numpy as np
import pytest

from chronolens.tasks.ground.simple import smooth
from chronolens.tasks.ground.smoothing import box_kernel, gaussian_kernel, smooth_curve
from chronolens.tasks.ground.tfvtg import gaussian_smooth


def _old_box(curve: np.ndarray, window: int) -> np.ndarray:
    """simple.smooth as it was written before the smoother was shared."""
    values = np.asarray(curve, dtype=np.float64)
    if window == 1 or values.size == 0:
        return values.copy()
    kernel = np.ones(window)
    return np.convolve(values, kernel, mode="same") / np.convolve(np.ones_like(values), kernel, mode="same")


def _old_gaussian(curve: np.ndarray, sigma: float, truncate: float) -> np.ndarray:
    """tfvtg.gaussian_smooth as it was written before the smoother was shared."""
    values = np.asarray(curve, dtype=np.float64)
    radius = math.floor(truncate * sigma + 0.5) if sigma > 0 else 0
    if radius == 0 or values.size == 0:
        return values.copy()
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    kernel /= kernel.sum()
    return np.convolve(np.pad(values, radius, mode="edge"), kernel, mode="valid")


@pytest.mark.parametrize("t", [0, 1, 2, 3, 7, 50])
def test_both_finders_smooth_exactly_as_before(t: int) -> None:
    curve = np.random.default_rng(t).normal(0.2, 0.05, size=t)
    for window in (1, 3, 5):
        assert np.array_equal(smooth(curve, window), _old_box(curve, window))
    for sigma, truncate in [(0.0, 1.0), (0.4, 1.0), (1.0, 1.0), (2.5, 3.0)]:
        assert np.array_equal(gaussian_smooth(curve, sigma, truncate), _old_gaussian(curve, sigma, truncate))


def test_edge_modes_differ_only_at_the_edges() -> None:
    curve = np.array([3.0, 0.0, 0.0, 6.0, 0.0])
    existing = smooth_curve(curve, box_kernel(3), edges="existing")
    nearest = smooth_curve(curve, box_kernel(3), edges="nearest")
    np.testing.assert_allclose(existing, [1.5, 1.0, 2.0, 2.0, 3.0])  # edges average 2 samples
    np.testing.assert_allclose(nearest, [2.0, 1.0, 2.0, 2.0, 2.0])  # edges repeat their value
    np.testing.assert_allclose(existing[1:-1], nearest[1:-1])


def test_kernels_and_validation() -> None:
    assert gaussian_kernel(0.0, 1.0).tolist() == [1.0]  # sigma 0: the identity
    assert gaussian_kernel(1.0, 1.0).size == 3  # TFVTG's 3-tap kernel
    np.testing.assert_allclose(gaussian_kernel(1.0, 1.0), [math.exp(-0.5), 1.0, math.exp(-0.5)])
    with pytest.raises(ValueError, match="odd"):
        box_kernel(2)
    with pytest.raises(ValueError, match="edges"):
        smooth_curve(np.ones(3), box_kernel(3), edges="wrap")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="odd"):
        smooth_curve(np.ones(3), np.ones(2), edges="nearest")
