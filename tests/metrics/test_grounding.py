"""Tests for chronolens.metrics.grounding (TimeChat eval_tvg parity)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import FormatError
from chronolens.metrics.grounding import (
    evaluate_answers,
    evaluate_files,
    evaluate_grounding,
    evaluate_top_windows,
)
from chronolens.metrics.io import InputChecks
from chronolens.metrics.temporal import recall_at_k, temporal_iou
from chronolens.timebase import Span
from chronolens.timebase.text import parse_span

FIXTURES = Path(__file__).parent / "fixtures"
ANSWERS = FIXTURES / "tvg_answers.json"
GT = FIXTURES / "tvg_gt.json"


def _naive_iou(gt: list[float], pred: list[float]) -> float:
    """eval_tvg's hull IoU written out directly."""
    hull = max(gt[1], pred[1]) - min(gt[0], pred[0])
    return max(min(gt[1], pred[1]) - max(gt[0], pred[0]), 0) / hull if hull else 0.0


def _naive(answers: list[dict], gt: dict, parser: str) -> dict[str, float]:
    windows = {a["id"]: a["timestamp"] for a in gt["annotations"]}
    spans = {a["id"]: parse_span(a["generated_cap"], parser=parser) for a in answers}
    ious = [
        0.0 if spans[k] is None else _naive_iou(w, [spans[k].start, spans[k].end]) for k, w in windows.items()
    ]
    out = {f"R1@{t}": sum(i >= t for i in ious) * 100 / len(ious) for t in (0.3, 0.5, 0.7)}
    out["mIoU"] = sum(ious) * 100 / len(ious)
    return out


def test_timechat_parser_matches_reference_golden_values() -> None:
    expected = json.loads((FIXTURES / "tvg_expected_timechat.json").read_text())
    got = evaluate_files(ANSWERS, GT, parser="timechat", checks=InputChecks(lenient=True))
    for key in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU"):
        assert got[key] == pytest.approx(expected[key], abs=1e-9)
    assert got["parse_failures"] == expected["parse_failures"] == 7
    assert got["n"] == 14


@pytest.mark.parametrize("parser", ["default", "timechat"])
def test_matches_naive_recomputation(parser: str) -> None:
    answers = json.loads(ANSWERS.read_text(encoding="utf-8"))
    gt = json.loads(GT.read_text(encoding="utf-8"))
    got = evaluate_answers(answers, gt, parser=parser, checks=InputChecks(lenient=True))
    for key, value in _naive(answers, gt, parser).items():
        assert got[key] == pytest.approx(value, abs=1e-9)


def test_default_parser_beats_timechat_on_fixture() -> None:
    default = evaluate_files(ANSWERS, GT, checks=InputChecks(lenient=True))
    timechat = evaluate_files(ANSWERS, GT, parser="timechat", checks=InputChecks(lenient=True))
    assert default["parse_failures"] == 3 < timechat["parse_failures"]
    assert default["mIoU"] > timechat["mIoU"]


def test_iou_exactly_at_threshold_counts_and_reversed_gt_is_not_reordered() -> None:
    gt = {1: [0.0, 10.0], 2: [0.0, 10.0], 3: [0.0, 10.0], 4: [8.0, 3.0]}
    preds = {1: Span(0.0, 3.0), 2: Span(0.0, 5.0), 3: Span(0.0, 7.0), 4: Span(3.0, 8.0)}
    got = evaluate_grounding(preds, gt)
    assert got["R1@0.3"] == 75.0  # IoU 0.3, 0.5, 0.7 all count at 0.3 (>=); reversed GT scores 0
    assert got["R1@0.5"] == 50.0
    assert got["R1@0.7"] == 25.0
    assert got["mIoU"] == pytest.approx((0.3 + 0.5 + 0.7) / 4 * 100)


def test_unparsed_and_zero_length() -> None:
    got = evaluate_grounding(
        {"a": None, "b": Span(5.0, 5.0), "c": [2.0, 4.0]}, {"a": [0, 1], "b": [5, 5], "c": [2, 4]}
    )
    assert got == {
        "R1@0.3": 100 / 3,
        "R1@0.5": 100 / 3,
        "R1@0.7": 100 / 3,
        "mIoU": 100 / 3,
        "parse_failures": 1,
        "n": 3,
    }
    one = evaluate_grounding({7: Span(1.0, 2.0)}, {7: [1.0, 2.0]})
    assert one["R1@0.7"] == 100.0 and one["mIoU"] == 100.0 and one["n"] == 1


def test_ids_match_after_int_conversion_and_last_duplicate_wins(tmp_path: Path) -> None:
    answers = [
        {"vname": "v", "query": "q", "id": "1", "generated_cap": "0 - 1"},
        {"vname": "v", "query": "q", "id": 1, "generated_cap": "0 - 10"},
    ]
    gt = {"annotations": [{"image_id": "v", "caption": "q", "timestamp": [0, 10], "id": 1}]}
    assert evaluate_answers(answers, gt)["mIoU"] == 100.0


def test_formatted_predictions_file(tmp_path: Path) -> None:
    pred = tmp_path / "fmt.json"
    pred.write_text(json.dumps({"1": {"timestamp": [[0.0, 5.0]]}, "2": {"timestamp": []}}))
    gt = tmp_path / "gt.json"
    gt.write_text(
        json.dumps({"annotations": [{"id": 1, "timestamp": [0, 10]}, {"id": 2, "timestamp": [1, 2]}]})
    )
    got = evaluate_files(pred, gt)
    assert got["R1@0.5"] == 50.0 and got["parse_failures"] == 1


