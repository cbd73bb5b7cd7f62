"""BLEU-1..n exactly as pycocoevalcap 1.2 computes it (``Bleu(4)``, ``option='closest'``).

Matches ``pycocoevalcap/bleu/bleu_scorer.py``:

- clipped n-gram matches against the per-n-gram maximum count over the references;
- the effective reference length of a hypothesis is the reference length closest to the
  hypothesis length, the shorter one on a tie; the corpus reference length is the sum of these;
- precisions are smoothed as ``(correct + 1e-15) / (guess + 1e-9)`` and the score for order k is
  the k-th root of the running product of precisions 1..k;
- the brevity penalty ``exp(1 - 1 / ratio)`` with ``ratio = (testlen + 1e-15) / (reflen + 1e-9)``
  applies when ``ratio < 1``, per sentence and for the corpus.

Tokens are whitespace-split (``str.split()``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from chronolens.metrics.captioning.ngrams import Ngram, check_inputs, count_ngrams

__all__ = ["BLEU_SMALL", "BLEU_TINY", "bleu"]

BLEU_TINY = 1e-15  # added to match counts (and test length) so a zero precision stays ~0, not 0/0
BLEU_SMALL = 1e-9  # added to guess counts (and reference length) to avoid division by zero


def _closest_length(ref_lengths: Sequence[int], test_length: int) -> int:
    """The reference length closest to ``test_length``; the shorter one on a tie."""
    return min((abs(length - test_length), length) for length in ref_lengths)[1]


def _bleu_from_counts(
    correct: Sequence[float], guess: Sequence[float], testlen: float, reflen: float
) -> list[float]:
    """BLEU-1..n from match and guess counts, with pycocoevalcap's smoothing and brevity penalty."""
    scores: list[float] = []
    product = 1.0
    for k, (c, g) in enumerate(zip(correct, guess, strict=True)):
        product *= (float(c) + BLEU_TINY) / (float(g) + BLEU_SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (testlen + BLEU_TINY) / (reflen + BLEU_SMALL)
    if ratio < 1:
        penalty = math.exp(1 - 1 / ratio)
        scores = [s * penalty for s in scores]
    return scores


def bleu(
    gts: Mapping[str, Sequence[str]], res: Mapping[str, Sequence[str]], n: int = 4
) -> tuple[list[float], list[list[float]]]:
    """Corpus and per-id BLEU-1..n (pycocoevalcap parity).

    Args:
        gts: id -> tokenised reference captions (space-separated tokens).
        res: id -> a one-element list holding the tokenised hypothesis; same ids as ``gts``.
        n: the highest n-gram order.

    Returns:
        ``(corpus, per_id)``: ``corpus[k]`` is corpus BLEU-(k+1); ``per_id[k][i]`` is BLEU-(k+1)
        of the i-th id in the iteration order of ``gts``.

    Raises:
        ValueError: when the inputs break the scorer contract (see ``check_inputs``) or ``n < 1``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    check_inputs(gts, res)
    total_correct = [0] * n
    total_guess = [0] * n
    total_testlen = 0
    total_reflen = 0
    per_id: list[list[float]] = [[] for _ in range(n)]
    for key, refs in gts.items():
        max_counts: dict[Ngram, int] = {}
        ref_lengths: list[int] = []
        for ref in refs:
            ref_words = ref.split()
            ref_lengths.append(len(ref_words))
            for ngram, count in count_ngrams(ref_words, n).items():
                if count > max_counts.get(ngram, 0):
                    max_counts[ngram] = count
        words = res[key][0].split()
        testlen = len(words)
        reflen = _closest_length(ref_lengths, testlen)
        correct = [0] * n
        for ngram, count in count_ngrams(words, n).items():
            correct[len(ngram) - 1] += min(max_counts.get(ngram, 0), count)
        guess = [max(0, testlen - k) for k in range(n)]
        for k, score in enumerate(_bleu_from_counts(correct, guess, testlen, reflen)):
            per_id[k].append(score)
        for k in range(n):
            total_correct[k] += correct[k]
            total_guess[k] += guess[k]
        total_testlen += testlen
        total_reflen += reflen
    corpus = _bleu_from_counts(total_correct, total_guess, total_testlen, total_reflen)
    return corpus, per_id
