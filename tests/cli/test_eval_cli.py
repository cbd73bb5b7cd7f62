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


# ------------------------------------------------------------------ file formats in --help (issue 17)

# task -> what its help must name: the reference script (first: named in no other task's help)
# and keys of its two files.
FORMAT_WORDS = {
    "qvhighlights": ("standalone_eval", "pred_relevant_windows", "relevant_windows"),
    "charades-sta": ("format_tvg.py", "eval_tvg.py", "generated_cap", "timestamp"),
    "dense-captioning": ("eval_dvc.py", "TimeIT", "segments"),
    "captioning": ("COCOEvalCap", "pycocoevalcap", '"annotations"', "image_id"),
    "retrieval": ("CLIP4Clip", "similarity", "diagonal"),
    "qa": ("vqaEval.py", "question_id", "answers"),
}


def _help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_eval_help_describes_every_task_format(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["eval", "--help"], capsys)
    assert "file formats" in text and "docs/metrics.md" in text
    for task, words in FORMAT_WORDS.items():
        assert f"\n  {task}" in text, task
        for word in words:
            assert word in text, (task, word)
    assert max(len(line) for line in text.splitlines()) <= 100  # laid out as written, not re-wrapped


@pytest.mark.parametrize("task", sorted(FORMAT_WORDS))
def test_eval_task_help_shows_that_task_format(task: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["eval", task, "--help"], capsys)
    assert all(word in text for word in FORMAT_WORDS[task])
    others = [t for t in FORMAT_WORDS if t != task and FORMAT_WORDS[t][0] not in FORMAT_WORDS[task]]
    assert not any(FORMAT_WORDS[t][0] in text for t in others), "only this task's formats"
    # with options before the task too
    assert _help(["eval", "--pred", "p", task, "-h"], capsys) == text


# ------------------------------------------------------------------ COCO captions (issue 17)


def test_captioning_reads_standard_coco_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = {
        "info": {},
        "images": [{"id": 1}, {"id": 2}],
        "annotations": [
            {"image_id": 1, "id": 10, "caption": "A dog runs on the grass."},
            {"image_id": 2, "id": 11, "caption": "A man plays a guitar."},
            {"image_id": 1, "id": 12, "caption": "The dog is running."},
        ],
    }
    (tmp_path / "captions_val.json").write_text(json.dumps(gt), encoding="utf-8")
    results = [{"image_id": 2, "caption": "a man plays guitar"}, {"image_id": 1, "caption": "a dog runs"}]
    (tmp_path / "results.json").write_text(json.dumps(results), encoding="utf-8")
    argv = [
        "eval",
        "captioning",
        "--pred",
        str(tmp_path / "results.json"),
        "--gt",
        str(tmp_path / "captions_val.json"),
    ]
    assert main([*argv, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert 0.0 < got["Bleu_1"] <= 1.0 and got["CIDEr"] > 0.0
    gt["annotations"][1]["caption"] = ["not", "a", "string"]
    (tmp_path / "captions_val.json").write_text(json.dumps(gt), encoding="utf-8")
    assert main([*argv, "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "captions_val.json: record annotations[1]: caption must be a string, got list" in line


# ------------------------------------------------------------------ METEOR note (issue 17)


@pytest.mark.parametrize("java", [None, "/usr/bin/java"])
def test_dense_captioning_meteor_note_is_one_right_line(
    java: str | None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib
    import shutil

    meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")
    monkeypatch.setattr(shutil, "which", lambda name: java)
    monkeypatch.setattr(meteor_module, "find_meteor_jar", lambda: None)
    dvc = [str(FIXTURES / "dvc_pred.json"), "--gt", str(FIXTURES / "dvc_gt.json"), "--lenient"]
    assert main(["eval", "dense-captioning", "--pred", *dvc]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if "METEOR" in line and "skipped" in line]
    assert len(notes) == 1 and notes[0].startswith("notes ") and notes[0].count("METEOR skipped") == 1
    assert "METEOR needs Java" not in notes[0]
    assert ("java not found" in notes[0]) == (java is None)
