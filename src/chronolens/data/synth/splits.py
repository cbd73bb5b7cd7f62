"""Which colour-shape-action combinations are held out of training for the compositional split.

The rule depends on nothing but the combination (a salted hash), so a train split and a
compositional split rendered in separate runs, with any seeds, always agree on it.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from chronolens.data.split_names import SPLITS
from chronolens.data.synth.vocab import COLORS, OBJECT_EVENT_KINDS, SHAPES

__all__ = ["DEFAULT_HOLDOUT_FRACTION", "assign_splits", "heldout_combos", "is_heldout"]

DEFAULT_HOLDOUT_FRACTION = 0.2
_SALT = b"chronolens-synth-compositional-v1"


def is_heldout(color: str, shape: str, kind: str, fraction: float = DEFAULT_HOLDOUT_FRACTION) -> bool:
    """Whether ``(color, shape, kind)`` is reserved for the compositional split."""
    digest = hashlib.sha256(_SALT + f"{color}|{shape}|{kind}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def heldout_combos(fraction: float = DEFAULT_HOLDOUT_FRACTION) -> frozenset[tuple[str, str, str]]:
    """All held-out ``(colour, shape, kind)`` combinations."""
    return frozenset(
        (c, s, k) for c in COLORS for s in SHAPES for k in OBJECT_EVENT_KINDS if is_heldout(c, s, k, fraction)
    )


def assign_splits(n: int, split: str, fractions: tuple[float, ...], seed: int) -> list[str]:
    """The split of each of ``n`` videos: all ``split``, or for ``"all"`` a seeded shuffle by fractions.

    Every split with a positive fraction gets at least one video when ``n`` allows it.
    """
    if split != "all":
        return [split] * n
    weights = np.asarray(fractions, dtype=np.float64) / float(np.sum(fractions))
    counts = [math.floor(w * n) for w in weights]
    # Hand out the remainder, first to positive-fraction splits that got nothing.
    order = sorted(range(len(counts)), key=lambda i: (counts[i] > 0 or weights[i] == 0, -weights[i]))
    i = 0
    while sum(counts) < n:
        counts[order[i % len(order)]] += 1
        i += 1
    labels = [name for name, c in zip(SPLITS, counts, strict=True) for _ in range(c)]
    perm = np.random.default_rng([seed, 0x5B11]).permutation(n)
    return [labels[int(j)] for j in perm]
