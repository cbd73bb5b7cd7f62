"""Text-to-video retrieval metrics: R@1/5/10, median and mean rank, as CLIP4Clip defines them.

Reference: ArrowLuo/CLIP4Clip ``metrics.py`` ``compute_metrics``. For a (Q, N) similarity matrix
whose query ``i`` matches item ``target[i]`` (the diagonal in CLIP4Clip), the 0-based rank of the
match is its position in the row sorted by descending similarity. CLIP4Clip finds that position
by exact equality with the target's score, so a target tied with ``k`` other items contributes
``k + 1`` ranks (every tied position) and the denominators count ranks, not queries — chronolens
reproduces that. Results are x100 for recalls; ``MedianR`` and ``MeanR`` are 1-based.

File formats for :func:`evaluate_files`:

- predictions, one of
  - a ``.npy`` file holding a (Q, N) float similarity matrix (rows: queries, columns: items);
  - a JSON object ``{"similarity": [[...], ...]}`` with the same matrix;
  - a JSON object of ranked lists ``{"<query_id>": ["<item_id>", ...], ...}``, best first.
- ground truth, matching the prediction kind:
  - for a matrix: a JSON list of column indices, one per row (``[0, 1, 2, ...]`` for the usual
    diagonal), or ``{"targets": [...]}``; the string ``"diagonal"`` in a JSON file also works;
  - for ranked lists: a JSON object ``{"<query_id>": "<item_id>"}``. A target missing from its
    ranked list is a miss at every k and ranks just after the list's last item.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import FormatError
from chronolens.metrics.io import load_json

__all__ = ["RECALL_KS", "evaluate_files", "ranks_from_lists", "ranks_from_similarity", "retrieval_metrics"]

logger = logging.getLogger(__name__)

# The k of the reported R@k.
RECALL_KS: tuple[int, ...] = (1, 5, 10)


def ranks_from_similarity(
    similarity: np.ndarray, targets: np.ndarray | Sequence[int] | None = None
) -> np.ndarray:
    """0-based ranks of each query's target item, with CLIP4Clip's handling of ties.

    Args:
        similarity: (Q, N) scores, higher is better.
        targets: (Q,) column of each query's matching item; the diagonal when None (Q <= N).

    Returns:
        (R,) int ranks, R >= Q: one per position whose score equals the target's score, so ties
        add entries exactly as CLIP4Clip's ``np.where(sorted - diag == 0)`` does. A NaN target
        score matches nothing and adds no entry.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be a (Q, N) matrix, got shape {sim.shape}")
    q, n = sim.shape
    target = np.arange(q) if targets is None else np.asarray(targets, dtype=np.int64)
    if target.shape != (q,):
        raise ValueError(f"targets must have shape ({q},), got {target.shape}")
    if q and (target.min() < 0 or target.max() >= n):
        raise ValueError(f"targets must be column indices in [0, {n})")
    ordered = np.sort(-sim, axis=1)  # (Q, N) ascending negated score = descending score
    target_score = -sim[np.arange(q), target][:, None]  # (Q, 1)
    return np.nonzero(ordered - target_score == 0)[1]


def ranks_from_lists(ranked: Mapping[str, Sequence[str]], targets: Mapping[str, str]) -> np.ndarray:
    """0-based rank of each query's target in its ranked list (best first).

    Args:
        ranked: query id -> item ids ranked best first.
        targets: query id -> the relevant item id; every query must have a ranked list.

    Returns:
        (Q,) int ranks in ``targets`` order; a target absent from its list gets ``len(list)``.
    """
    ranks = np.empty(len(targets), dtype=np.int64)
    for i, (query, target) in enumerate(targets.items()):
        items = list(ranked[query])
        ranks[i] = items.index(target) if target in items else len(items)
    return ranks


