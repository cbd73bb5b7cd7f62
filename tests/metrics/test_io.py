"""Loaders name the file, the record and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronolens.errors import FormatError
from chronolens.metrics.io import load_json, load_json_or_jsonl, load_jsonl, require, require_number


def test_jsonl_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"p\.jsonl: line 3: invalid JSON"):
        load_jsonl(path)
    path.write_text('{"a": 1}\n[1]\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"line 2: expected a JSON object, got list"):
        load_jsonl(path)


def test_json_errors_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"a": [1, 2,]}', encoding="utf-8")
    with pytest.raises(FormatError, match=r"x\.json: line 1 column \d+: invalid JSON"):
        load_json(path)
    with pytest.raises(FormatError, match="file not found"):
        load_json(tmp_path / "nope.json")


def test_json_or_jsonl_labels_records(tmp_path: Path) -> None:
    lines = tmp_path / "a.jsonl"
    lines.write_text('{"q": "é"}\n\n{"q": 2}\n', encoding="utf-8")
    records, where = load_json_or_jsonl(lines)
    assert records == [{"q": "é"}, {"q": 2}] and where == ["line 1", "line 3"]
    array = tmp_path / "a.json"
    array.write_text('[{"q": 1}, {"q": 2}]', encoding="utf-8")
    assert load_json_or_jsonl(array) == ([{"q": 1}, {"q": 2}], ["index 0", "index 1"])
    array.write_text("[1]", encoding="utf-8")
    with pytest.raises(FormatError, match="index 0: expected a JSON object"):
        load_json_or_jsonl(array)


def test_require_messages() -> None:
    with pytest.raises(FormatError, match=r"^f\.json: record line 4: missing key 'k'$"):
        require({"a": 1}, "k", file="f.json", where="line 4")
    assert require({"k": 0}, "k", file="f", where="w") == 0
    with pytest.raises(FormatError, match="must be a number"):
        require_number("1", file="f", where="w", what="x")
    with pytest.raises(FormatError, match="must be a number"):
        require_number(True, file="f", where="w", what="x")
    with pytest.raises(FormatError, match="must be finite"):
        require_number(float("nan"), file="f", where="w", what="x")
