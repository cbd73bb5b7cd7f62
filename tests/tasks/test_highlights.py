"""Highlights: clip alignment with QVHighlights ids, query-based and query-free saliency, spans."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.highlights import (
    HighlightConfig,
    highlight_spans,
    highlights,
    novelty_saliency,
    query_saliency,
)
from chronolens.timebase.grid import clip_means


def test_clip_means_alignment_and_empty_clips() -> None:
    ts = np.array([0.0, 1.0, 2.5, 7.9])  # clip 2 ([4, 6)) is empty; 7.9 is in clip 3
    vals = np.array([1.0, 3.0, 5.0, 7.0])
    means = clip_means(vals, ts, 8.0, 2.0)
    assert means.tolist() == [2.0, 5.0, 5.0, 7.0]  # empty clip 2 takes the sample nearest 5.0 (2.5)
    # A partial last clip counts (ceil), as QVHighlights' clip ids do.
    assert clip_means(vals, ts, 9.0, 2.0).shape == (5,)


def test_query_saliency_normalised_and_peaks_at_event() -> None:
    ts = np.arange(20) + 0.5
    sim = np.full(20, 0.2)
    sim[8:12] = 0.5
    sal = query_saliency(sim, ts, 20.0)
    assert sal.min() == 0.0 and sal.max() == 1.0
    assert np.flatnonzero(sal == 1.0).tolist() == [4, 5]
    assert query_saliency(np.full(20, 0.3), ts, 20.0).tolist() == [0.0] * 10


def test_novelty_finds_what_stands_out() -> None:
    rng = np.random.default_rng(0)
    dim = 16
    base = rng.normal(size=dim)
    frames = base + 0.05 * rng.normal(size=(60, dim))
    frames[30:34] = rng.normal(size=dim) * 3  # a short different shot
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    ts = np.arange(60) + 0.5
    sal = novelty_saliency(frames, ts, 60.0)
    assert set(np.argsort(sal)[-2:].tolist()) == {15, 16}
    result = highlights(frames, ts, 60.0, config=HighlightConfig(top_k=1))
    assert (result.windows[0].start, result.windows[0].end) == (30.0, 34.0)
    assert len(result.saliency) == 30


def test_spans_clamped_and_sorted() -> None:
    spans = highlight_spans(np.array([0, 1, 1, 0, 0.8]), 9.0, clip_length=2.0, threshold=0.5, top_k=5)
    assert [(m.start, m.end) for m in spans] == [(2.0, 6.0), (8.0, 9.0)]
    assert spans[0].score == 1.0


def test_query_based_highlights() -> None:
    ts = np.arange(10) + 0.5
    emb = np.zeros((10, 2), dtype=np.float32)
    emb[:, 0] = 1.0
    emb[4:6] = [0.0, 1.0]
    result = highlights(emb, ts, 10.0, text_embedding=np.array([0.0, 1.0]))
    assert result.saliency == (0.0, 0.0, 1.0, 0.0, 0.0)
    assert (result.windows[0].start, result.windows[0].end) == (4.0, 6.0)


@pytest.mark.parametrize(
    ("field", "value"), [("clip_length", 0.0), ("global_weight", 2.0), ("context_clips", 0)]
)
def test_config_validation(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        HighlightConfig(**{field: value})
