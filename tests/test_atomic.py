"""Atomic writes: readers see the old content or the new one, never a mix; failures change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.atomic import atomic_directory, write_json_atomic, write_jsonl_atomic


def test_atomic_directory_swaps_in_the_new_content(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_directory(target) as tmp:
        assert tmp != target and tmp.parent == target.parent
        (tmp / "weights.bin").write_bytes(b"new")
        assert (target / "stale.txt").read_text() == "old"  # untouched until the block succeeds
    assert sorted(p.name for p in target.iterdir()) == ["weights.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no .partial / .old left


def test_atomic_directory_failure_keeps_the_old_directory(tmp_path: Path) -> None:
    target = tmp_path / "model"
    write_json_atomic(target / "config.json", {"v": 1})
    with pytest.raises(RuntimeError, match="disk full"), atomic_directory(target) as tmp:
        (tmp / "config.json").write_text("{half")
        raise RuntimeError("disk full")
    assert (target / "config.json").read_text() == '{"v": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_write_jsonl_atomic_one_object_per_line(tmp_path: Path) -> None:
    path = write_jsonl_atomic(tmp_path / "p.jsonl", ({"qid": i, "q": "café"} for i in range(3)))
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"qid": i, "q": "café"} for i in range(3)]
    assert lines[0] == '{"qid": 0, "q": "caf\\u00e9"}'  # compact, ASCII-escaped as json.dumps writes it
    assert not list(tmp_path.glob(".*"))  # no temp file left