def test_default_parser_clamps_to_annotated_duration() -> None:
    answers = [{"vname": "v", "query": "q", "id": 1, "generated_cap": "from 5 to 40 seconds"}]
    gt = {"annotations": [{"image_id": "v", "timestamp": [5, 10], "id": 1, "duration": 10.0}]}
    assert evaluate_answers(answers, gt)["mIoU"] == 100.0
    assert evaluate_answers(answers, gt, parser="timechat")["parse_failures"] == 1


@pytest.mark.parametrize(
    ("answers", "gt", "message"),
    [
        ([{"id": 1}], {"annotations": [{"id": 1, "timestamp": [0, 1]}]}, "missing key 'generated_cap'"),
        (
            [{"id": 2, "generated_cap": "0 - 1"}],
            {"annotations": [{"id": 1, "timestamp": [0, 1]}]},
            "no answer for",
        ),
        (
            [{"id": 1, "generated_cap": "0 - 1"}, {"id": 3, "generated_cap": "x"}],
            {"annotations": [{"id": 1, "timestamp": [0, 1]}]},
            r"id\(s\) \[3\] not in",
        ),
        (
            [{"id": 1, "generated_cap": "0 - 1"}],
            {"annotations": [{"id": 1, "timestamp": ["a", 1]}]},
            "must be a number",
        ),
        ([{"id": 1, "generated_cap": "0 - 1"}], {"annotations": [{"id": 1}]}, "missing key 'timestamp'"),
    ],
)
def test_malformed_inputs_raise_format_error(tmp_path: Path, answers: list, gt: dict, message: str) -> None:
    pred_path, gt_path = tmp_path / "answers.json", tmp_path / "gt.json"
    pred_path.write_text(json.dumps(answers))
    gt_path.write_text(json.dumps(gt))
    with pytest.raises(FormatError, match=message) as info:
        evaluate_files(pred_path, gt_path)
    assert "\n" not in str(info.value)


def test_unparsed_count_zero_in_miou_vectorised() -> None:
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 20, size=50)
    gt = {i: [float(s), float(s + 5)] for i, s in enumerate(starts)}
    preds = {i: (None if i % 5 == 0 else Span(float(s) + 1, float(s) + 4)) for i, s in enumerate(starts)}
    got = evaluate_grounding(preds, gt)
    assert got["parse_failures"] == 10
    assert got["mIoU"] == pytest.approx(40 * 0.6 / 50 * 100)
    assert got["R1@0.5"] == 80.0 and got["R1@0.7"] == 0.0


def _old_charades_bench_scores(
    predictions: list[list[list[float]]], gts: list[list[float]]
) -> dict[str, float]:
    """The Charades-STA scoring ``evaluation/real.py`` wrote out itself before it called metrics."""
    preds = [np.asarray(p, dtype=np.float64).reshape(-1, 3) for p in predictions]
    gt = [np.asarray([g], dtype=np.float64) for g in gts]
    recall = recall_at_k(preds, gt, k=1, iou_thresholds=(0.3, 0.5, 0.7))
    ious = [
        float(np.nan_to_num(temporal_iou(p[:1], g)).max()) if len(p) else 0.0
        for p, g in zip(preds, gt, strict=True)
    ]
    out = {f"R1@{m}": 100.0 * v for m, v in recall.items()}
    out["mIoU"] = 100.0 * float(np.mean(ious))
    return out


def test_top_windows_hand_computed() -> None:
    predictions = [
        [[0.0, 10.0, 0.9], [20.0, 30.0, 0.1]],  # top window IoU 10/10 = 1
        [[5.0, 15.0, 0.5]],  # vs [0, 10]: 5 / 15
        [],  # no window: a miss, IoU 0
        [[4.0, 4.0, 0.2]],  # zero-length vs zero-length gt: NaN -> 0
    ]
    gts = [[[0.0, 10.0]], [[0.0, 10.0]], [[1.0, 2.0]], [[4.0, 4.0]]]
    got = evaluate_top_windows(predictions, gts)
    assert got == {
        "R1@0.3": 100.0 * 0.5,
        "R1@0.5": 100.0 * 0.25,
        "R1@0.7": 100.0 * 0.25,
        "mIoU": 100.0 * float(np.mean([1.0, 5 / 15, 0.0, 0.0])),
    }
    # The best-matching of several ground-truth windows counts; only the top prediction does.
    two = evaluate_top_windows([[[0.0, 2.0], [10.0, 12.0]]], [[[10.0, 12.0], [0.0, 4.0]]])
    assert two["mIoU"] == pytest.approx(50.0) and two["R1@0.3"] == 100.0 and two["R1@0.7"] == 0.0


def test_top_windows_byte_identical_to_the_old_charades_bench() -> None:
    rng = np.random.default_rng(15)
    predictions, gts = [], []
    for q in range(301):
        starts = rng.uniform(0, 30, size=q % 5)
        windows = [[float(s), float(s + rng.uniform(0, 10)), float(rng.random())] for s in starts]
        predictions.append(windows)
        start = float(rng.uniform(0, 30))
        gts.append([start, start + float(rng.choice([0.0, rng.uniform(0.5, 8)]))])
    new = evaluate_top_windows(predictions, [[g] for g in gts])
    assert json.dumps(new) == json.dumps(_old_charades_bench_scores(predictions, gts))
    with pytest.raises(ValueError, match="empty"):
        evaluate_top_windows([], [])
