"""Fuzzing ``chronolens eval``: malformed files for every task exit 0 or 1, never 3, never hang.

Seeded and bounded: each task starts from a small valid (predictions, ground truth) pair and
applies random mutations to one side (wrong JSON, wrong types, NaN / inf, negative, reversed or
huge spans, bools, missing keys, duplicated records, empty files, huge numbers, unicode, deep
nesting); every case runs ``chronolens.cli.main.main`` in-process under an alarm. METEOR is off
(no Java on PATH) so no case starts a JVM.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from chronolens.cli.evaluate import TASKS
from chronolens.cli.main import main

SEED = 25
CASES_PER_TASK = 48  # per task, split between the two files
CASE_TIMEOUT_S = 10  # a case running longer counts as a hang
TOTAL_BUDGET_S = 60.0  # the whole corpus; a few seconds on 2 cores

# Valid inputs per task: (predictions, ground truth, file suffix).
BASES: dict[str, tuple[Any, Any, str]] = {
    "qvhighlights": (
        [
            {
                "qid": 1,
                "pred_relevant_windows": [[0, 10, 0.9], [20, 30, 0.5]],
                "pred_saliency_scores": [1, 2, 3],
            },
            {"qid": 2, "pred_relevant_windows": [[4, 8, 0.7]], "pred_saliency_scores": [0.5, 0.1]},
        ],
        [
            {
                "qid": 1,
                "duration": 60,
                "relevant_windows": [[0, 12]],
                "relevant_clip_ids": [0, 1],
                "saliency_scores": [[4, 3, 2], [1, 2, 3]],
            },
            {
                "qid": 2,
                "duration": 20,
                "relevant_windows": [[4, 10], [12, 14]],
                "relevant_clip_ids": [2],
                "saliency_scores": [[2, 2, 2]],
            },
        ],
        ".jsonl",
    ),
    "charades-sta": (
        [
            {"vname": "v.mp4", "generated_cap": "It happens in 0.0 - 6.9 seconds.", "query": "q", "id": 0},
            {"vname": "w.mp4", "generated_cap": "from 3 to 9 seconds", "query": "r", "id": 1},
        ],
        {
            "annotations": [
                {"image_id": "v.mp4", "caption": "q", "timestamp": [0.0, 6.9], "id": 0},
                {"image_id": "w.mp4", "caption": "r", "timestamp": [2.5, 8.0], "id": 1, "duration": 30.0},
            ]
        },
        ".json",
    ),
    "dense-captioning": (
        {
            "a.mp4": [
                {"timestamp": [0, 10], "caption": "cut the onion."},
                {"timestamp": [10, 20], "caption": "fry"},
            ],
            "b.mp4": [{"timestamp": [5, 15], "caption": "a man talks."}],
        },
        {
            "annotations": [
                {
                    "image_id": "a.mp4",
                    "duration": 30.0,
                    "segments": [[0, 10], [10, 25]],
                    "pure_cap": "cut. fry it",
                },
                {
                    "image_id": "x/b.mp4",
                    "duration": 40.0,
                    "segments": [[5, 15]],
                    "caption": "A man is seen talking to the camera.",
                },
            ]
        },
        ".json",
    ),
    "captioning": (
        {"1": ["a dog runs on the grass"], "2": ["a man plays a guitar"]},
        {"1": ["a dog is running", "the dog runs on grass"], "2": ["someone plays guitar on stage"]},
        ".json",
    ),
    "retrieval": (
        {"similarity": [[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.2, 0.4, 0.7]]},
        [0, 1, 2],
        ".json",
    ),
    "qa": (
        [{"question_id": 1, "answer": "two"}, {"question_id": "q2", "answer": "Yes"}],
        [{"question_id": 1, "answers": ["2", "two", "3"]}, {"question_id": "q2", "answer": "yes"}],
        ".json",
    ),
}

BAD_VALUES: list[Any] = [
    None,
    True,
    False,
    "",
    "12",
    "ünï©ødé ✓ 時間",
    -1,
    0,
    -1e308,
    1e308,
    10**400,
    float("nan"),
    float("inf"),
    -float("inf"),
    [],
    {},
    [1],
    [5, 2],
    [-27, -67],
    [62, 22],
    [1e308, 1e308],
    [True, True],
    [[1, 2, 3]],
    {"k": [1, 2]},
]
RAW_FILES: list[str] = [
    "",
    "   \n",
    "{",
    "[1, 2,]",
    "null",
    "42",
    '"text"',
    "NaN",
    "[" * 100_000 + "]" * 100_000,
    '{"a": 1}\n{"a": 2',
    "\ufeff[]",
    "1e999",
    "[" + "9" * 5000 + "]",
]


def test_every_eval_task_is_fuzzed() -> None:
    assert set(BASES) == set(TASKS)


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # NaN / Infinity stay as Python's json writes them


def _nodes(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _nodes(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _nodes(sub, (*path, index))


def _set(root: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return root


def _mutate(rng: random.Random, value: Any) -> Any:
    """One random structural mutation of a JSON value (a deep copy)."""
    value = copy.deepcopy(value)
    nodes = list(_nodes(value))
    path, node = rng.choice(nodes)
    kind = rng.randrange(5)
    if kind == 0:  # replace a node by a bad value
        return _set(value, path, copy.deepcopy(rng.choice(BAD_VALUES)))
    if kind == 1 and isinstance(node, dict) and node:  # delete a key
        del node[rng.choice(list(node))]
        return value
    if kind == 2 and isinstance(node, list) and node:  # duplicate an element
        node.append(copy.deepcopy(rng.choice(node)))
        return value
    if kind == 3 and isinstance(node, (int, float)) and not isinstance(node, bool):  # extreme numbers
        return _set(value, path, rng.choice([-node - 50, node * 10**300, node + 10**6, -0.0]))
    lists = [(p, n) for p, n in nodes if isinstance(n, list) and len(n) == 2]
    if lists:  # reverse or negate a pair (a span, most often)
        p, n = rng.choice(lists)
        return _set(
            value,
            p,
            [n[1], n[0]] if rng.random() < 0.5 else [-x if isinstance(x, (int, float)) else x for x in n],
        )
    return _set(value, path, copy.deepcopy(rng.choice(BAD_VALUES)))


def _text(rng: random.Random, base: Any, suffix: str) -> str:
    if rng.random() < 0.15:
        return rng.choice(RAW_FILES)
    mutated = base
    for _ in range(rng.randint(1, 3)):
        mutated = _mutate(rng, mutated)
    if suffix == ".jsonl" and isinstance(mutated, list):
        return "".join(_dump(r) + "\n" for r in mutated)
    return _dump(mutated)


class _HangError(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _HangError


def _run(argv: list[str]) -> int | str:
    """Exit code of one case, or ``"hang"``."""
    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        return main(argv)
    except _HangError:
        return "hang"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fuzz_corpus(tmp_path: Path, seed: int = SEED) -> dict[str, Counter[str]]:
    """Run the corpus; per task, counts of ``ok`` / ``clean error`` / ``crash`` / ``hang``."""
    rng = random.Random(seed)
    table: dict[str, Counter[str]] = {}
    outcome = {0: "ok", 1: "clean error"}  # any other exit code is a crash (3: traceback)
    for task, (pred, gt, suffix) in BASES.items():
        counts: Counter[str] = Counter()
        for case in range(CASES_PER_TASK):
            pred_path, gt_path = (
                tmp_path / f"{task}-{case}-pred{suffix}",
                tmp_path / f"{task}-{case}-gt{suffix}",
            )
            on_pred = case % 2 == 0
            pred_text = _text(rng, pred, suffix) if on_pred else _dump_file(pred, suffix)
            gt_text = _dump_file(gt, suffix) if on_pred else _text(rng, gt, suffix)
            pred_path.write_text(pred_text, encoding="utf-8")
            gt_path.write_text(gt_text, encoding="utf-8")
            flags: list[str] = rng.choice([[], [], ["--lenient"], ["--subset"]]) if task in LENIENT else []
            code = _run(["eval", task, "--pred", str(pred_path), "--gt", str(gt_path), "--json", *flags])
            counts["hang" if code == "hang" else outcome.get(int(code), "crash")] += 1
            counts["tried"] += 1
        table[task] = counts
    return table


LENIENT = ("qvhighlights", "charades-sta", "dense-captioning")


def _dump_file(value: Any, suffix: str) -> str:
    if suffix == ".jsonl" and isinstance(value, list):
        return "".join(_dump(r) + "\n" for r in value)
    return _dump(value)


def test_bases_are_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    for task, (pred, gt, suffix) in BASES.items():
        (tmp_path / f"p{suffix}").write_text(_dump_file(pred, suffix), encoding="utf-8")
        (tmp_path / f"g{suffix}").write_text(_dump_file(gt, suffix), encoding="utf-8")
        assert (
            main(["eval", task, "--pred", str(tmp_path / f"p{suffix}"), "--gt", str(tmp_path / f"g{suffix}")])
            == 0
        ), (
            task,
            capsys.readouterr().err,
        )


def test_malformed_eval_inputs_never_crash_or_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no Java: METEOR off, no JVM
    start = time.monotonic()
    table = fuzz_corpus(tmp_path)
    elapsed = time.monotonic() - start
    capsys.readouterr()
    bad = {task: dict(c) for task, c in table.items() if c["crash"] or c["hang"]}
    assert not bad, bad
    assert elapsed < TOTAL_BUDGET_S
    for task, counts in table.items():
        assert counts["tried"] == CASES_PER_TASK
        assert counts["clean error"] > 0, task  # the mutations do reach the validators


# COCO caption files (issue 17): the annotation file pycocoevalcap reads, and COCO results.
COCO_CAPTIONING = (
    [
        {"image_id": 1, "caption": "a dog runs on the grass"},
        {"image_id": 2, "caption": "a man plays a guitar"},
    ],
    {
        "images": [{"id": 1}, {"id": 2}],
        "annotations": [
            {"image_id": 1, "id": 10, "caption": "a dog is running"},
            {"image_id": 2, "id": 11, "caption": "someone plays guitar on stage"},
            {"image_id": 1, "id": 12, "caption": "the dog runs on grass"},
        ],
    },
)


def test_malformed_coco_caption_files_never_crash_or_hang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no Java: METEOR off, no JVM
    rng = random.Random(SEED + 1)
    pred, gt = COCO_CAPTIONING
    counts: Counter[str] = Counter()
    for case in range(CASES_PER_TASK):
        on_pred = case % 2 == 0
        (tmp_path / "p.json").write_text(
            _text(rng, pred, ".json") if on_pred else _dump(pred), encoding="utf-8"
        )
        (tmp_path / "g.json").write_text(_dump(gt) if on_pred else _text(rng, gt, ".json"), encoding="utf-8")
        code = _run(
            [
                "eval",
                "captioning",
                "--pred",
                str(tmp_path / "p.json"),
                "--gt",
                str(tmp_path / "g.json"),
                "--json",
            ]
        )
        counts["hang" if code == "hang" else {0: "ok", 1: "clean error"}.get(int(code), "crash")] += 1
        if code not in (0, 1):
            capsys.readouterr()
        else:
            err = capsys.readouterr().err.strip()
            assert code == 0 or len(err.splitlines()) == 1, err  # an error is one line
    assert counts["crash"] == counts["hang"] == 0, dict(counts)
    assert counts["clean error"] > 0 and counts["ok"] > 0, dict(counts)
    (tmp_path / "p.json").write_text(_dump(pred), encoding="utf-8")
    (tmp_path / "g.json").write_text(_dump(gt), encoding="utf-8")
    assert (
        main(["eval", "captioning", "--pred", str(tmp_path / "p.json"), "--gt", str(tmp_path / "g.json")])
        == 0
    )
