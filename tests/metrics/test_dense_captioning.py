"""Tests for chronolens.metrics.dense_captioning and chronolens.metrics.soda (TimeChat eval_dvc parity)."""

from __future__ import annotations

import importlib
import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import FormatError
from chronolens.metrics import captioning
from chronolens.metrics.dense_captioning import (
    GroundTruthVideo,
    PredictedVideo,
    dvc_iou,
    evaluate_dense_captioning,
    evaluate_files,
    precision_recall,
)
from chronolens.metrics.io import InputChecks
from chronolens.metrics.soda import best_alignment_score, soda_f_measure

FIXTURES = Path(__file__).parent / "fixtures"
PRED = FIXTURES / "dvc_pred.json"
GT = FIXTURES / "dvc_gt.json"
EXPECTED = json.loads((FIXTURES / "dvc_expected.json").read_text())
METEOR_KEYS = ("METEOR", "SODA_c_2", "Para_METEOR")
# The golden fixture has a reversed predicted window (eval_dvc.py reorders it): read leniently.
LENIENT = InputChecks(lenient=True)


meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")


@pytest.fixture
def no_meteor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # as on a machine without Java


class _CountingScorer:
    """Stands in for the shared MeteorScorer: counts fetches and calls, scores with ``score_fn``."""

    def __init__(self, score_fn: Callable[..., tuple[float, list[float]]]) -> None:
        self._score_fn = score_fn
        self.fetched = 0
        self.calls = 0

    def get(self) -> _CountingScorer:
        self.fetched += 1
        return self

    def score(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
        self.calls += 1
        return self._score_fn(gts, res)


def _naive_iou(a: list[float], b: list[float]) -> float:
    s1, e1, s2, e2 = min(a), max(a), min(b), max(b)
    inter = max(0.0, min(e1, e2) - max(s1, s2))
    return inter / (min(max(e1, e2) - min(s1, s2), e1 - s1 + e2 - s2) + 1e-8)


def test_golden_values_without_meteor(no_meteor: None) -> None:
    got = evaluate_files(PRED, GT, checks=LENIENT)
    for key, value in EXPECTED.items():
        if key in METEOR_KEYS:
            assert got[key] is None
        else:
            assert got[key] == pytest.approx(value, abs=1e-9), key
    (note,) = got["notes"]  # one line: what is missing, how to get it, what is null
    assert note.startswith("METEOR skipped: java not found on PATH") and note.endswith("Para_METEOR are null")
    assert got["n_videos"] == 5


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_golden_values_with_meteor_jar() -> None:
    if captioning.find_meteor_jar() is None:
        pytest.skip("needs meteor-1.5.jar (set CHRONOLENS_METEOR_JAR)")
    got = evaluate_files(PRED, GT, checks=LENIENT)
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value, abs=1e-9), key


def test_one_meteor_scorer_serves_the_whole_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _CountingScorer(_word_overlap)
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", fake.get)
    got = evaluate_files(PRED, GT, checks=LENIENT)
    assert fake.fetched == 1
    # per video with predictions: 4 thresholds + SODA_c; plus one Para_METEOR call
    n_with_preds = 4  # one of the 5 fixture videos has no predictions
    assert fake.calls == n_with_preds * 5 + 1
    assert "notes" not in got and all(0.0 < got[key] <= 100.0 for key in METEOR_KEYS)
    for key, value in EXPECTED.items():
        if key not in METEOR_KEYS:
            assert got[key] == pytest.approx(value, abs=1e-9), key


def test_iou_matches_naive_and_handles_reversed_and_zero_length() -> None:
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 30, size=(7, 2))  # some rows reversed
    gt = np.vstack([rng.uniform(0, 30, size=(4, 2)), [[5.0, 5.0]]])
    got = dvc_iou(pred, gt)
    assert got.shape == (5, 7)
    for i, j in itertools.product(range(5), range(7)):
        assert got[i, j] == _naive_iou(list(gt[i]), list(pred[j]))
    assert dvc_iou(np.array([[5.0, 5.0]]), np.array([[5.0, 5.0]]))[0, 0] == 0.0
    assert dvc_iou(np.array([[10.0, 0.0]]), np.array([[0.0, 10.0]]))[0, 0] == pytest.approx(1.0)
    assert dvc_iou(np.zeros((0, 2)), gt).shape == (5, 0)


