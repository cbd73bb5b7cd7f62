"""What the caption metrics say about METEOR: one line, right for each machine, never repeated."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import pytest

from chronolens.metrics import captioning, dense_captioning
from chronolens.metrics.io import InputChecks

FIXTURES = Path(__file__).parent / "fixtures"
PRED, GT = FIXTURES / "dvc_pred.json", FIXTURES / "dvc_gt.json"
LENIENT = InputChecks(lenient=True)  # the golden fixture has a reversed window
meteor_module = importlib.import_module("chronolens.metrics.captioning.meteor")
JAR_HINT = "pip install 'chronolens[meteor]'"


class _Scorer:
    """A METEOR stand-in that scores every pair 0.5."""

    def score(self, gts: dict[str, list[str]], res: dict[str, list[str]]) -> tuple[float, list[float]]:
        return 0.5, [0.5] * len(gts)


def _java(monkeypatch: pytest.MonkeyPatch, *, java: bool, jar: Path | None) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java" if java and name == "java" else None)
    monkeypatch.setattr(meteor_module, "find_meteor_jar", lambda: jar)
    monkeypatch.setattr(meteor_module, "_shared", None)


def _one_note(notes: list[str]) -> str:
    assert len(notes) == 1, notes
    note = notes[0]
    assert "\n" not in note and note.count("METEOR skipped") == 1, note
    return note


def test_no_java_and_no_jar(monkeypatch: pytest.MonkeyPatch) -> None:
    _java(monkeypatch, java=False, jar=None)
    note = _one_note(dense_captioning.evaluate_files(PRED, GT, checks=LENIENT)["notes"])
    assert note.startswith("METEOR skipped: java not found on PATH")
    assert "install Java 8" in note and JAR_HINT in note
    assert note.endswith("METEOR, SODA_c and Para_METEOR are null")
    assert not note.startswith("METEOR needs Java")


def test_no_java_with_a_jar_names_only_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _java(monkeypatch, java=False, jar=tmp_path / "meteor-1.5.jar")
    note = _one_note(dense_captioning.evaluate_files(PRED, GT, checks=LENIENT)["notes"])
    assert "java not found on PATH" in note and "install Java 8" in note and JAR_HINT not in note


def test_java_present_without_the_jar_does_not_say_it_needs_java(monkeypatch: pytest.MonkeyPatch) -> None:
    _java(monkeypatch, java=True, jar=None)
    note = _one_note(dense_captioning.evaluate_files(PRED, GT, checks=LENIENT)["notes"])
    assert note.startswith("METEOR skipped: meteor-1.5.jar not found") and JAR_HINT in note
    assert "java" not in note.lower().replace("chronolens_meteor_jar", "")


def test_java_and_jar_present_give_no_note(monkeypatch: pytest.MonkeyPatch) -> None:
    _java(monkeypatch, java=True, jar=Path("/opt/meteor-1.5.jar"))
    monkeypatch.setattr(meteor_module, "get_meteor_scorer", lambda: _Scorer())
    got = dense_captioning.evaluate_files(PRED, GT, checks=LENIENT)
    assert "notes" not in got and got["METEOR"] is not None


def test_captioning_says_the_same_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    gts, res = {"1": ["a dog runs"]}, {"1": ["a dog is running"]}
    _java(monkeypatch, java=False, jar=None)
    note = _one_note(captioning.evaluate_captions(gts, res)["notes"])
    assert note.startswith("METEOR skipped: java not found on PATH") and JAR_HINT in note
    _java(monkeypatch, java=True, jar=None)
    note = _one_note(captioning.evaluate_captions(gts, res)["notes"])
    assert note.startswith("METEOR skipped: meteor-1.5.jar not found") and "install Java" not in note