def retrieval_metrics(ranks: np.ndarray, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """R@k (x100), median and mean rank (1-based) from 0-based ranks.

    Args:
        ranks: (R,) 0-based ranks (from :func:`ranks_from_similarity` or :func:`ranks_from_lists`).
        ks: the k of each R@k.

    Returns:
        ``{"R1", "R5", "R10", "MedianR", "MeanR"}`` (keys follow ``ks``).
    """
    ranks = np.asarray(ranks)
    if ranks.size == 0:
        raise ValueError("no ranks to evaluate")
    metrics = {f"R{k}": float(np.sum(ranks < k)) * 100 / len(ranks) for k in ks}
    metrics["MedianR"] = float(np.median(ranks) + 1)
    metrics["MeanR"] = float(np.mean(ranks) + 1)
    return metrics


def _load_matrix(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        try:
            matrix = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
    else:
        data = load_json(path)
        if not isinstance(data, dict) or "similarity" not in data:
            raise FormatError(f"{path}: expected a .npy matrix, {{'similarity': [[...]]}} or ranked lists")
        try:
            matrix = np.array(data["similarity"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):
            raise FormatError(f"{path}: key 'similarity': not a rectangular matrix of numbers") from None
    if matrix.ndim != 2 or matrix.dtype.kind not in "iuf":
        raise FormatError(f"{path}: similarity must be a 2-D numeric matrix, got shape {matrix.shape}")
    return matrix


def _load_targets(path: Path, n_rows: int, n_cols: int) -> np.ndarray:
    data = load_json(path)
    if isinstance(data, dict):
        if "targets" not in data:
            raise FormatError(f"{path}: expected a list of column indices or {{'targets': [...]}}")
        data = data["targets"]
    if data == "diagonal":
        if n_rows > n_cols:
            raise FormatError(
                f"{path}: 'diagonal' needs at least as many items ({n_cols}) as queries ({n_rows})"
            )
        return np.arange(n_rows)
    if not isinstance(data, list) or len(data) != n_rows:
        raise FormatError(f"{path}: expected {n_rows} target column indices (one per similarity row)")
    for i, value in enumerate(data):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_cols:
            raise FormatError(f"{path}: index {i}: target {value!r} is not a column index in [0, {n_cols})")
    return np.array(data, dtype=np.int64)


def evaluate_files(pred_path: str | Path, gt_path: str | Path) -> dict[str, Any]:
    """Evaluate retrieval predictions (similarity matrix or ranked lists) against targets.

    Args:
        pred_path: see the module docstring for the accepted formats.
        gt_path: the matching ground truth.

    Returns:
        ``{"R1", "R5", "R10", "MedianR", "MeanR", "num_queries"}``.

    Raises:
        FormatError: unreadable or inconsistent files.
    """
    pred_path, gt_path = Path(pred_path), Path(gt_path)
    if pred_path.suffix == ".npy":
        matrix = _load_matrix(pred_path)
        targets = _load_targets(gt_path, *matrix.shape)
        ranks = ranks_from_similarity(matrix, targets)
        n_queries = matrix.shape[0]
    else:
        data = load_json(pred_path)
        if isinstance(data, dict) and "similarity" in data:
            matrix = _load_matrix(pred_path)
            targets = _load_targets(gt_path, *matrix.shape)
            ranks = ranks_from_similarity(matrix, targets)
            n_queries = matrix.shape[0]
        else:
            ranked, gt = _ranked_lists(data, pred_path), load_json(gt_path)
            if not isinstance(gt, dict):
                raise FormatError(
                    f"{gt_path}: expected {{'<query_id>': '<item_id>'}} for ranked-list predictions"
                )
            for query, item in gt.items():
                if not isinstance(item, str):
                    raise FormatError(
                        f"{gt_path}: key {query!r}: target must be an item id string, got {item!r}"
                    )
                if query not in ranked:
                    raise FormatError(f"{pred_path}: no ranked list for query {query!r} of {gt_path}")
            extra = [q for q in ranked if q not in gt]
            if extra:
                raise FormatError(
                    f"{pred_path}: key {extra[0]!r}: query not in {gt_path} ({len(extra)} such)"
                )
            ranks = ranks_from_lists(ranked, gt)
            n_queries = len(gt)
    if n_queries == 0:
        raise FormatError(f"{pred_path}: no queries")
    return {**retrieval_metrics(ranks), "num_queries": int(n_queries)}


def _ranked_lists(data: Any, path: Path) -> dict[str, list[str]]:
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected ranked lists {{'<query_id>': ['<item_id>', ...]}}")
    for query, items in data.items():
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise FormatError(f"{path}: key {query!r}: ranked list must be a list of item id strings")
    return data
