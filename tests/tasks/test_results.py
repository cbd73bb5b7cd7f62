"""GroundingResult: validation and the exact QVHighlights prediction record."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.metrics.qvhighlights import evaluate_qvhighlights
from chronolens.tasks.results import GroundingResult
from chronolens.timebase import Moment


def test_to_qvhighlights_is_read_by_the_evaluator() -> None:
    result = GroundingResult(
        windows=(Moment(2.0, 6.0, 0.9), Moment(7.0, 9.0, 0.4)),
        saliency=(0.1, 0.9, 0.8, 0.0, 0.0),
        clip_length=2.0,
        duration=10.0,
    )
    record = result.to_qvhighlights(7, "a dog", "vid1")
    assert record == {
        "qid": 7,
        "query": "a dog",
        "vid": "vid1",
        "pred_relevant_windows": [[2.0, 6.0, 0.9], [7.0, 9.0, 0.4]],
        "pred_saliency_scores": [0.1, 0.9, 0.8, 0.0, 0.0],
    }
    gt = {
        "qid": 7,
        "query": "a dog",
        "vid": "vid1",
        "duration": 10.0,
        "relevant_windows": [[2.0, 6.0]],
        "relevant_clip_ids": [1, 2],
        "saliency_scores": [[4, 4, 4], [3, 3, 3]],
    }
    metrics = evaluate_qvhighlights([record], [gt])
    assert metrics["brief"]["MR-full-R1@0.7"] == pytest.approx(100.0)
    assert metrics["brief"]["HL-min-VeryGood-Hit1"] == pytest.approx(100.0)


def test_validation() -> None:
    with pytest.raises(ValueError, match="sorted"):
        GroundingResult(
            windows=(Moment(0, 1, 0.1), Moment(1, 2, 0.5)), saliency=(), clip_length=2, duration=2
        )
    with pytest.raises(ValueError, match="windows must lie"):
        GroundingResult(windows=(Moment(0, 3, 0.1),), saliency=(), clip_length=2, duration=2)
    with pytest.raises(ValueError, match="clip_length"):
        GroundingResult(windows=(), saliency=(), clip_length=0, duration=2)
    r = GroundingResult(windows=(Moment(0, 1, 0.5),), saliency=(1.0,), clip_length=2, duration=2)
    assert r.best == Moment(0, 1, 0.5) and r.top(5) == [Moment(0, 1, 0.5)]
    assert np.allclose(r.to_json()["windows"], [[0, 1, 0.5]])
