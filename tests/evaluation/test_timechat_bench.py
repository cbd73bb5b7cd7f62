"""`chronolens bench timechat` on a tiny rendered split: native prediction files and chronolens' metrics.

Scripted generators answer like an oracle (the ground truth in TimeIT's answer form) or like a
broken model (no timestamps), so the scores are known; the real tiny model proves the wiring.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.tasks.test_answer_timechat import build_tiny_checkpoint

from chronolens.cli.main import main
from chronolens.data.formats.all import annotation_files
from chronolens.data.formats.charades_sta import read_charades_sta
from chronolens.data.formats.dense_captions import read_dense_captions
from chronolens.data.formats.qvhighlights import read_qvhighlights
from chronolens.data.formats.timeit import dvc_answer, grounding_answer, highlight_answer
from chronolens.data.synth import SynthConfig, generate
from chronolens.evaluation.timechat import format_report, run_timechat_bench
from chronolens.evaluation.timechat_grounding import GroundingQuery, score_grounding_answers
from chronolens.metrics.grounding import evaluate_answers
from chronolens.tasks.answer import TimeChatSession, VideoFeatures

TINY = SynthConfig(
    videos=3,
    seed=11,
    split="test",
    width=96,
    height=96,
    fps_choices=(8.0,),
    fps_weights=(),
    min_duration=5.0,
    max_duration=6.0,
    long_fraction=0.0,
    event_min=1.0,
    event_max=2.0,
    gap_min=0.3,
    gap_max=1.0,
)
_QUOTED = re.compile(r"'(.*?)'")


@pytest.fixture(scope="module")
def split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timechat-bench") / "data"
    generate(root, TINY, progress=False)
    return root


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("timechat-bench") / "ckpt")


def _oracle(split: Path) -> object:
    """A generator answering every TimeIT instruction with the ground truth of the split."""
    files = annotation_files(split, "test")
    spans = {(r.vid, r.sentence): (r.start, r.end) for r in read_charades_sta(files["charades_sta"])}
    dense = {Path(r.image_id).stem: r for r in read_dense_captions(files["dense_captions"])}
    highlights = {(r.vid, r.query): r for r in read_qvhighlights(files["qvhighlights"])}

    def answer(video: VideoFeatures, instructions: Sequence[str], transcript: str | None) -> list[str]:
        vid = Path(video.path).stem
        out = []
        for text in instructions:
            quoted = _QUOTED.search(text)
            if quoted is None:  # dense captioning
                record = dense[vid]
                out.append(dvc_answer(list(record.segments), list(record.sentences)))
            elif "highlight" in text:
                hl = highlights[(vid, quoted.group(1))]
                out.append(
                    highlight_answer(list(hl.relevant_clip_ids), [list(s) for s in hl.saliency_scores])
                )
            else:
                out.append(grounding_answer(*spans[(vid, quoted.group(1))]))
        return out

    return answer


def _broken(video: VideoFeatures, instructions: Sequence[str], transcript: str | None) -> list[str]:
    return ["the square the circle" for _ in instructions]


def test_grounding_oracle_scores_full_marks_and_writes_native_files(split: Path, checkpoint: Path) -> None:
    session = TimeChatSession(checkpoint, generate_fn=_oracle(split))  # type: ignore[arg-type]
    report = run_timechat_bench(split, session=session, task="grounding")
    n = len(read_charades_sta(annotation_files(split, "test")["charades_sta"]))
    assert report.n_queries == n >= 3 and report.n_videos == 3 and report.parse_failures == 0
    assert report.summary["R1@0.7"] == 100.0 and report.summary["mIoU"] == pytest.approx(100.0)
    answers = json.loads(Path(report.files["answers"]).read_text())
    assert [set(a) for a in answers] == [{"vname", "generated_cap", "query", "id"}] * n
    assert answers[0]["vname"].endswith(".mp4") and "happens in" in answers[0]["generated_cap"]
    gt = json.loads(Path(report.files["ground_truth"]).read_text())
    assert {"image_id", "caption", "timestamp", "id", "duration"} <= set(gt["annotations"][0])
    saved = json.loads(Path(report.files["metrics"]).read_text())
    assert saved["summary"] == report.summary and Path(report.files["answers"]).parent.name == "timechat-ckpt"
    assert "R1@0.5" in format_report(report)


def test_grounding_unparsed_answers_are_counted_misses(split: Path, checkpoint: Path, tmp_path: Path) -> None:
    session = TimeChatSession(checkpoint, generate_fn=_broken)
    report = run_timechat_bench(
        split, session=session, task="grounding", limit=2, out=tmp_path, parser="timechat"
    )
    assert report.n_queries == 2 and report.parse_failures == 2
    assert report.summary == {"R1@0.3": 0.0, "R1@0.5": 0.0, "R1@0.7": 0.0, "mIoU": 0.0, "parse_failures": 2}
    assert Path(report.files["answers"]).parent == tmp_path


def test_dense_captioning_oracle_and_broken(split: Path, checkpoint: Path, tmp_path: Path) -> None:
    oracle = TimeChatSession(checkpoint, generate_fn=_oracle(split))  # type: ignore[arg-type]
    report = run_timechat_bench(split, session=oracle, task="dense-captioning", out=tmp_path / "a")
    assert report.n_videos == 3 and report.parse_failures == 0
    assert report.summary["F1_Score"] == pytest.approx(100.0) and report.summary["CIDER"] > 100
    preds = json.loads(Path(report.files["predictions"]).read_text())
    assert set(preds) == {
        r.image_id for r in read_dense_captions(annotation_files(split, "test")["dense_captions"])
    }
    first = next(iter(preds.values()))[0]
    assert set(first) == {"timestamp", "caption"} and len(first["timestamp"]) == 2
    broken = TimeChatSession(checkpoint, generate_fn=_broken)
    bad = run_timechat_bench(split, session=broken, task="dense-captioning", out=tmp_path / "b", limit=1)
    assert bad.n_videos == 1 and bad.parse_failures == 1
    assert bad.summary["F1_Score"] == 0.0 and bad.summary["CIDER"] == 0.0


def test_highlights_oracle_beats_broken(split: Path, checkpoint: Path, tmp_path: Path) -> None:
    oracle = TimeChatSession(checkpoint, generate_fn=_oracle(split))  # type: ignore[arg-type]
    good = run_timechat_bench(split, session=oracle, task="highlights", out=tmp_path / "a")
    records = [json.loads(line) for line in Path(good.files["predictions"]).read_text().splitlines()]
    assert [set(r) for r in records] == [{"qid", "query", "vid", "pred_saliency_scores"}] * good.n_queries
    # The answer's clip times and mean scores land back on exactly the annotated clips.
    for gt, pred in zip(
        read_qvhighlights(annotation_files(split, "test")["qvhighlights"]), records, strict=True
    ):
        expected = [0.0] * int(gt.duration / 2)
        for cid, scores in zip(gt.relevant_clip_ids, gt.saliency_scores, strict=True):
            expected[cid] = round(sum(scores) / len(scores), 1)
        assert pred["qid"] == gt.qid and pred["pred_saliency_scores"] == expected
    assert good.parse_failures == 0
    broken = TimeChatSession(checkpoint, generate_fn=_broken)
    bad = run_timechat_bench(split, session=broken, task="highlights", out=tmp_path / "b")
    assert bad.parse_failures == bad.n_queries
    assert good.summary["mAP"] is not None and bad.summary["mAP"] is not None
    assert good.summary["mAP"] > bad.summary["mAP"] and good.summary["HIT@1"] >= bad.summary["HIT@1"]


def test_cli_with_the_real_tiny_model(
    split: Path, checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "-q",
        "bench",
        "timechat",
        "--task",
        "grounding",
        "--data",
        str(split),
        "--checkpoint",
        str(checkpoint),
    ]
    assert main([*argv, "--limit", "2", "--max-new-tokens", "6", "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["task"] == "grounding" and payload["n_queries"] == 2
    assert set(payload["summary"]) == {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "parse_failures"}
    assert (tmp_path / "charades_sta_test_answers.json").is_file()
    assert main([*argv[:-2], "--checkpoint", str(tmp_path / "none")]) == 1
    assert "no TimeChat checkpoint directory" in capsys.readouterr().err
    assert main([*argv, "--split", "val"]) == 1  # the split was not rendered
    assert "no grounding annotations" in capsys.readouterr().err


def test_score_grounding_answers_records_and_scores_in_the_reference_layouts() -> None:
    queries = [
        GroundingQuery(id=0, video="a.mp4", query="a red square", window=(1.0, 3.0), duration=5.0),
        GroundingQuery(id=1, video="b.mp4", query="a circle", window=(0.0, 2.0), duration=4.0),
        GroundingQuery(id=2, video="b.mp4", query="it fades", window=(2.0, 4.0), duration=4.0),
    ]
    texts = [grounding_answer(1.0, 3.0), "no idea", "The given query happens in 3.0 - 99 seconds."]
    scores = score_grounding_answers(queries, texts)
    assert scores.answers[1] == {"vname": "b.mp4", "generated_cap": "no idea", "query": "a circle", "id": 1}
    assert scores.ground_truth["annotations"][0] == {
        "image_id": "a.mp4",
        "caption": "a red square",
        "timestamp": [1.0, 3.0],
        "id": 0,
        "duration": 5.0,
    }
    # One exact hit, one miss without a span, one clamped to the video: IoU 1, 0, 0.5.
    assert scores.metrics["parse_failures"] == 1 and scores.metrics["n"] == 3
    assert scores.metrics["R1@0.5"] == pytest.approx(200 / 3) and scores.metrics["mIoU"] == pytest.approx(
        50.0
    )
    assert scores.metrics == evaluate_answers(scores.answers, scores.ground_truth)
