"""Smoothing of a query's similarity curve: the one filter both moment finders use.

A curve is smoothed by a symmetric kernel; the finders differ only in the kernel and in what
happens at the edges, so both are parameters of :func:`smooth_curve`:

- ``edges="nearest"``: the curve is padded with its first and last values and filtered by the
  normalised kernel (``scipy.ndimage``'s ``mode="nearest"``). The TFVTG grounder
  (:mod:`chronolens.tasks.ground.tfvtg`) uses it with a Gaussian kernel, as TFVTG does.
- ``edges="existing"``: each output is the kernel-weighted mean of the samples that exist (a
  sample near an edge averages fewer neighbours). The simple finder
  (:mod:`chronolens.tasks.ground.simple`) uses it with a box kernel.

Both behaviours are kept because each finder's published figures were measured with its own
(``chronolens bench synth``); the arithmetic of each path is exactly the one those figures came
from. This is signal processing on a curve, not a notion of time, so it lives with the finders
rather than in :mod:`chronolens.timebase`.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

__all__ = ["EDGE_MODES", "box_kernel", "gaussian_kernel", "smooth_curve"]

EdgeMode = Literal["nearest", "existing"]
EDGE_MODES: tuple[EdgeMode, ...] = ("nearest", "existing")  # see the module docstring


def box_kernel(window: int) -> np.ndarray:
    """Unnormalised box kernel of ``window`` ones (a centred moving average).

    Args:
        window: odd number of samples.

    Returns:
        ``(window,)`` float64 ones.
    """
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    return np.ones(window)


def gaussian_kernel(sigma: float, truncate: float) -> np.ndarray:
    """Unnormalised Gaussian kernel of standard deviation ``sigma`` samples.

    Args:
        sigma: standard deviation in samples (0: the identity kernel ``[1.0]``).
        truncate: kernel radius in sigmas (radius ``floor(truncate * sigma + 0.5)``, as scipy).

    Returns:
        ``(2 * radius + 1,)`` float64 ``exp(-x**2 / (2 sigma**2))``.
    """
    radius = math.floor(truncate * sigma + 0.5) if sigma > 0 else 0
    if radius == 0:
        return np.ones(1)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    return np.exp(-0.5 * (x / sigma) ** 2)


def smooth_curve(curve: np.ndarray, kernel: np.ndarray, *, edges: EdgeMode) -> np.ndarray:
    """Filter a curve by a symmetric kernel, treating the edges as ``edges`` says.

    Args:
        curve: ``(T,)`` values.
        kernel: ``(K,)`` symmetric weights, ``K`` odd; need not be normalised (each mode
            normalises: ``"nearest"`` by the kernel's sum, ``"existing"`` by the weights of
            the samples that exist).
        edges: ``"nearest"`` or ``"existing"`` (see the module docstring).

    Returns:
        ``(T,)`` float64 (a copy of the curve when ``K == 1`` or ``T == 0``).
    """
    if edges not in EDGE_MODES:
        raise ValueError(f"edges must be one of {EDGE_MODES}, got {edges!r}")
    weights = np.asarray(kernel, dtype=np.float64)
    if weights.ndim != 1 or weights.size % 2 == 0:
        raise ValueError(f"kernel must be (K,) with K odd, got shape {weights.shape}")
    values = np.asarray(curve, dtype=np.float64)
    if weights.size == 1 or values.size == 0:
        return values.copy()
    if edges == "nearest":
        radius = weights.size // 2
        padded = np.pad(values, radius, mode="edge")  # (T + 2 radius,)
        return np.convolve(padded, weights / weights.sum(), mode="valid")  # (T,)
    sums = np.convolve(values, weights, mode="same")  # (T,) weighted sums of existing samples
    counts = np.convolve(np.ones_like(values), weights, mode="same")  # (T,) their total weight
    return sums / counts
