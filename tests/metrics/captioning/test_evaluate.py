"""evaluate_captions / evaluate_files and the optional METEOR path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chronolens.errors import FormatError
from chronolens.metrics.captioning import evaluate_captions, evaluate_files, find_meteor_jar, meteor

CASES = json.loads((Path(__file__).parent / "fixtures" / "coco_scores.json").read_text())["cases"]
SCORE_KEYS = ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4", "ROUGE_L", "CIDEr"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_evaluate_captions_end_to_end_matches_golden(name: str) -> None:
    case = CASES[name]
    out = evaluate_captions(case["gts_raw"], case["res_raw"], tokenizer=case["tokenizer"], use_meteor=False)
    for key in SCORE_KEYS:
        assert out[key] == pytest.approx(case["scores"][key]["corpus"], abs=1e-9), key
    assert "METEOR" not in out
    assert out["notes"] == ["METEOR skipped: disabled by the caller"]


def test_missing_java_gives_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    case = CASES["single_image"]
    out = evaluate_captions(case["gts_raw"], case["res_raw"])
    assert "METEOR" not in out
    (note,) = out["notes"]
    assert note.startswith("METEOR skipped: java not found on PATH") and "install Java 8" in note
    assert meteor(case["gts"], case["res"]) is None


def test_unknown_tokenizer() -> None:
    with pytest.raises(ValueError, match="tokenizer"):
        evaluate_captions({"a": ["x"]}, {"a": ["x"]}, tokenizer="nltk")


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_evaluate_files_accepts_both_prediction_layouts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    case = CASES["basic"]
    gt = _write(tmp_path / "gt.json", case["gts_raw"])
    as_dict = _write(tmp_path / "pred.json", case["res_raw"])
    as_list = _write(
        tmp_path / "pred_coco.json",
        [{"image_id": int(k), "caption": v[0]} for k, v in reversed(case["res_raw"].items())],
    )
    first = evaluate_files(as_dict, gt)
    second = evaluate_files(as_list, gt)
    assert first == second
    assert first["CIDEr"] == pytest.approx(case["scores"]["CIDEr"]["corpus"], abs=1e-9)
    json.dumps(first)  # JSON-serialisable


def test_evaluate_files_errors_name_file_and_record(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.json", {"1": ["a dog"], "2": ["a cat"]})
    with pytest.raises(FormatError, match=r"pred\.json: no prediction .* '2'"):
        evaluate_files(_write(tmp_path / "pred.json", {"1": ["a dog"]}), gt)
    with pytest.raises(FormatError, match=r"record 0: missing key 'caption'"):
        evaluate_files(_write(tmp_path / "p2.json", [{"image_id": 1}]), gt)
    with pytest.raises(FormatError, match=r"record '1': expected a list with exactly one"):
        evaluate_files(_write(tmp_path / "p3.json", {"1": ["a", "b"], "2": ["c"]}), gt)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("java") is None or find_meteor_jar() is None, reason="needs java + meteor-1.5.jar"
)
def test_meteor_matches_pycocoevalcap() -> None:
    case = CASES["random_corpus"]
    result = meteor(case["gts"], case["res"])
    assert result is not None
    corpus, per_id = result
    assert corpus == pytest.approx(case["scores"]["METEOR"]["corpus"], abs=1e-9)
    assert per_id == pytest.approx(case["scores"]["METEOR"]["per_id"], abs=1e-9)
