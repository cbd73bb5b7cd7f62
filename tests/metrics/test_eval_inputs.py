"""Evaluation inputs: impossible spans, duplicates and durations are refused (or counted with
lenient), ``subset`` scores the shared ids as TimeChat's scripts do, and input sizes are bounded."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

from chronolens.errors import FormatError
from chronolens.metrics import dense_captioning, grounding, io, qvhighlights
from chronolens.metrics.captioning import evaluate as captioning
from chronolens.metrics.io import InputChecks, require_span

meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- the validator


@pytest.mark.parametrize(
    ("value", "duration", "message"),
    [
        ([-27, -67], None, "ends before it starts"),
        ([-27, -6], None, "before the start of the video"),
        ([62, 22], None, "ends before it starts"),
        ([1e308, 1e308], 150.0, "ends after the video's duration 150"),
        ([True, True], None, r"must be a number, got True"),
        ([0, float("nan")], None, "must be finite"),
        ([0, float("inf")], None, "must be finite"),
        (["0", 1], None, "must be a number"),
        ([1], None, r"must be \[start, end\]"),
        ("0-1", None, "must be a list"),
    ],
)
def test_require_span_refuses_impossible_spans(value: Any, duration: float | None, message: str) -> None:
    with pytest.raises(FormatError, match=rf"^f\.json: record line 3: w.*{message}"):
        require_span(value, file="f.json", where="line 3", what="w", duration=duration)


def test_require_span_tolerance_and_lenient_counts() -> None:
    tol = io.SPAN_TOLERANCE
    assert require_span([-tol, 10 + tol], file="f", where="w", what="x", duration=10.0) == (-tol, 10 + tol)
    checks = InputChecks(lenient=True)
    assert require_span([62, 22], file="f", where="w", what="x", checks=checks) == (62.0, 22.0)
    require_span([-30, -20], file="f", where="w", what="x", checks=checks)
    require_span([0, 99], file="f", where="w", what="x", duration=10.0, checks=checks)
    assert checks.let_through == {"reversed_span": 1, "negative_span": 1, "span_past_duration": 1}
    with pytest.raises(FormatError, match="must be a number"):  # never let through
        require_span([True, 1], file="f", where="w", what="x", checks=checks)


# ------------------------------------------------------------------------------------ QVHighlights


def _qvh_gt(qid: int, windows: Any, **extra: Any) -> dict[str, Any]:
    return {"qid": qid, "duration": 150, "relevant_windows": windows, **extra}


def _qvh_pred(qid: int, windows: Any) -> dict[str, Any]:
    return {"qid": qid, "pred_relevant_windows": windows}


@pytest.mark.parametrize(
    "bad_window",
    [[-27, -67], [62, 22], [1e308, 1e308], [True, True]],
    ids=["negative-reversed", "reversed", "huge", "bools"],
)
def test_qvhighlights_bad_gt_windows_are_one_line_errors(tmp_path: Path, bad_window: list[Any]) -> None:
    # The reproduction: these four windows changed MR-full-R1@0.5 from 43.18 to 40.91.
    gt = _jsonl(tmp_path / "gt.jsonl", [_qvh_gt(1, [[0, 10]]), _qvh_gt(2, [[20, 30], bad_window])])
    pred = _jsonl(tmp_path / "pred.jsonl", [_qvh_pred(1, [[0, 10, 1.0]]), _qvh_pred(2, [[20, 30, 1.0]])])
    with pytest.raises(FormatError, match=r"gt\.jsonl: record line 2: relevant_windows\[1\]") as info:
        qvhighlights.evaluate_files(pred, gt)
    assert "\n" not in str(info.value)


def test_qvhighlights_bools_mixed_with_numbers_in_predictions(tmp_path: Path) -> None:
    gt = _jsonl(tmp_path / "gt.jsonl", [_qvh_gt(1, [[0, 10]])])
    pred = _jsonl(tmp_path / "pred.jsonl", [_qvh_pred(1, [[0, 10, 1.0], [True, True, 0.5]])])
    with pytest.raises(FormatError, match=r"pred_relevant_windows\[1\]\[0\] must be a number, got True"):
        qvhighlights.evaluate_files(pred, gt, checks=InputChecks(lenient=True))


@pytest.mark.parametrize(
    ("gt_record", "message"),
    [
        ({"qid": 1, "relevant_windows": [[0, 10]]}, "missing key 'duration'"),
        ({"qid": 1, "duration": "150", "relevant_windows": [[0, 10]]}, "duration must be a number"),
        ({"qid": 1, "duration": True, "relevant_windows": [[0, 10]]}, "duration must be a number"),
        ({"qid": 1, "duration": 1e308, "relevant_windows": [[0, 10]]}, "duration must be between"),
    ],
)
def test_qvhighlights_gt_duration(tmp_path: Path, gt_record: dict[str, Any], message: str) -> None:
    gt = _jsonl(tmp_path / "gt.jsonl", [gt_record])
    pred = _jsonl(tmp_path / "pred.jsonl", [_qvh_pred(1, [[0, 10, 1.0]])])
    with pytest.raises(FormatError, match=rf"gt\.jsonl: record line 1: .*{message}"):
        qvhighlights.evaluate_files(pred, gt)


def test_qvhighlights_lenient_reproduces_the_reference_and_counts(tmp_path: Path) -> None:
    gt = _jsonl(tmp_path / "gt.jsonl", [_qvh_gt(1, [[10, 20]]), {"qid": 2, "relevant_windows": [[0, 4]]}])
    pred = _jsonl(tmp_path / "pred.jsonl", [_qvh_pred(1, [[20, 10, 1.0]]), _qvh_pred(2, [[0, 4, 1.0]])])
    checks = InputChecks(lenient=True)
    result = qvhighlights.evaluate_files(pred, gt, checks=checks)
    assert checks.let_through == {"reversed_span": 1, "missing_duration": 1}
    # The reversed window cancels the GT length: NaN IoU, a match for mAP in moment_detr.
    assert result["brief"]["MR-full-mAP"] == pytest.approx(100.0)


def test_qvhighlights_subset_scores_the_shared_qids(tmp_path: Path) -> None:
    gt_records = [_qvh_gt(q, [[0, 10]]) for q in (1, 2, 3)]
    gt = _jsonl(tmp_path / "gt.jsonl", gt_records)
    pred = _jsonl(tmp_path / "pred.jsonl", [_qvh_pred(1, [[0, 10, 1.0]]), _qvh_pred(9, [[0, 1, 1.0]])])
    with pytest.raises(FormatError, match=r"2 GT qids without a prediction.*--subset"):
        qvhighlights.evaluate_files(pred, gt)
    checks = InputChecks(subset=True)
    result = qvhighlights.evaluate_files(pred, gt, checks=checks)
    assert checks.left_out == {"gt_without_prediction": 2, "prediction_without_gt": 1}
    only = qvhighlights.evaluate_files(
        _jsonl(tmp_path / "p1.jsonl", [_qvh_pred(1, [[0, 10, 1.0]])]),
        _jsonl(tmp_path / "g1.jsonl", gt_records[:1]),
    )
    assert result == only
    with pytest.raises(FormatError, match="no qid in common"):
        qvhighlights.evaluate_files(
            _jsonl(tmp_path / "p9.jsonl", [_qvh_pred(9, [[0, 1, 1.0]])]), gt, checks=InputChecks(subset=True)
        )


# ------------------------------------------------------------------------------------ Charades-STA


def _tvg_gt(*stamps: Any, ids: tuple[int, ...] | None = None) -> dict[str, Any]:
    ids = ids or tuple(range(len(stamps)))
    return {
        "annotations": [
            {"image_id": "v.mp4", "timestamp": s, "id": i} for s, i in zip(stamps, ids, strict=True)
        ]
    }


def _answers(*ids: int) -> list[dict[str, Any]]:
    return [{"vname": "v.mp4", "generated_cap": "It happens in 0 - 5 seconds.", "id": i} for i in ids]


@pytest.mark.parametrize("stamp", [[-5, -1], [8, 3], [0, 1e400], [True, 5]])
def test_charades_bad_gt_timestamps(tmp_path: Path, stamp: list[Any]) -> None:
    gt = _json(tmp_path / "gt.json", _tvg_gt([0, 5], stamp))
    pred = _json(tmp_path / "pred.json", _answers(0, 1))
    with pytest.raises(FormatError, match=r"gt\.json: record annotations\[1\]: timestamp"):
        grounding.evaluate_files(pred, gt)


def test_charades_duplicate_gt_and_duration(tmp_path: Path) -> None:
    gt = _json(tmp_path / "gt.json", _tvg_gt([0, 5], [0, 6], ids=(4, 4)))
    pred = _json(tmp_path / "pred.json", _answers(4))
    with pytest.raises(FormatError, match=r"annotations\[1\]: duplicate id 4 \(first at annotations\[0\]\)"):
        grounding.evaluate_files(pred, gt)
    checks = InputChecks(lenient=True)
    assert grounding.evaluate_files(pred, gt, checks=checks)["n"] == 1  # the last one wins, as eval_tvg
    assert checks.let_through == {"duplicate_record": 1}
    data = _tvg_gt([0, 5])
    data["annotations"][0]["duration"] = "long"
    with pytest.raises(FormatError, match="duration must be a number"):
        grounding.evaluate_files(pred, _json(tmp_path / "g2.json", data))
    data["annotations"][0]["duration"] = 2.0
    with pytest.raises(FormatError, match="ends after the video's duration 2"):
        grounding.evaluate_files(pred, _json(tmp_path / "g3.json", data))


def test_charades_formatted_predictions_are_checked(tmp_path: Path) -> None:
    gt = _json(tmp_path / "gt.json", _tvg_gt([0, 5]))
    pred = _json(tmp_path / "pred.json", {"0": {"timestamp": [[5, -1]]}})
    with pytest.raises(FormatError, match=r"pred\.json: record key 0: timestamp = \[5, -1\] ends before"):
        grounding.evaluate_files(pred, gt)


def test_charades_subset_is_eval_tvg_sample(tmp_path: Path) -> None:
    gt = _json(tmp_path / "gt.json", _tvg_gt([0, 5], [0, 10], [3, 9]))
    pred = _json(tmp_path / "pred.json", _answers(0, 2, 7))
    with pytest.raises(FormatError, match=r"no answer for ground-truth id.*--subset"):
        grounding.evaluate_files(pred, gt)
    checks = InputChecks(subset=True)
    got = grounding.evaluate_files(pred, gt, checks=checks)
    assert checks.left_out == {"gt_without_prediction": 1, "prediction_without_gt": 1}
    # ids 0 ([0, 5], IoU 1) and 2 ([3, 9], IoU 2/9): the two shared ids only
    assert got["n"] == 2 and got["R1@0.7"] == 50.0 and got["R1@0.3"] == 50.0


# ------------------------------------------------------------------------------ dense captioning


def _dvc_gt(*segments: Any, duration: Any = 60.0, key: str = "v.mp4") -> dict[str, Any]:
    caps = ". ".join(f"caption number {i}" for i in range(len(segments)))
    return {"image_id": key, "duration": duration, "segments": list(segments), "pure_cap": caps}


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ([-10, -2], "before the start"),
        ([30, 10], "ends before it starts"),
        ([0, 1e300], "ends after the video's duration 60"),
    ],
)
def test_dvc_bad_segments_on_either_side(
    tmp_path: Path, segment: list[float], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    good = {"v.mp4": [{"timestamp": [0, 10], "caption": "caption number 0"}]}
    gt = _json(tmp_path / "val.json", {"annotations": [_dvc_gt([0, 10], segment)]})
    with pytest.raises(FormatError, match=rf"val\.json: record annotations\[0\]: segments\[1\].*{message}"):
        dense_captioning.evaluate_files(_json(tmp_path / "p.json", good), gt)
    gt_ok = _json(tmp_path / "val2.json", {"annotations": [_dvc_gt([0, 10])]})
    bad = {"v.mp4": [{"timestamp": segment, "caption": "x"}]}
    with pytest.raises(FormatError, match=rf"p2\.json: record key v\.mp4 event 0: timestamp.*{message}"):
        dense_captioning.evaluate_files(_json(tmp_path / "p2.json", bad), gt_ok)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"image_id": "v.mp4", "segments": [[0, 1]], "pure_cap": "a b"}, "missing key 'duration'"),
        (
            {"image_id": "v.mp4", "duration": "60", "segments": [[0, 1]], "pure_cap": "a b"},
            "must be a number",
        ),
        ({"image_id": "v.mp4", "duration": -1, "segments": [[0, 1]], "pure_cap": "a b"}, "between 0 and"),
    ],
)
def test_dvc_duration(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    gt = _json(tmp_path / "val.json", {"annotations": [record]})
    with pytest.raises(FormatError, match=rf"record annotations\[0\]: .*{message}"):
        dense_captioning.evaluate_files(_json(tmp_path / "p.json", {}), gt)


def test_dvc_duplicate_video_and_lenient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    gt = _json(tmp_path / "val.json", {"annotations": [_dvc_gt([0, 10]), _dvc_gt([0, 20], key="a/v.mp4")]})
    pred = _json(tmp_path / "p.json", {"v.mp4": [{"timestamp": [10, 0], "caption": "caption number 0"}]})
    with pytest.raises(FormatError, match=r"annotations\[1\]: duplicate video 'v\.mp4'"):
        dense_captioning.evaluate_files(pred, gt)
    checks = InputChecks(lenient=True)
    got = dense_captioning.evaluate_files(pred, gt, checks=checks)
    assert checks.let_through == {"duplicate_record": 1, "reversed_span": 1}
    assert got["n_videos"] == 2  # eval_dvc.py scores a repeated video twice


def test_dvc_subset_scores_videos_with_predictions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    gt = _json(
        tmp_path / "val.json", {"annotations": [_dvc_gt([0, 10], key="a.mp4"), _dvc_gt([0, 10], key="b.mp4")]}
    )
    pred = _json(
        tmp_path / "p.json",
        {"a.mp4": [{"timestamp": [0, 10], "caption": "caption number 0"}], "z.mp4": []},
    )
    full = dense_captioning.evaluate_files(pred, gt)
    checks = InputChecks(subset=True)
    sub = dense_captioning.evaluate_files(pred, gt, checks=checks)
    assert checks.left_out == {"gt_without_prediction": 1, "prediction_without_gt": 1}
    assert full["n_videos"] == 2 and full["F1_Score"] == 50.0
    assert sub["n_videos"] == 1 and sub["F1_Score"] == 100.0


class _OverlapScorer:
    """A METEOR stand-in: word overlap, 0 for an empty side (as the jar scores an empty caption)."""

    calls = 0

    def score(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
        self.calls += 1
        per_id = []
        for key, refs in gts.items():
            hyp, ref = set(res[key][0].split()), set(refs[0].split())
            per_id.append(len(hyp & ref) / len(hyp | ref) if hyp and ref else 0.0)
        return sum(per_id) / len(per_id), per_id


def test_dvc_accepts_an_empty_caption_like_eval_dvc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # TimeChat's example has empty predicted captions; eval_dvc.py scores them (METEOR 0 for that
    # pair, SODA with the empty caption as METEOR's reference) instead of stopping.
    scorer = _OverlapScorer()
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", lambda: scorer)
    gt = _json(tmp_path / "val.json", {"annotations": [_dvc_gt([0, 10], [10, 20])]})
    events = [{"timestamp": [0, 10], "caption": ""}, {"timestamp": [10, 20], "caption": "caption number 1"}]
    got = dense_captioning.evaluate_files(_json(tmp_path / "p.json", {"v.mp4": events}), gt)
    assert scorer.calls > 0 and got["F1_Score"] == 100.0
    assert 0.0 < got["METEOR"] < 100.0 and 0.0 < got["SODA_c_2"] < 100.0


# --------------------------------------------------------------------------------------- bounds


def test_caption_corpus_word_bound(tmp_path: Path) -> None:
    gts = _json(tmp_path / "gt.json", {"1": ["a b c d"], "2": ["e f g"]})
    res = _json(tmp_path / "res.json", {"1": ["a b"], "2": ["e"]})
    with pytest.raises(FormatError, match=r"more than 9 words .*--max-words"):
        captioning.evaluate_files(res, gts, tokenizer="none", checks=InputChecks(max_words=9))
    assert "Bleu_1" in captioning.evaluate_files(res, gts, tokenizer="none", checks=InputChecks(max_words=10))


def test_dvc_word_bound_before_scoring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", lambda: pytest.fail("scorer started"))
    gt = _json(tmp_path / "val.json", {"annotations": [_dvc_gt([0, 10])]})
    pred = _json(tmp_path / "p.json", {"v.mp4": [{"timestamp": [0, 10], "caption": "w " * 50}]})
    with pytest.raises(FormatError, match="more than 20 words"):
        dense_captioning.evaluate_files(pred, gt, checks=InputChecks(max_words=20))


def test_file_size_bound_and_non_regular_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _json(tmp_path / "big.json", {"annotations": ["x" * 100]})
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 50)
    with pytest.raises(FormatError, match=r"big\.json: .* over the .* bound"):
        io.load_json(path)
    monkeypatch.undo()
    with pytest.raises(FormatError, match=r"is a directory|not a regular file"):
        io.load_json(tmp_path)
