"""N-gram counting and input checks shared by the COCO caption scorers.

The scorers take *already tokenised* captions: one string per caption, tokens separated by
spaces. ``gts`` maps an id to its reference captions, ``res`` maps the same ids to exactly one
hypothesis, as in pycocoevalcap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

__all__ = ["Ngram", "check_inputs", "count_ngrams"]

Ngram = tuple[str, ...]


def count_ngrams(words: Sequence[str], n: int) -> Counter[Ngram]:
    """Count every 1..n-gram of a token sequence.

    Args:
        words: the tokens of one sentence.
        n: the longest n-gram order counted.

    Returns:
        A Counter from n-gram tuples (of length 1..n) to their number of occurrences.
    """
    counts: Counter[Ngram] = Counter()
    for k in range(1, n + 1):
        # zip of k shifted views yields every contiguous k-gram once, left to right.
        counts.update(zip(*(words[i:] for i in range(k)), strict=False))
    return counts


def check_inputs(gts: Mapping[str, Sequence[str]], res: Mapping[str, Sequence[str]]) -> None:
    """Check that ``gts`` and ``res`` fit the scorer contract (what pycocoevalcap asserts).

    Args:
        gts: id -> reference captions (at least one each).
        res: id -> a list with exactly one hypothesis caption.

    Raises:
        ValueError: when the id sets differ, a hypothesis list does not hold exactly one caption,
            or an id has no reference.
    """
    if gts.keys() != res.keys():
        missing = sorted(map(str, gts.keys() - res.keys()))[:3]
        extra = sorted(map(str, res.keys() - gts.keys()))[:3]
        raise ValueError(
            f"gts and res must have the same ids (missing in res: {missing}, extra in res: {extra})"
        )
    for key, refs in gts.items():
        hyps = res[key]
        if isinstance(hyps, str) or len(hyps) != 1:
            raise ValueError(f"res[{key!r}] must be a list with exactly one hypothesis")
        if isinstance(refs, str) or len(refs) == 0:
            raise ValueError(f"gts[{key!r}] must be a non-empty list of references")