def test_precision_recall_strict_threshold_and_empty_predictions() -> None:
    iou = np.array([[0.3, 0.0], [0.0, 0.31]])
    precision, recall = precision_recall(iou, (0.3, 0.5))
    assert precision == [0.5, 0.0] and recall == [0.5, 0.0]  # IoU exactly 0.3 is not > 0.3
    precision, recall = precision_recall(np.zeros((3, 0)))
    assert precision == [0.0] * 4 and recall == [0.0] * 4


def _brute_force_alignment(scores: np.ndarray) -> float:
    n_rows, n_cols = scores.shape
    best = 0.0
    for k in range(1, min(n_rows, n_cols) + 1):
        for rows in itertools.combinations(range(n_rows), k):
            for cols in itertools.combinations(range(n_cols), k):
                best = max(best, float(sum(scores[r, c] for r, c in zip(rows, cols, strict=True))))
    return best


def test_alignment_dp_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (1, 4), (4, 1), (3, 3), (4, 5), (5, 3)]:
        scores = rng.uniform(0, 1, size=shape) * (rng.uniform(size=shape) > 0.3)
        assert best_alignment_score(scores) == pytest.approx(_brute_force_alignment(scores), abs=1e-12)
    assert best_alignment_score(np.zeros((2, 3))) == 0.0  # ties: all-zero scores
    assert soda_f_measure(np.ones((2, 2)), np.eye(2)) == pytest.approx(1.0)
    assert soda_f_measure(np.zeros((1, 3)), np.ones((1, 3))) == 0.0


