"""NMS without a full sort (the next window is the first of the survivors in visiting order)
keeps exactly what the lexsort pass kept: ties broken by start, end, then candidate index;
chunks holding NaN take the sort; ``temporal_iou``'s in-place arithmetic is the old formula's."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.metrics.temporal import temporal_iou
from chronolens.tasks.ground import nms
from chronolens.tasks.ground.nms import temporal_nms


def _sorted_greedy(windows: np.ndarray, scores: np.ndarray, thr: float, max_keep: int) -> list[int]:
    """The previous implementation: a stable lexsort of every candidate, then one greedy pass."""
    order = np.lexsort((windows[:, 1], windows[:, 0], -scores))
    keep: list[int] = []
    for i in order.tolist():
        if len(keep) == max_keep:
            break
        iou = temporal_iou(windows[i : i + 1], windows[keep]) if keep else np.zeros((1, 0))
        if not (iou > thr).any():
            keep.append(i)
    return keep


def _tied_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, 30, n).astype(np.float64)  # many equal starts and ends
    w = np.stack([starts, starts + rng.integers(0, 8, n)], axis=1)
    w[rng.integers(0, n, n // 10)] = w[0]  # exact duplicate windows: the lower index goes first
    s = rng.integers(0, 6, n).astype(np.float64)  # heavy score ties
    s[rng.integers(0, n, 5)] = -0.0  # a signed zero ties with 0.0
    return w, s


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("first_chunk", [2, 7, 1024])
@pytest.mark.parametrize("max_keep", [1, 3, 10, 10_000])
def test_unsorted_greedy_keeps_what_the_sort_kept(
    monkeypatch: pytest.MonkeyPatch, seed: int, first_chunk: int, max_keep: int
) -> None:
    monkeypatch.setattr(nms, "NMS_FIRST_CHUNK", first_chunk)
    w, s = _tied_case(seed, 300)
    for thr in (0.0, 0.3, 1.0):
        expected = _sorted_greedy(w, s, thr, max_keep)
        assert temporal_nms(w, s, iou_threshold=thr, max_keep=max_keep).tolist() == expected


def test_greedy_without_sort_visits_in_lexsort_order() -> None:
    # Same score: earlier start first; same start: earlier end; same window: lower index.
    w = np.array([[5.0, 9.0], [1.0, 9.0], [1.0, 4.0], [1.0, 4.0], [20.0, 21.0]])
    s = np.array([1.0, 1.0, 1.0, 1.0, 0.5])
    assert temporal_nms(w, s, iou_threshold=1.0).tolist() == [2, 3, 1, 0, 4]
    assert temporal_nms(w, s, iou_threshold=0.0).tolist() == [2, 0, 4]


@pytest.mark.parametrize("column", ["score", "-inf score", "start", "end"])
def test_nan_chunks_take_the_sort(column: str) -> None:
    w, s = _tied_case(11, 200)
    if column == "score":
        s[[3, 50]] = np.nan
    elif column == "-inf score":
        s[[3, 50, 51]] = -np.inf
    else:
        w[[3, 50], 0 if column == "start" else 1] = np.nan
    expected = _sorted_greedy(w, s, 0.3, 10_000)
    assert temporal_nms(w, s, iou_threshold=0.3).tolist() == expected


def test_first_chunk_scales_with_max_keep(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []
    w, s = _tied_case(3, 5000)

    def select(chunk: int) -> nms.Chunk:
        asked.append(chunk)
        members = np.arange(s.size)
        return members, s, w

    nms.nms_over_chunks(select, s.size, iou_threshold=0.3, max_keep=3)
    assert asked[0] == 3 * nms.NMS_CHUNK_PER_KEEP


def test_temporal_iou_matches_the_clip_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    values = np.array([0.0, -0.0, 1.0, 2.5, -1.0, np.nan, np.inf, 1e-300])
    p = rng.choice(values, size=(60, 2))
    g = rng.choice(values, size=(40, 2))
    with np.errstate(all="ignore"):
        len_p, len_g = p[:, 1] - p[:, 0], g[:, 1] - g[:, 0]
        inter = np.clip(
            np.minimum(p[:, None, 1], g[None, :, 1]) - np.maximum(p[:, None, 0], g[None, :, 0]), 0, None
        )
        expected = inter / (len_p[:, None] + len_g[None, :] - inter)
        got = temporal_iou(p, g)
    assert got.tobytes() == expected.tobytes()
