"""``chronolens eval``: JSON and table output, rounding, one-line errors with exit code 1."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.cli.main import main

FIXTURES = Path(__file__).parents[1] / "metrics" / "fixtures"
PRED = str(FIXTURES / "qvhighlights_pred.jsonl")
GT = str(FIXTURES / "qvhighlights_gt.jsonl")


def test_qvhighlights_json_round_2_equals_reference(capsys: pytest.CaptureFixture[str]) -> None:
    # The golden fixture holds windows moment_detr accepts and strict checks refuse: --lenient.
    assert (
        main(["eval", "qvhighlights", "--pred", PRED, "--gt", GT, "--round", "2", "--json", "--lenient"]) == 0
    )
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1  # exactly one JSON object, nothing else
    expected = json.loads((FIXTURES / "qvhighlights_expected_rounded.json").read_text())
    got = json.loads(captured.out)
    assert got.pop("lenient") == {"reversed_span": 10, "span_past_duration": 1}
    assert json.dumps(got) == json.dumps(expected)  # same values, same key order
    assert captured.err == "lenient: let through 10 reversed span, 1 span past duration\n"


def test_qvhighlights_json_unrounded_and_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "qvhighlights", "--pred", PRED, "--gt", GT, "--json", "--lenient"]) == 0
    raw = json.loads(capsys.readouterr().out)
    expected = json.loads((FIXTURES / "qvhighlights_expected_raw.json").read_text())
    assert raw["brief"]["MR-full-mAP"] == pytest.approx(expected["brief"]["MR-full-mAP"], abs=1e-9)
    assert main(["eval", "qvhighlights", "--pred", PRED, "--gt", GT, "--lenient"]) == 0
    table = capsys.readouterr().out
    value = f"{expected['brief']['MR-full-mAP']:.2f}"
    assert any(line.startswith("brief/MR-full-mAP ") and line.endswith(value) for line in table.splitlines())


def test_malformed_input_is_one_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "pred.jsonl"
    bad.write_text('{"qid": 1, "pred_relevant_windows": [[0, "a", 1]]}\n', encoding="utf-8")
    gt = tmp_path / "gt.jsonl"
    gt.write_text('{"qid": 1, "relevant_windows": [[0, 2]]}\n', encoding="utf-8")
    assert main(["eval", "qvhighlights", "--pred", str(bad), "--gt", str(gt), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "pred.jsonl: record line 1" in lines[0] and "must be a number" in lines[0]


def test_retrieval_and_qa_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "sim.npy", np.eye(3))
    (tmp_path / "gt.json").write_text('"diagonal"', encoding="utf-8")
    assert (
        main(
            [
                "eval",
                "retrieval",
                "--pred",
                str(tmp_path / "sim.npy"),
                "--gt",
                str(tmp_path / "gt.json"),
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["R1"] == 100.0
    (tmp_path / "p.json").write_text('[{"question_id": "q", "answer": "Two"}]', encoding="utf-8")
    (tmp_path / "g.json").write_text('[{"question_id": "q", "answers": ["2", "two", "3"]}]', encoding="utf-8")
    assert (
        main(["eval", "qa", "--pred", str(tmp_path / "p.json"), "--gt", str(tmp_path / "g.json"), "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["vqa_accuracy"] == pytest.approx(100 * 2 / 3)


def test_unknown_task_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "nope", "--pred", PRED, "--gt", GT]) == 2


def test_impossible_gt_window_is_one_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = tmp_path / "gt.jsonl"
    gt.write_text('{"qid": 1, "duration": 150, "relevant_windows": [[62, 22]]}\n', encoding="utf-8")
    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"qid": 1, "pred_relevant_windows": [[20, 60, 1.0]]}\n', encoding="utf-8")
    assert main(["eval", "qvhighlights", "--pred", str(pred), "--gt", str(gt), "--json"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1
        and "gt.jsonl: record line 1: relevant_windows[0] = [62, 22] ends before it starts" in err[0]
    )
    assert main(["eval", "qvhighlights", "--pred", str(pred), "--gt", str(gt), "--json", "--lenient"]) == 0
    assert json.loads(capsys.readouterr().out)["lenient"] == {"reversed_span": 1}


def test_subset_reports_what_it_left_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = tmp_path / "gt.jsonl"
    gt.write_text(
        "".join(f'{{"qid": {q}, "duration": 150, "relevant_windows": [[0, 10]]}}\n' for q in (1, 2, 3)),
        encoding="utf-8",
    )
    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"qid": 1, "pred_relevant_windows": [[0, 10, 1.0]]}\n', encoding="utf-8")
    assert main(["eval", "qvhighlights", "--pred", str(pred), "--gt", str(gt), "--json"]) == 1
    assert "--subset" in capsys.readouterr().err
    assert main(["eval", "qvhighlights", "--pred", str(pred), "--gt", str(gt), "--json", "--subset"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["subset"] == {"gt_without_prediction": 2, "prediction_without_gt": 0}
    assert result["brief"]["MR-full-R1@0.5"] == 100.0
    assert captured.err.startswith("subset: left out 2 ground-truth ids")


def test_flags_that_do_not_apply_and_word_bound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "p.json").write_text('{"1": ["a b c"]}', encoding="utf-8")
    (tmp_path / "g.json").write_text('{"1": ["a b c d"]}', encoding="utf-8")
    args = ["eval", "captioning", "--pred", str(tmp_path / "p.json"), "--gt", str(tmp_path / "g.json")]
    assert main([*args, "--lenient"]) == 1
    assert "--lenient applies to" in capsys.readouterr().err
    assert main([*args, "--max-words", "5", "--tokenizer", "none"]) == 1
    assert "--max-words" in capsys.readouterr().err
    assert main([*args, "--max-words", "0"]) == 1
