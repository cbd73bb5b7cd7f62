"""The moment finders, by name: one registry the benchmarks and the CLI read.

A *moment finder* turns one query's similarity curve over one video's samples into ranked
moments. Every finder has the same shape (:data:`MomentFinder`), so a benchmark can compare
them on the same curves::

    from chronolens.tasks.ground import get_finder, list_finders

    list_finders()                      # ['grounder', 'tfvtg-paper', 'simple']
    moments = get_finder("grounder")(similarity, timestamps, duration, 10)

Finders are registered below with :func:`register_finder`, in the order ``list_finders``
returns them (``chronolens bench synth`` reports them in that order).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from chronolens.errors import ChronolensError, did_you_mean
from chronolens.tasks.ground.simple import find_moments
from chronolens.tasks.ground.tfvtg import GroundingConfig, ground, tfvtg_finder
from chronolens.timebase import Moment

__all__ = ["MomentFinder", "UnknownFinderError", "get_finder", "list_finders", "register_finder"]

# (similarity (T,), timestamps (T,) seconds, duration s, top_k) -> up to top_k moments, best first
MomentFinder = Callable[[np.ndarray, np.ndarray, float, int], list[Moment]]

_FINDERS: dict[str, MomentFinder] = {}


class UnknownFinderError(ChronolensError):
    """A moment finder name is not registered (the message lists the valid names)."""


def register_finder(name: str) -> Callable[[MomentFinder], MomentFinder]:
    """Register a moment finder under ``name`` (a decorator; names are unique).

    Args:
        name: the finder's name, as ``get_finder`` and the benchmark reports spell it.

    Returns:
        A decorator that registers the finder and returns it unchanged.
    """

    def decorator(finder: MomentFinder) -> MomentFinder:
        if name in _FINDERS:
            raise ValueError(f"moment finder {name!r} is already registered")
        _FINDERS[name] = finder
        return finder

    return decorator


def list_finders() -> list[str]:
    """Names of the registered moment finders, in registration order."""
    return list(_FINDERS)


def get_finder(name: str) -> MomentFinder:
    """The moment finder registered as ``name``.

    Raises:
        UnknownFinderError: no finder has that name (the message suggests the closest one).
    """
    try:
        return _FINDERS[name]
    except KeyError:
        raise UnknownFinderError(
            f"unknown moment finder {name!r}{did_you_mean(name, _FINDERS)}; choose from {', '.join(_FINDERS)}"
        ) from None


# chronolens' default grounder: TFVTG-style scoring with the balanced static contrast
# (``GroundingConfig()``; docs/grounding.md says why the defaults differ from the paper's).
register_finder("grounder")(tfvtg_finder)

_PAPER = GroundingConfig.tfvtg()  # TFVTG's own scoring (dynamic + plain-mean static, rise start)


@register_finder("tfvtg-paper")
def _tfvtg_paper(similarity: np.ndarray, timestamps: np.ndarray, duration: float, top_k: int) -> list[Moment]:
    """``ground`` with ``GroundingConfig.tfvtg()``: the paper's scoring, for comparison."""
    return list(ground(similarity, timestamps, duration, config=_PAPER, top_k=top_k).windows)


@register_finder("simple")
def _simple(similarity: np.ndarray, timestamps: np.ndarray, duration: float, top_k: int) -> list[Moment]:
    """``find_moments``: threshold-and-grow over the smoothed curve (the core loop's first method)."""
    return find_moments(similarity, timestamps, duration, top_k=top_k)
