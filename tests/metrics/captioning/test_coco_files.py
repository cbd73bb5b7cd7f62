"""``evaluate_files`` reads COCO caption files as pycocoevalcap does (annotations grouped by image id)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from chronolens.errors import FormatError
from chronolens.metrics.captioning import evaluate_files

CASES = json.loads((Path(__file__).parent / "fixtures" / "coco_scores.json").read_text())["cases"]


@pytest.fixture(autouse=True)
def _no_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # METEOR off: no JVM in these tests


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _coco_annotations(gts_raw: dict[str, list[str]], id_key: str = "image_id") -> list[dict[str, Any]]:
    """One record per reference caption, interleaved across ids, with unique annotation ids."""
    records: list[dict[str, Any]] = []
    longest = max(len(refs) for refs in gts_raw.values())
    for k in range(longest):
        for key, refs in gts_raw.items():
            if k < len(refs):
                record: dict[str, Any] = {id_key: int(key), "caption": refs[k]}
                if id_key != "id":
                    record["id"] = 1000 + len(records)  # COCO's annotation id: never the grouping key
                records.append(record)
    return records


def test_coco_ground_truth_and_results_score_as_the_dict_form(tmp_path: Path) -> None:
    case = CASES["basic"]
    reference = evaluate_files(
        _write(tmp_path / "p.json", case["res_raw"]), _write(tmp_path / "g.json", case["gts_raw"])
    )
    coco_gt = {
        "info": {"description": "test"},
        "images": [{"id": int(k)} for k in case["gts_raw"]],
        "annotations": _coco_annotations(case["gts_raw"]),
        "type": "captions",
    }
    results = [{"image_id": int(k), "caption": v[0]} for k, v in reversed(case["res_raw"].items())]
    got = evaluate_files(
        _write(tmp_path / "res.json", results), _write(tmp_path / "captions_val.json", coco_gt)
    )
    assert got == reference
    assert got["CIDEr"] == pytest.approx(case["scores"]["CIDEr"]["corpus"], abs=1e-9)
    # The same predictions in the {id: [caption]} form against the COCO ground truth.
    assert (
        evaluate_files(_write(tmp_path / "p2.json", case["res_raw"]), tmp_path / "captions_val.json")
        == reference
    )


@pytest.mark.parametrize("id_key", ["video_id", "id"])
def test_video_id_or_id_keys_and_a_bare_annotation_list(tmp_path: Path, id_key: str) -> None:
    case = CASES["basic"]
    reference = evaluate_files(
        _write(tmp_path / "p.json", case["res_raw"]), _write(tmp_path / "g.json", case["gts_raw"])
    )
    annotations = _coco_annotations(case["gts_raw"], id_key)
    pred = _write(
        tmp_path / "res.json", [{id_key: int(k), "caption": v[0]} for k, v in case["res_raw"].items()]
    )
    assert evaluate_files(pred, _write(tmp_path / "gt.json", {"annotations": annotations})) == reference
    assert evaluate_files(pred, _write(tmp_path / "gt_list.json", annotations)) == reference


@pytest.mark.parametrize(
    ("gt", "message"),
    [
        ({"annotations": {"image_id": 1}}, r"'annotations' must be a list of objects, got dict"),
        ({"annotations": []}, r"'annotations' is empty"),
        ({"annotations": [3]}, r"record annotations\[0\]: expected a JSON object, got int"),
        ({"annotations": [{"caption": "a dog"}]}, r"record annotations\[0\]: missing key 'image_id'"),
        ({"annotations": [{"image_id": 1}]}, r"record annotations\[0\]: missing key 'caption'"),
        (
            {"annotations": [{"image_id": 1, "caption": 7}]},
            r"annotations\[0\]: caption must be a string, got int",
        ),
        ({"annotations": [{"image_id": True, "caption": "a"}]}, r"annotations\[0\]: image_id must be"),
        ({"annotations": [{"image_id": None, "caption": "a"}]}, r"annotations\[0\]: image_id must be"),
        ({"annotations": [{"image_id": [1], "caption": "a"}]}, r"annotations\[0\]: image_id must be"),
        (
            {"annotations": [{"image_id": 1, "caption": "a"}, {"video_id": 1, "caption": "b"}]},
            r"record annotations\[1\]: missing key 'image_id' \(the id key of annotations\[0\]\)",
        ),
        ([{"image_id": 1, "caption": "a"}, "x"], r"record 1: expected a JSON object, got str"),
        ("text", r"expected .* got str"),
        ({}, r"empty object: no reference captions"),
        ([], r"empty list: no reference captions"),
    ],
)
def test_malformed_coco_ground_truth_is_one_clear_error(tmp_path: Path, gt: Any, message: str) -> None:
    pred = _write(tmp_path / "pred.json", [{"image_id": 1, "caption": "a dog"}])
    with pytest.raises(FormatError, match=rf"^.*gt\.json: .*{message}") as info:
        evaluate_files(pred, _write(tmp_path / "gt.json", gt))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("pred", "message"),
    [
        (
            [{"image_id": 1, "caption": "a"}, {"image_id": 1, "caption": "b"}],
            r"record 1: duplicate image_id 1",
        ),
        ([{"caption": "a"}], r"record 0: missing key 'image_id'"),
        (
            [{"image_id": {"a": 1}, "caption": "a"}],
            r"record 0: image_id must be a number or a string, got dict",
        ),
        ([{"image_id": 1, "caption": None}], r"record 0: caption must be a string, got NoneType"),
    ],
)
def test_malformed_coco_results_are_one_clear_error(tmp_path: Path, pred: Any, message: str) -> None:
    gt = _write(tmp_path / "gt.json", {"annotations": [{"image_id": 1, "id": 1, "caption": "a dog"}]})
    with pytest.raises(FormatError, match=rf"pred\.json: {message}"):
        evaluate_files(_write(tmp_path / "pred.json", pred), gt)


def test_ids_must_match_between_coco_files(tmp_path: Path) -> None:
    gt = _write(tmp_path / "gt.json", {"annotations": [{"image_id": i, "caption": "a dog"} for i in (1, 2)]})
    with pytest.raises(
        FormatError, match=r"pred\.json: no prediction for 1 id\(s\) of .*gt\.json, e\.g\. '2'"
    ):
        evaluate_files(_write(tmp_path / "pred.json", [{"image_id": 1, "caption": "a dog"}]), gt)
