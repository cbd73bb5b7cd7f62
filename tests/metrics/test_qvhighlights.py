"""QVHighlights MR/HL metrics: golden parity with moment_detr, naive re-computation, edge cases."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from chronolens.errors import FormatError
from chronolens.metrics.average_precision import highlight_average_precision
from chronolens.metrics.io import InputChecks
from chronolens.metrics.qvhighlights import (
    MR_IOU_THRESHOLDS,
    evaluate_files,
    evaluate_qvhighlights,
    round_metrics,
)

FIXTURES = Path(__file__).parent / "fixtures"
# The golden fixture holds reversed, negative and past-the-video windows, which moment_detr scores
# as written: it is read leniently (the values stay the reference's).
LENIENT = InputChecks(lenient=True)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out.update(_flatten(sub, f"{prefix}/{key}"))
        return out
    return {prefix: value}


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ golden


def test_matches_reference_unrounded_values_and_key_order() -> None:
    expected = json.loads((FIXTURES / "qvhighlights_expected_raw.json").read_text())
    got = evaluate_files(
        FIXTURES / "qvhighlights_pred.jsonl", FIXTURES / "qvhighlights_gt.jsonl", checks=LENIENT
    )
    flat_expected, flat_got = _flatten(expected), _flatten(got)
    assert list(flat_got) == list(flat_expected)  # same keys, same order
    for key, value in flat_expected.items():
        assert flat_got[key] == pytest.approx(value, abs=1e-9), key


def test_round_2_reproduces_the_reference_output_exactly() -> None:
    expected = json.loads((FIXTURES / "qvhighlights_expected_rounded.json").read_text())
    got = evaluate_files(
        FIXTURES / "qvhighlights_pred.jsonl", FIXTURES / "qvhighlights_gt.jsonl", checks=LENIENT
    )
    assert json.dumps(round_metrics(got, 2)) == json.dumps(expected)


# ------------------------------------------------------------------------------- hand-derived cases


def _gt(qid: Any, windows: list[list[float]], duration: float = 150) -> dict[str, Any]:
    return {
        "qid": qid,
        "duration": duration,
        "relevant_windows": windows,
        "relevant_clip_ids": [0],
        "saliency_scores": [[4, 4, 4]],
    }


def test_tie_at_iou_threshold_hand_computed() -> None:
    # Prediction 1 has IoU exactly 0.5 with both GT windows; the reference visits ties from the
    # last index, so it takes [2, 4] and prediction 2 ([0, 2]) is then a true positive.
    gt = [_gt(1, [[0, 2], [2, 4]])]
    sub = [{"qid": 1, "pred_relevant_windows": [[0, 4, 0.9], [0, 2, 0.8]]}]
    result = evaluate_qvhighlights(sub, gt)
    mr_map = result["full"]["MR-mAP"]
    assert mr_map["0.5"] == pytest.approx(100.0)
    # Above 0.5: first prediction misses, second hits -> precision 1/2 at recall 1/2 -> AP 0.25.
    assert mr_map["0.55"] == pytest.approx(25.0)
    assert mr_map["average"] == pytest.approx((100 + 9 * 25) / 10)
    r1 = result["full"]["MR-R1"]
    assert r1["0.5"] == 100.0  # hull IoU of [0,4] with [0,2] is exactly 0.5
    assert r1["0.55"] == 0.0
    assert result["short"] is not None and result["middle"] is None and result["long"] is None
    assert result["brief"]["MR-middle-mAP"] is None
    assert list(result) == ["brief", "full", "long", "middle", "short"]


def test_r1_uses_first_window_in_file_order_not_highest_score() -> None:
    gt = [_gt("a", [[10, 20]])]
    sub = [{"qid": "a", "pred_relevant_windows": [[50, 60, 0.1], [10, 20, 0.9]]}]
    result = evaluate_qvhighlights(sub, gt)
    assert result["brief"]["MR-full-R1@0.5"] == 0.0
    assert result["brief"]["MR-full-mAP"] == pytest.approx(100.0)  # mAP sorts by score


def test_only_first_ten_predictions_count_for_map() -> None:
    gt = [_gt("a", [[100, 120]])]
    sub = [{"qid": "a", "pred_relevant_windows": [[0, 2, 0.5]] * 10 + [[100, 120, 0.99]]}]
    assert evaluate_qvhighlights(sub, gt)["brief"]["MR-full-mAP"] == 0.0


def test_empty_predictions_score_zero_and_empty_bucket_is_null() -> None:
    gt = [_gt(1, [[0, 8]]), _gt(2, [[0, 8]])]
    sub = [{"qid": 1, "pred_relevant_windows": [[0, 8, 1.0]]}, {"qid": 2, "pred_relevant_windows": []}]
    result = evaluate_qvhighlights(sub, gt)
    assert result["brief"]["MR-full-mAP"] == pytest.approx(50.0)
    assert result["brief"]["MR-full-R1@0.7"] == pytest.approx(50.0)
    assert result["middle"] is None and result["long"] is None
    assert "HL-min-Fair" not in result


def test_zero_length_windows_follow_the_reference_nan_quirk() -> None:
    # Two zero-length windows: IoU 0/0 is NaN, which the reference's `iou < thr` test lets through.
    gt = [_gt(1, [[10, 10]])]
    sub = [{"qid": 1, "pred_relevant_windows": [[30, 30, 1.0]]}]
    result = evaluate_qvhighlights(sub, gt)
    assert result["full"]["MR-mAP"]["average"] == pytest.approx(100.0)
    assert result["full"]["MR-R1"]["0.5"] == 0.0  # the hull IoU used by R1 is 0, not NaN


def test_reversed_predictions() -> None:
    gt = [_gt(1, [[10, 20]])]
    reversed_longer = [{"qid": 1, "pred_relevant_windows": [[30, 15, 1.0]]}]
    result = evaluate_qvhighlights(reversed_longer, gt, checks=InputChecks(lenient=True))
    assert result["brief"]["MR-full-mAP"] == 0.0 and result["brief"]["MR-full-R1@0.5"] == 0.0
    # A reversed window whose negative length cancels the GT length makes the true union 0:
    # NaN IoU, a "match" for mAP in the reference (checked against it), never for R1.
    cancelling = [{"qid": 1, "pred_relevant_windows": [[20, 10, 1.0]]}]
    result = evaluate_qvhighlights(cancelling, gt, checks=InputChecks(lenient=True))
    assert result["brief"]["MR-full-mAP"] == pytest.approx(100.0) and result["brief"]["MR-full-R1@0.5"] == 0.0


def test_highlight_hand_computed_one_query() -> None:
    gt = [
        {
            "qid": 7,
            "duration": 8,  # 4 clips
            "relevant_windows": [[0, 4]],
            "relevant_clip_ids": [1, 2],
            "saliency_scores": [[4, 2, 0], [3, 1, 4]],
        }
    ]
    sub = [{"qid": 7, "pred_saliency_scores": [0.1, 0.9, 0.5, 0.2, 99.0]}]  # 5th clip is outside
    result = evaluate_qvhighlights(sub, gt)
    assert "full" not in result
    # argmax is clip 4 (outside the 4-clip video) -> Hit1 = 0 at every level.
    assert result["HL-min-Fair"]["HL-Hit1"] == 0.0
    # Fair (>=2): annotator A positives {1,2} ranked 1st,2nd -> AP 1; B {1} -> 1; C {2} -> 1/2.
    assert result["HL-min-Fair"]["HL-mAP"] == pytest.approx(100 * (1 + 1 + 0.5) / 3)
    # VeryGood (>=4): A {1} -> 1; B none -> 0; C {2} -> 1/2.
    assert result["HL-min-VeryGood"]["HL-mAP"] == pytest.approx(100 * (1 + 0 + 0.5) / 3)
    assert list(result["brief"]) == [
        "HL-min-Fair-mAP",
        "HL-min-Fair-Hit1",
        "HL-min-Good-mAP",
        "HL-min-Good-Hit1",
        "HL-min-VeryGood-mAP",
        "HL-min-VeryGood-Hit1",
    ]


def test_highlight_ap_tied_scores_form_one_threshold() -> None:
    labels = np.array([[1, 0, 1, 0]])
    # All tied: one threshold with precision 2/4 at recall 1.
    assert highlight_average_precision(labels, np.zeros((1, 4)))[0] == pytest.approx(0.5)
    # All positive -> 1; none -> 0 (reference special cases).
    assert highlight_average_precision(np.ones((1, 3)), np.array([[0.1, 0.2, 0.3]]))[0] == 1.0
    assert highlight_average_precision(np.zeros((1, 3)), np.array([[0.1, 0.2, 0.3]]))[0] == 0.0


# ----------------------------------------------------------------------------- naive re-computation


def _naive_iou(a: list[float], b: list[float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union


def _naive_ap(preds: list[list[float]], gts: list[list[float]], thr: float) -> float:
    preds = sorted(preds[:10], key=lambda p: -p[2])
    used: set[int] = set()
    hits = []
    for p in preds:
        options = [(_naive_iou(p, g), -j, j) for j, g in enumerate(gts) if j not in used]
        options = [o for o in options if o[0] >= thr]
        if options:
            used.add(max(options)[2])
        hits.append(bool(options))
    # Interpolated AP: sum over recall steps of the best precision at that recall or beyond.
    precisions = [sum(hits[: i + 1]) / (i + 1) for i in range(len(hits))]
    ap = 0.0
    for i, hit in enumerate(hits):
        if hit:
            ap += max(precisions[i:]) / len(gts)
    return ap


def _naive_hl_ap(labels: list[float], scores: list[float]) -> float:
    if not any(labels):
        return 0.0
    if all(labels):
        return 1.0
    levels = sorted(set(scores), reverse=True)
    points = []  # (recall, precision) per distinct threshold
    for level in levels:
        chosen = [y for y, s in zip(labels, scores, strict=True) if s >= level]
        points.append((sum(chosen) / sum(labels), sum(chosen) / len(chosen)))
    recalls = sorted({r for r, _ in points if r > 0})
    return float(np.mean([max(p for r2, p in points if r2 >= r) for r in recalls]))


def test_against_naive_recomputation_on_random_clean_data() -> None:
    rng = random.Random(5)
    gts, subs = [], []
    for q in range(60):
        windows = []
        for k in range(rng.randint(1, 3)):  # disjoint, so tie-breaking cannot matter
            start = 40 * k + 2 * rng.randint(0, 5)
            windows.append([start, start + 2 * rng.randint(1, 15)])
        n_clips = 75
        ids = sorted(rng.sample(range(n_clips), rng.randint(1, 10)))
        gts.append(
            {
                "qid": q,
                "duration": 150,
                "relevant_windows": windows,
                "relevant_clip_ids": ids,
                "saliency_scores": [[rng.randint(0, 4) for _ in range(3)] for _ in ids],
            }
        )
        preds = []
        for _ in range(rng.randint(1, 12)):
            s = rng.uniform(0, 140)
            preds.append([s, s + rng.uniform(1, 40), round(rng.random(), 1)])
        subs.append(
            {
                "qid": q,
                "pred_relevant_windows": preds,
                "pred_saliency_scores": [round(rng.random(), 1) for _ in range(n_clips)],
            }
        )
    result = evaluate_qvhighlights(subs, gts)
    for thr in MR_IOU_THRESHOLDS:
        naive = np.mean(
            [
                _naive_ap(s["pred_relevant_windows"], g["relevant_windows"], thr)
                for s, g in zip(subs, gts, strict=True)
            ]
        )
        assert result["full"]["MR-mAP"][str(thr)] == pytest.approx(100 * naive, abs=1e-9)
    naive_r1 = []
    for s, g in zip(subs, gts, strict=True):
        first = s["pred_relevant_windows"][0]
        naive_r1.append(max(_naive_iou(first, w) for w in g["relevant_windows"]))
    assert result["full"]["MR-R1"]["0.7"] == pytest.approx(100 * np.mean(np.array(naive_r1) >= 0.7))
    for name, min_score in (("Fair", 2), ("Good", 3), ("VeryGood", 4)):
        aps, hits = [], []
        for s, g in zip(subs, gts, strict=True):
            full = np.zeros((75, 3))
            full[g["relevant_clip_ids"]] = g["saliency_scores"]
            scores = s["pred_saliency_scores"]
            top = int(np.argmax(scores))
            hits.append(max(float(full[top, a] >= min_score) for a in range(3)))
            aps += [_naive_hl_ap([float(v >= min_score) for v in full[:, a]], scores) for a in range(3)]
        assert result[f"HL-min-{name}"]["HL-mAP"] == pytest.approx(100 * np.mean(aps), abs=1e-9)
        assert result[f"HL-min-{name}"]["HL-Hit1"] == pytest.approx(100 * np.mean(hits))


# ----------------------------------------------------------------------------------------- errors


def test_qid_mismatch_is_a_format_error(tmp_path: Path) -> None:
    gt = _write_jsonl(tmp_path / "gt.jsonl", [_gt(1, [[0, 2]]), _gt(2, [[0, 2]])])
    pred = _write_jsonl(tmp_path / "pred.jsonl", [{"qid": 1, "pred_relevant_windows": [[0, 2, 1]]}])
    with pytest.raises(FormatError, match=r"pred\.jsonl: qids do not match .*gt\.jsonl: 1 GT qids"):
        evaluate_files(pred, gt)


def test_non_numeric_window_names_file_line_and_field(tmp_path: Path) -> None:
    gt = _write_jsonl(tmp_path / "gt.jsonl", [_gt(1, [[0, 2]]), _gt(2, [[0, 2]])])
    pred = _write_jsonl(
        tmp_path / "pred.jsonl",
        [
            {"qid": 1, "pred_relevant_windows": [[0, 2, 1]]},
            {"qid": 2, "pred_relevant_windows": [[0, "x", 1]]},
        ],
    )
    with pytest.raises(
        FormatError, match=r"pred\.jsonl: record line 2: pred_relevant_windows\[0\]\[1\] must be a number"
    ):
        evaluate_files(pred, gt)


def test_missing_key_and_duplicates_and_mixed_parts() -> None:
    with pytest.raises(FormatError, match=r"ground truth: record index 0: missing key 'relevant_windows'"):
        evaluate_qvhighlights([{"qid": 1, "pred_relevant_windows": [[0, 1, 1]]}], [{"qid": 1}])
    with pytest.raises(FormatError, match="duplicate qid 1"):
        evaluate_qvhighlights([{"qid": 1, "pred_relevant_windows": []}] * 2, [_gt(1, [[0, 2]])])
    with pytest.raises(FormatError, match="missing key 'pred_saliency_scores'"):
        evaluate_qvhighlights(
            [
                {"qid": 1, "pred_relevant_windows": [], "pred_saliency_scores": [1.0]},
                {"qid": 2, "pred_relevant_windows": []},
            ],
            [_gt(1, [[0, 2]]), _gt(2, [[0, 2]])],
        )
    with pytest.raises(FormatError, match="not a clip index"):
        evaluate_qvhighlights(
            [{"qid": 1, "pred_saliency_scores": [1.0]}],
            [{"qid": 1, "duration": 4, "relevant_clip_ids": [2], "saliency_scores": [[1, 1, 1]]}],
        )


def test_match_number_false_evaluates_the_shared_qids() -> None:
    gt = [_gt(1, [[0, 8]]), _gt(2, [[0, 8]])]
    sub = [{"qid": 1, "pred_relevant_windows": [[0, 8, 1.0]]}]
    result = evaluate_qvhighlights(sub, gt, match_number=False)
    assert result["brief"]["MR-full-mAP"] == pytest.approx(100.0)
