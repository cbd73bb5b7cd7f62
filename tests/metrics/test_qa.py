"""QA exact match and VQA accuracy with the official answer normalisation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.errors import FormatError
from chronolens.metrics.qa import (
    evaluate_files,
    evaluate_qa,
    normalize_answer,
    vqa_accuracy,
    vqa_accuracy_official,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Two dogs.", "2 dogs"),
        ("dont know", "don't know"),
        ("yes!", "yes"),
        ("red, white", "red white"),  # ", " touches a space -> deleted
        ("1,000", "1000"),  # digit-comma-digit -> deleted
        ("3.5", "3.5"),  # period before a digit is kept
        ("left-hand", "left hand"),  # no adjacent space -> replaced by a space
        ("  Café\tau lait\n", "café au lait"),  # unicode survives, whitespace cleaned
    ],
)
def test_normalization(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_vqa_accuracy_values_against_naive_formulas() -> None:
    humans = ["two"] * 3 + ["2"] * 1 + ["three"] * 6  # disagree -> normalised: "2" x4
    assert vqa_accuracy("2", humans) == 1.0
    assert vqa_accuracy("blue", humans) == 0.0
    humans = ["cat"] * 2 + ["dog"] * 8
    assert vqa_accuracy("cat", humans) == pytest.approx(2 / 3)
    # Official: 2 subsets drop a "cat" (1 match left), 8 keep both (2 matches).
    assert vqa_accuracy_official("cat", humans) == pytest.approx((2 * (1 / 3) + 8 * (2 / 3)) / 10)
    # Unanimous humans: no normalisation, so "The cat" != "cat" (official quirk).
    assert vqa_accuracy("The cat", ["cat"] * 10) == 0.0


def test_evaluate_qa_single_and_multi() -> None:
    single = evaluate_qa({1: "Yes", 2: "no"}, {1: ["yes"], 2: ["yes"]})
    assert single == {"exact_match": 0.0, "num_questions": 2}  # single answer: compared as given
    multi = evaluate_qa({"a": "yes"}, {"a": ["yes", "Yes.", "no"]})
    assert multi["exact_match"] == 100.0
    assert multi["vqa_accuracy"] == pytest.approx(100 * 2 / 3)


def test_files_both_formats_and_errors(tmp_path: Path) -> None:
    pred = tmp_path / "pred.json"
    pred.write_text(json.dumps([{"question_id": 1, "answer": "yes"}, {"question_id": 2, "answer": "2"}]))
    gt = tmp_path / "gt.jsonl"
    gt.write_text('{"question_id": 1, "answer": "yes"}\n{"question_id": 2, "answers": ["two", "2", "3"]}\n')
    result = evaluate_files(pred, gt)
    assert result["exact_match"] == 100.0 and result["num_questions"] == 2
    assert result["vqa_accuracy"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    gt.write_text('{"question_id": 1, "answer": "yes"}\n{"question_id": 3, "answer": "no"}\n')
    with pytest.raises(FormatError, match=r"pred\.json: no prediction for question_id 3 .*line 2"):
        evaluate_files(pred, gt)
    gt.write_text('{"question_id": 1}\n')
    with pytest.raises(FormatError, match=r"gt\.jsonl: record line 1: missing key 'answer'"):
        evaluate_files(pred, gt)
