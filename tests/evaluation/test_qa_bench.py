"""bench qa: scores, baselines, parse failures; zero-shot classification on a synthetic split; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.tasks.test_answer_timechat import build_tiny_checkpoint

from chronolens.cli.main import main
from chronolens.data.formats.qa import QAItem
from chronolens.data.synth import SynthConfig, generate, load_synth
from chronolens.evaluation.classify import event_samples, format_classify_report, run_classify_bench
from chronolens.evaluation.qa import as_open_ended, format_qa_report, majority_predictions, run_qa_bench


def _mc(qid: str, kind: str, candidates: tuple[str, ...], answer: int) -> QAItem:
    return QAItem(
        question_id=qid, video="v.mp4", question="q?", candidates=candidates, answer=answer,
        answers=(candidates[answer],), type=kind,
    )  # fmt: skip


ITEMS = [
    _mc("1", "color", ("red", "blue"), 0),
    _mc("2", "color", ("blue", "red", "green", "pink"), 1),
    _mc("3", "color", ("green", "blue"), 1),
    _mc("4", "shape", ("star", "ring"), 1),
]


def test_accuracy_baselines_and_parse_failures() -> None:
    picks = {"1": (0, "red"), "2": (None, "no idea"), "3": (0, "green"), "4": (1, "ring")}
    report = run_qa_bench(
        ITEMS, lambda item, video: picks[item.question_id], {i.question_id: "v.mp4" for i in ITEMS},
        source="x", answerer="scripted", mode="generate",
    )  # fmt: skip
    assert report.overall.accuracy == 50.0 and report.overall.parse_failures == 1
    assert report.failures == ({"question_id": "2", "text": "no idea"},)
    assert report.overall.random == pytest.approx(100 * (1 / 2 + 1 / 4 + 1 / 2 + 1 / 2) / 4)
    color = report.per_type["color"]
    assert color.n == 3 and color.accuracy == pytest.approx(100 / 3)
    # leave-one-out majority: item 1 sees {red: 1, blue: 1} -> red (its first candidate among ties)
    assert majority_predictions(ITEMS)["1"] == (0, "red")
    assert majority_predictions(ITEMS)["3"] == (0, "green")  # others answered red twice: a tie at 0
    assert report.to_json()["overall"]["parse_failure_rate"] == 25.0
    assert "unparsed" in format_qa_report(report)


def test_open_ended_uses_the_vqa_exact_match() -> None:
    items = as_open_ended(ITEMS[:2])
    assert not items[0].multiple_choice and items[0].answers == ("red",)
    report = run_qa_bench(
        items, lambda item, video: (None, {"1": " red ", "2": ""}[item.question_id]),
        {i.question_id: "v.mp4" for i in items}, source="x", answerer="s", mode="open",
    )  # fmt: skip
    assert report.overall.accuracy == 50.0 and report.overall.random is None
    assert report.overall.parse_failures == 1  # the empty answer


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("qa-synth") / "d"
    config = SynthConfig(videos=3, seed=4, split="test", long_fraction=0.0, max_duration=16.0)
    generate(root, config, progress=False)
    return root


def test_classify_bench_scores_every_attribute_with_baselines(synth: Path) -> None:
    dataset = load_synth(synth)
    samples = event_samples(dataset, "test")
    assert samples and all(
        all(o is e or o.end <= e.start or o.start >= e.end for o in v.events)
        for v in dataset.split("test")
        for p, e in samples
        if p == dataset.video_path(v)
    )
    report = run_classify_bench(dataset, split="test", model="builtin:synth-clip")
    action = [s for s in report.scores if s.attribute == "action"]
    assert [s.prompts for s in action] == ["label", "generic", "synth"]
    assert action[0].classes == 12 and action[0].random["top1"] == pytest.approx(100 / 12)
    assert action[0].random["top5"] == pytest.approx(500 / 12)
    kinds = [e.kind for _, e in samples]
    most = max(kinds.count(k) for k in set(kinds))
    assert action[0].majority["top1"] == pytest.approx(100 * most / len(kinds))
    assert all(0 <= s.model["top1"] <= s.model["top5"] <= 100 for s in report.scores)
    assert "zero-shot classification" in format_classify_report(report)


def test_cli_bench_qa_with_a_tiny_timechat(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = build_tiny_checkpoint(tmp_path / "ckpt")
    argv = ["bench", "qa", "--data", str(synth), "--checkpoint", str(ckpt), "--limit", "3", "--no-classify"]
    assert main([*argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (
        data["mode"] == "likelihood" and data["overall"]["n"] == 3 and data["overall"]["parse_failures"] == 0
    )
    assert data["overall"]["random"] is not None and "classify" not in data
    assert main([*argv, "--mode", "generate", "--json"]) == 0  # a random model: answers rarely parse
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["parse_failures"] == len(data["failures"])
    assert all(set(f) == {"question_id", "text"} for f in data["failures"])


def test_cli_bench_qa_json_file_and_encoder(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = sorted((synth / "videos").iterdir())[0]
    qa = tmp_path / "mvbench.json"
    qa.write_text(
        json.dumps(
            [
                {
                    "video": video.name,
                    "question": "What colour?",
                    "candidates": ["red", "blue"],
                    "answer": "red",
                }
            ]
        ),
        encoding="utf-8",
    )
    argv = ["bench", "qa", "--data", str(qa), "--videos", str(synth / "videos"), "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "encoder" and data["overall"]["n"] == 1 and "classify" not in data
    assert main(["bench", "qa", "--data", str(synth), "--split", "test", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classify"]["scores"] and np.isfinite(data["overall"]["accuracy"])
    qa.write_text(json.dumps([{"video": "nope.mp4", "question": "q", "answer": "x"}]), encoding="utf-8")
    assert main(["bench", "qa", "--data", str(qa), "--checkpoint", str(tmp_path)]) == 1
    assert "no video file" in capsys.readouterr().err