def _word_overlap(gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
    """A deterministic stand-in for METEOR: Jaccard overlap of hypothesis and first reference."""
    scores = []
    for key in gts:
        a, b = set(res[key][0].split()), set(gts[key][0].split())
        scores.append(len(a & b) / len(a | b) if a | b else 0.0)
    return float(np.mean(scores)) if scores else 0.0, scores


def _naive_soda(gt: GroundTruthVideo, pred: PredictedVideo) -> float:
    """The reference's SODA_c: METEOR(ref=pred, hyp=gt), columns in sorted(str) order, recursive DP."""
    order = sorted(range(len(pred.captions)), key=str)
    tok = captioning.ptb_tokenize
    p = [tok({"x": [c]})["x"][0] for c in pred.captions]
    g = [tok({"x": [c]})["x"][0] for c in gt.captions]
    scores = np.array([[_word_overlap({"k": [p[j]]}, {"k": [gi]})[1][0] for j in order] for gi in g])
    iou = dvc_iou(pred.segments, gt.segments)
    dp: dict[tuple[int, int], float] = {}
    m = iou * scores
    for i, j in itertools.product(range(m.shape[0]), range(m.shape[1])):
        options = [dp.get((i - 1, j), -1.0), dp.get((i, j - 1), -1.0), dp.get((i - 1, j - 1), 0.0) + m[i, j]]
        dp[i, j] = max(options)
    total = dp[m.shape[0] - 1, m.shape[1] - 1]
    prec, rec = total / m.shape[1], total / m.shape[0]
    return 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0


def test_soda_uses_reference_column_order_with_more_than_ten_predictions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _CountingScorer(_word_overlap)
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", fake.get)
    gt = GroundTruthVideo(
        key="v",
        segments=np.array([[0.0, 10.0], [10.0, 20.0], [20.0, 40.0]]),
        captions=["cut the onion.", "fry the onion.", "serve the dish with rice."],
    )
    rng = np.random.default_rng(2)
    starts = np.sort(rng.uniform(0, 35, size=12))
    words = [
        "cut onion",
        "fry onion",
        "serve dish",
        "rice",
        "the dish",
        "onion",
        "fry",
        "cut",
        "a",
        "b",
        "serve",
        "c",
    ]
    pred = PredictedVideo(segments=np.stack([starts, starts + 5], axis=1), captions=words)
    got = evaluate_dense_captioning({"v": pred}, [gt])
    assert got["SODA_c_2"] == pytest.approx(_naive_soda(gt, pred) * 100, abs=1e-9)
    assert got["SODA_c_2"] > 0


def test_empty_and_missing_predictions_score_zero(no_meteor: None) -> None:
    gt = [GroundTruthVideo(key="a", segments=np.array([[0.0, 5.0]]), captions=["a dog runs."])]
    got = evaluate_dense_captioning({"a": PredictedVideo()}, gt)
    assert got["CIDER"] == 0.0 and got["F1_Score"] == 0.0 and got["n_preds"] == 0.0
    assert got["Precision_Mean"] == 0.0 and got["Recall_Mean"] == 0.0


def test_one_video_perfect_detection(no_meteor: None) -> None:
    gt = [
        GroundTruthVideo(
            key="a", segments=np.array([[0.0, 5.0], [5.0, 9.0]]), captions=["a dog runs.", "ça va."]
        )
    ]
    pred = {
        "a": PredictedVideo(segments=np.array([[5.0, 0.0], [5.0, 9.0]]), captions=["a dog runs", "ça va"])
    }
    got = evaluate_dense_captioning(pred, gt, split="test")
    assert got["Precision_Mean"] == 100.0 and got["Recall_Mean"] == 100.0 and got["F1_Score"] == 100.0
    assert "SODA_c_3" in got and got["SODA_c_3"] is None
    assert got["CIDER"] > 0.0


@pytest.mark.parametrize(
    ("pred", "gt", "message"),
    [
        ({"v": [{"timestamp": [0, 1]}]}, None, "missing key 'caption'"),
        ({"v": [{"timestamp": [0], "caption": "x"}]}, None, r"must be \[start, end\]"),
        ({"v": [{"timestamp": ["a", 1], "caption": "x"}]}, None, "must be a number"),
        (
            {},
            {
                "annotations": [
                    {"image_id": "v", "duration": 5, "segments": [[0, 1], [1, 2]], "pure_cap": "one caption"}
                ]
            },
            "2 segments but 1",
        ),
        (
            {},
            {"annotations": [{"image_id": "v", "duration": 5, "segments": [[0, 1]]}]},
            "missing key 'caption'",
        ),
        ([{"vname": "v"}], None, "missing key 'generated_cap'"),
    ],
)
def test_malformed_inputs_raise_format_error(
    tmp_path: Path, pred: object, gt: dict | None, message: str
) -> None:
    gt = gt or {
        "annotations": [{"image_id": "v", "duration": 5, "segments": [[0, 1]], "pure_cap": "a caption"}]
    }
    pred_path, gt_path = tmp_path / "pred.json", tmp_path / "val.json"
    pred_path.write_text(json.dumps(pred))
    gt_path.write_text(json.dumps(gt))
    with pytest.raises(FormatError, match=message):
        evaluate_files(pred_path, gt_path)


def test_raw_answers_are_parsed(tmp_path: Path, no_meteor: None) -> None:
    answers = [{"vname": "v.mp4", "generated_cap": "0 - 10 seconds, cut the onion. 10 - 20 seconds, fry it."}]
    gt = {
        "annotations": [
            {
                "image_id": "x/v.mp4",
                "duration": 20,
                "segments": [[0, 10], [10, 20]],
                "pure_cap": "cut the onion. fry it",
            }
        ]
    }
    (tmp_path / "pred.json").write_text(json.dumps(answers))
    (tmp_path / "val.json").write_text(json.dumps(gt))
    for parser in ("default", "timechat"):
        got = evaluate_files(tmp_path / "pred.json", tmp_path / "val.json", parser=parser)
        assert got["F1_Score"] == 100.0 and got["n_preds"] == 2.0
