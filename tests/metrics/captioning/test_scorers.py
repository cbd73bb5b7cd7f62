"""COCO caption scorers: golden parity with pycocoevalcap 1.2 and naive re-computations."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from chronolens.metrics.captioning import bleu, cider_d, rouge_l
from chronolens.metrics.captioning.rouge import lcs_length

FIXTURES = Path(__file__).parent / "fixtures"
TOLERANCE = 1e-9
CASES = json.loads((FIXTURES / "coco_scores.json").read_text())["cases"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bleu_matches_pycocoevalcap(name: str) -> None:
    case = CASES[name]
    corpus, per_id = bleu(case["gts"], case["res"])
    for k in range(4):
        golden = case["scores"][f"Bleu_{k + 1}"]
        assert corpus[k] == pytest.approx(golden["corpus"], abs=TOLERANCE)
        np.testing.assert_allclose(per_id[k], golden["per_id"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rouge_l_matches_pycocoevalcap(name: str) -> None:
    case = CASES[name]
    corpus, per_id = rouge_l(case["gts"], case["res"])
    assert corpus == pytest.approx(case["scores"]["ROUGE_L"]["corpus"], abs=TOLERANCE)
    np.testing.assert_allclose(per_id, case["scores"]["ROUGE_L"]["per_id"], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("name", sorted(CASES))
def test_cider_d_matches_pycocoevalcap(name: str) -> None:
    case = CASES[name]
    corpus, per_id = cider_d(case["gts"], case["res"])
    assert per_id.shape == (len(case["gts"]),)
    assert corpus == pytest.approx(case["scores"]["CIDEr"]["corpus"], abs=TOLERANCE)
    np.testing.assert_allclose(per_id, case["scores"]["CIDEr"]["per_id"], rtol=0, atol=TOLERANCE)


def test_per_id_order_follows_gts_keys() -> None:
    gts = {"b": ["a cat on a mat"], "a": ["a dog in the park"]}
    res = {"a": ["a dog in the park"], "b": ["a bird"]}
    _, cider_per_id = cider_d(gts, res)
    _, rouge_per_id = rouge_l(gts, res)
    _, bleu_per_id = bleu(gts, res)
    # "a" (perfect match) is second in gts order, so its scores are second.
    assert cider_per_id[1] > cider_per_id[0]
    assert rouge_per_id[1] == 1.0 and rouge_per_id[0] < 1.0
    assert bleu_per_id[0][1] == pytest.approx(1.0) and bleu_per_id[0][0] < 1.0


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="same ids"):
        bleu({"a": ["x"]}, {"b": ["x"]})
    with pytest.raises(ValueError, match="exactly one"):
        cider_d({"a": ["x"]}, {"a": ["x", "y"]})
    with pytest.raises(ValueError, match="non-empty"):
        rouge_l({"a": []}, {"a": ["x"]})


# --- naive re-computations on tiny seeded inputs -------------------------------------------------


def _ngrams(words: list[str], k: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + k]) for i in range(len(words) - k + 1))


def _naive_bleu(gts: dict[str, list[str]], res: dict[str, list[str]], n: int = 4) -> list[float]:
    """Corpus BLEU straight from the definition, with pycocoevalcap's smoothing and 'closest' length."""
    correct = [0] * n
    guess = [0] * n
    testlen = reflen = 0
    for key in gts:
        hyp = res[key][0].split()
        refs = [r.split() for r in gts[key]]
        testlen += len(hyp)
        reflen += sorted(refs, key=lambda r: (abs(len(r) - len(hyp)), len(r)))[0].__len__()
        for k in range(1, n + 1):
            hyp_counts = _ngrams(hyp, k)
            for gram, count in hyp_counts.items():
                correct[k - 1] += min(count, max(_ngrams(r, k)[gram] for r in refs))
            guess[k - 1] += max(0, len(hyp) - k + 1)
    scores = []
    for k in range(1, n + 1):
        log_mean = sum(math.log((correct[i] + 1e-15) / (guess[i] + 1e-9)) for i in range(k)) / k
        scores.append(math.exp(log_mean))
    ratio = (testlen + 1e-15) / (reflen + 1e-9)
    penalty = math.exp(1 - 1 / ratio) if ratio < 1 else 1.0
    return [s * penalty for s in scores]


def _naive_cider(
    gts: dict[str, list[str]], res: dict[str, list[str]], n: int = 4, sigma: float = 6.0
) -> float:
    """CIDEr-D straight from the paper's formula with pycocoevalcap's idf set and bigram length."""
    num = len(gts)
    df: Counter[tuple[str, ...]] = Counter()
    for refs in gts.values():
        df.update({g for r in refs for k in range(1, n + 1) for g in _ngrams(r.split(), k)})

    def vector(words: list[str], k: int) -> dict[tuple[str, ...], float]:
        return {g: c * (math.log(num) - math.log(max(1.0, df[g]))) for g, c in _ngrams(words, k).items()}

    total = 0.0
    for key, refs in gts.items():
        hyp = res[key][0].split()
        per_order = []
        for k in range(1, n + 1):
            vh = vector(hyp, k)
            acc = 0.0
            for ref in refs:
                words = ref.split()
                vr = vector(words, k)
                dot = sum(min(v, vr.get(g, 0.0)) * vr.get(g, 0.0) for g, v in vh.items())
                norms = math.sqrt(sum(v * v for v in vh.values())) * math.sqrt(
                    sum(v * v for v in vr.values())
                )
                sim = dot / norms if norms else dot
                delta = max(len(hyp) - 1, 0) - max(len(words) - 1, 0)  # bigram counts
                acc += sim * math.exp(-(delta**2) / (2 * sigma**2))
            per_order.append(acc / len(refs))
        total += 10.0 * sum(per_order) / n
    return total / num


def _random_corpus(seed: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    rng = random.Random(seed)
    vocab = ["a", "the", "dog", "cat", "runs", "sits", "on", "mat", "red", "big"]

    def sentence() -> str:
        return " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 9)))

    gts = {f"id{i}": [sentence() for _ in range(rng.randint(1, 4))] for i in range(12)}
    res = {key: [rng.choice([sentence(), gts[key][0]])] for key in gts}
    return gts, res


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bleu_equals_naive_recomputation(seed: int) -> None:
    gts, res = _random_corpus(seed)
    corpus, _ = bleu(gts, res)
    np.testing.assert_allclose(corpus, _naive_bleu(gts, res), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cider_d_equals_naive_recomputation(seed: int) -> None:
    gts, res = _random_corpus(seed)
    corpus, _ = cider_d(gts, res)
    assert corpus == pytest.approx(_naive_cider(gts, res), rel=1e-12)


def test_cider_d_length_penalty_counts_bigrams() -> None:
    # Hypothesis of 1 word vs reference of 1 word: both have 0 bigrams, no penalty; idf is 0 for
    # an n-gram in every id's references, so use a second id to give "cat" weight.
    gts = {"x": ["cat"], "y": ["dog"]}
    res = {"x": ["cat"], "y": ["dog dog dog dog dog dog dog dog"]}
    _, per_id = cider_d(gts, res)
    assert per_id[0] == pytest.approx(10.0 / 4)  # only the unigram order matches, cosine 1
    assert 0 < per_id[1] < per_id[0]  # 7 bigrams vs 0: Gaussian length penalty


def test_lcs_length() -> None:
    assert lcs_length(["a", "b", "c", "d"], ["a", "c", "d"]) == 3
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(["x", "y"], ["y", "x"]) == 1
