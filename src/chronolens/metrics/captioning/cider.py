"""CIDEr-D exactly as pycocoevalcap 1.2 computes it (``Cider()``: n=4, sigma=6), vectorised.

Matches ``pycocoevalcap/cider/cider_scorer.py``:

- document frequency ``df(g)`` of an n-gram is the number of ids whose references (any of them)
  contain it, counted over the whole ``gts``; ``idf(g) = log(num_ids) - log(max(1, df(g)))``, so
  an n-gram absent from every reference gets the full ``log(num_ids)``;
- each caption is a tf-idf vector per order 1..4; the similarity of hypothesis h and reference r
  at order k is ``sum_g min(h_g, r_g) * r_g / (|h| |r|)`` (clipping; the division is skipped when a
  norm is 0), times the Gaussian length penalty ``exp(-(len_h - len_r)^2 / (2 sigma^2))``;
- quirk kept on purpose: the "length" in that penalty is the number of *bigrams* of a caption
  (``len(words) - 1``, 0 for an empty or one-word caption), because the reference accumulates
  the length in the bigram branch of its loop;
- per id: mean over orders, summed over references, divided by the number of references, x10;
  the corpus score is the mean over ids.

Instead of dictionaries per caption pair this builds flat arrays of (caption, n-gram, weight)
entries once and joins hypothesis and reference entries with a sorted search.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from chronolens.metrics.captioning.ngrams import check_inputs

__all__ = ["CIDER_N", "CIDER_SCALE", "CIDER_SIGMA", "cider_d"]

CIDER_N = 4  # highest n-gram order, pycocoevalcap's value
CIDER_SIGMA = 6.0  # standard deviation of the Gaussian length penalty, in tokens (bigrams, see module doc)
CIDER_SCALE = 10.0  # final multiplier, as in the CIDEr-D paper and pycocoevalcap


def _ngram_rows(
    captions: Sequence[str], n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The n-gram counts of every caption as flat rows, computed with array operations.

    Words become integers through one dictionary; an order-k n-gram id is the rank of the pair
    (order-(k-1) id, next word id), so ids stay small and no tuples are built.

    Args:
        captions: whitespace-tokenised captions, C of them.
        n: highest n-gram order.

    Returns:
        ``(caption, gram, order, tf, bigrams, num_grams)``: per row the caption index, a global
        n-gram id (unique across orders), the order index (k - 1) and the count, all (rows,);
        ``bigrams`` (C,) is the number of bigrams of each caption; ids are < ``num_grams``.
    """
    vocab: dict[str, int] = {}
    word_lists = [caption.split() for caption in captions]
    lengths = np.fromiter((len(words) for words in word_lists), dtype=np.int64, count=len(word_lists))
    word_ids = np.fromiter(
        (vocab.setdefault(word, len(vocab)) for words in word_lists for word in words),
        dtype=np.int64,
        count=int(lengths.sum()),
    )  # (T,)
    caption_of = np.repeat(np.arange(len(word_lists), dtype=np.int64), lengths)  # (T,)
    remaining = np.repeat(lengths, lengths) - (
        np.arange(len(word_ids)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    )
    # remaining[t]: number of tokens from t to the end of its caption, (T,)
    rows_caption, rows_gram, rows_order, rows_tf = [], [], [], []
    offset = 0
    gram = word_ids
    for k in range(1, n + 1):
        if k > 1:
            valid_prev = remaining >= k
            pairs = np.full(len(word_ids), -1, dtype=np.int64)
            index = np.nonzero(valid_prev)[0]
            pairs[index] = gram[index] * (len(vocab) + 1) + word_ids[index + k - 1]
            _, gram_valid = np.unique(pairs[index], return_inverse=True)
            gram = np.full(len(word_ids), -1, dtype=np.int64)
            gram[index] = gram_valid
        valid = remaining >= k
        ids = gram[valid]
        num_k = int(ids.max()) + 1 if ids.size else 0
        keys, tf = np.unique(caption_of[valid] * max(num_k, 1) + ids, return_counts=True)
        rows_caption.append(keys // max(num_k, 1))
        rows_gram.append(keys % max(num_k, 1) + offset)
        rows_order.append(np.full(len(keys), k - 1, dtype=np.int64))
        rows_tf.append(tf)
        offset += num_k
    bigrams = np.maximum(lengths - 1, 0)
    return (
        np.concatenate(rows_caption),
        np.concatenate(rows_gram),
        np.concatenate(rows_order),
        np.concatenate(rows_tf).astype(np.float64),
        bigrams,
        offset,
    )


def cider_d(
    gts: Mapping[str, Sequence[str]],
    res: Mapping[str, Sequence[str]],
    *,
    n: int = CIDER_N,
    sigma: float = CIDER_SIGMA,
) -> tuple[float, np.ndarray]:
    """Corpus and per-id CIDEr-D (pycocoevalcap parity to ~1e-12).

    Args:
        gts: id -> tokenised reference captions (tokens split on whitespace).
        res: id -> a one-element list holding the tokenised hypothesis; same ids as ``gts``.
        n: highest n-gram order.
        sigma: standard deviation of the length penalty.

    Returns:
        ``(mean, per_id)`` where ``per_id`` has shape (num_ids,), ordered as the keys of ``gts``
        (iteration order, as pycocoevalcap; not sorted).

    Raises:
        ValueError: when the inputs break the scorer contract (see ``check_inputs``), ``n < 1``
            or ``sigma <= 0``.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    check_inputs(gts, res)
    num_ids = len(gts)
    if num_ids == 0:
        return float("nan"), np.zeros(0, dtype=np.float64)

    ref_texts = [reference for references in gts.values() for reference in references]
    hyp_texts = [res[key][0] for key in gts]
    refs_per_id_int = np.fromiter((len(refs) for refs in gts.values()), dtype=np.int64, count=num_ids)
    owner = np.repeat(np.arange(num_ids, dtype=np.int64), refs_per_id_int)  # (R,) id of each reference
    num_refs = len(ref_texts)
    caption, gram, order, tf, bigrams, vocab_size = _ngram_rows(ref_texts + hyp_texts, n)
    is_ref = caption < num_refs

    # Document frequency: number of ids whose references contain the n-gram.
    id_gram_keys = np.sort(owner[caption[is_ref]] * vocab_size + gram[is_ref])
    # Sort-based de-duplication (numpy 2's hash-based np.unique is slow on large int64 keys).
    first = np.ones(len(id_gram_keys), dtype=bool)
    first[1:] = id_gram_keys[1:] != id_gram_keys[:-1]
    id_gram = id_gram_keys[first] % vocab_size
    doc_freq = np.bincount(id_gram, minlength=vocab_size).astype(np.float64)
    idf = np.log(float(num_ids)) - np.log(np.maximum(1.0, doc_freq))  # (V,)
    value = tf * idf[gram]  # tf-idf weight per row
    norm = np.sqrt(
        np.bincount(caption * n + order, weights=value * value, minlength=(num_refs + num_ids) * n)
    ).reshape(num_refs + num_ids, n)
    ref_norm, hyp_norm = norm[:num_refs], norm[num_refs:]  # (R, n), (num_ids, n)

    ref_caption, ref_gram, ref_value = caption[is_ref], gram[is_ref], value[is_ref]
    hyp_caption, hyp_gram, hyp_value = caption[~is_ref] - num_refs, gram[~is_ref], value[~is_ref]

    # Join reference entries with the hypothesis entry of the same id and n-gram (if any).
    hyp_key = hyp_caption * vocab_size + hyp_gram  # unique per (id, n-gram)
    sort = np.argsort(hyp_key, kind="stable")
    hyp_key, hyp_value_sorted = hyp_key[sort], hyp_value[sort]
    ref_key = owner[ref_caption] * vocab_size + ref_gram
    matched_hyp = np.zeros_like(ref_value)
    if len(hyp_key):
        position = np.minimum(np.searchsorted(hyp_key, ref_key), len(hyp_key) - 1)
        found = hyp_key[position] == ref_key
        matched_hyp[found] = hyp_value_sorted[position[found]]
    contribution = np.minimum(matched_hyp, ref_value) * ref_value  # clipped overlap, (entries,)
    slot = ref_caption * n + order[is_ref]
    overlap = np.bincount(slot, weights=contribution, minlength=num_refs * n).reshape(num_refs, n)

    owner_norm = hyp_norm[owner]  # (R, n)
    safe = (owner_norm != 0) & (ref_norm != 0)
    similarity = np.where(safe, overlap / np.where(safe, owner_norm * ref_norm, 1.0), overlap)
    delta = (bigrams[num_refs:][owner] - bigrams[:num_refs]).astype(np.float64)  # (R,)
    similarity *= np.exp(-(delta**2) / (2 * sigma**2))[:, None]

    # References were appended id by id, so each id owns one contiguous run of rows.
    refs_per_id = np.bincount(owner, minlength=num_ids).astype(np.float64)
    starts = np.concatenate(([0], np.cumsum(refs_per_id[:-1]))).astype(np.int64)
    per_id_sum = np.add.reduceat(similarity, starts, axis=0)  # (num_ids, n)
    scores = per_id_sum.mean(axis=1) / refs_per_id * CIDER_SCALE  # (num_ids,)
    return float(np.mean(scores)), scores
