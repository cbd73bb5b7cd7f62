"""ROUGE-L exactly as pycocoevalcap 1.2 computes it (``Rouge()``, beta 1.2).

Per id: the longest common subsequence (LCS) between the hypothesis and each reference gives a
precision ``lcs / len(hyp)`` and a recall ``lcs / len(ref)``; the maximum precision and the
maximum recall over the references (taken independently, as the reference does) combine into
``F = (1 + beta^2) P R / (R + beta^2 P)``, 0 when either is 0. The corpus score is the mean over ids.

Tokens come from ``str.split(" ")`` like the reference, so an empty caption is one empty token
and repeated spaces produce empty tokens (which can match each other).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chronolens.metrics.captioning.ngrams import check_inputs

__all__ = ["ROUGE_BETA", "lcs_length", "rouge_l"]

ROUGE_BETA = 1.2  # recall weight of the F-measure, pycocoevalcap's value


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token sequences.

    Args:
        a: first token sequence.
        b: second token sequence.

    Returns:
        The LCS length (0 when either is empty).
    """
    if len(a) < len(b):
        a, b = b, a
    # One DP row over the shorter sequence; previous[j] = LCS(a[:i-1], b[:j]).
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b):
            if token == other:
                current.append(previous[j] + 1)
            else:
                current.append(max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _rouge_one(hypothesis: str, references: Sequence[str], beta: float) -> float:
    hyp_tokens = hypothesis.split(" ")
    best_precision = 0.0
    best_recall = 0.0
    for reference in references:
        ref_tokens = reference.split(" ")
        lcs = lcs_length(ref_tokens, hyp_tokens)
        best_precision = max(best_precision, lcs / float(len(hyp_tokens)))
        best_recall = max(best_recall, lcs / float(len(ref_tokens)))
    if best_precision == 0 or best_recall == 0:
        return 0.0
    return ((1 + beta**2) * best_precision * best_recall) / float(best_recall + beta**2 * best_precision)


def rouge_l(gts: Mapping[str, Sequence[str]], res: Mapping[str, Sequence[str]]) -> tuple[float, np.ndarray]:
    """Corpus and per-id ROUGE-L (pycocoevalcap parity).

    Args:
        gts: id -> tokenised reference captions.
        res: id -> a one-element list holding the tokenised hypothesis; same ids as ``gts``.

    Returns:
        ``(mean, per_id)`` where ``per_id`` has shape (num_ids,), ordered as the keys of ``gts``.

    Raises:
        ValueError: when the inputs break the scorer contract (see ``check_inputs``).
    """
    check_inputs(gts, res)
    scores = np.array(
        [_rouge_one(res[key][0], refs, ROUGE_BETA) for key, refs in gts.items()], dtype=np.float64
    )
    mean = float(np.mean(scores)) if scores.size else float("nan")
    return mean, scores
