"""Benchmark formats written for the synthetic dataset: they parse back and agree with the truth."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chronolens.cli.main import main
from chronolens.data.formats.all import annotation_files
from chronolens.data.formats.charades_sta import CharadesRecord, format_charades_line, read_charades_sta
from chronolens.data.formats.dense_captions import read_dense_captions
from chronolens.data.formats.qvhighlights import read_qvhighlights, relevant_clip_ids
from chronolens.data.formats.retrieval import read_retrieval_pairs
from chronolens.data.formats.timeit import dvc_answer, grounding_answer, highlight_answer, read_timeit
from chronolens.data.synth import SynthConfig, SynthDataset, generate, load_synth
from chronolens.errors import FormatError

CONFIG = SynthConfig(
    videos=8,
    seed=3,
    width=32,
    height=32,
    fps_choices=(4.0,),
    fps_weights=(),
    min_duration=6.0,
    max_duration=9.0,
    long_fraction=0.0,
    event_min=1.0,
    event_max=2.5,
    gap_min=0.2,
    gap_max=1.0,
)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> SynthDataset:
    return generate(tmp_path_factory.mktemp("fmt") / "d", CONFIG, progress=False)


def test_every_split_has_every_format(ds: SynthDataset) -> None:
    for split in ("train", "val", "test", "compositional"):
        assert ds.split(split), split
        for path in annotation_files(ds.root, split).values():
            assert path.is_file(), path


def test_qvhighlights_consistent(ds: SynthDataset) -> None:
    videos = {v.id: v for v in ds.videos}
    qids = set()
    for split in ("train", "val", "test", "compositional"):
        records = read_qvhighlights(annotation_files(ds.root, split)["qvhighlights"])
        assert len(records) == sum(len(v.events) for v in ds.split(split))
        for r in records:
            video = videos[r.vid]
            assert video.split == split and r.qid not in qids
            qids.add(r.qid)
            assert r.query in {e.query for e in video.events}
            for start, end in r.relevant_windows:
                assert 0 <= start < end <= r.duration
            assert list(r.relevant_clip_ids) == relevant_clip_ids(r.relevant_windows, r.duration)
            assert len(r.saliency_scores) == len(r.relevant_clip_ids) > 0
            assert all(len(s) == 3 and all(0 <= x <= 4 for x in s) for s in r.saliency_scores)
            assert max(r.relevant_clip_ids) * 2.0 < r.duration


def test_relevant_clip_ids_edges() -> None:
    assert relevant_clip_ids([(0.0, 2.0)], 10.0) == [0]  # half-open: [0, 2) is clip 0 only
    assert relevant_clip_ids([(1.9, 2.1)], 10.0) == [0, 1]
    # A partial last clip has no id (the evaluator gives a 9.9 s video int(9.9 / 2) = 4 clips).
    assert relevant_clip_ids([(8.5, 9.9)], 9.9) == []
    assert relevant_clip_ids([(7.5, 9.9)], 9.9) == [3]
    assert relevant_clip_ids([(3.0, 5.0), (4.0, 7.0)], 10.0) == [1, 2, 3]


def test_charades_lines_parse_and_match(ds: SynthDataset) -> None:
    videos = {v.id: v for v in ds.videos}
    path = annotation_files(ds.root, "train")["charades_sta"]
    for line in path.read_text().splitlines():
        assert re.fullmatch(r"\S+ \d+\.\d \d+\.\d##[^#\n]+", line), line
    for r in read_charades_sta(path):
        video = videos[r.vid]
        assert 0 <= r.start < r.end <= video.duration
        event = next(e for e in video.events if e.query == r.sentence)
        assert abs(event.start - r.start) <= 0.05 and abs(min(event.end, video.duration) - r.end) <= 0.1


def test_charades_round_trip_and_errors(tmp_path: Path) -> None:
    rec = CharadesRecord(vid="AO8RW", start=0.0, end=6.9, sentence="a person is putting a book on a shelf.")
    assert format_charades_line(rec) == "AO8RW 0.0 6.9##a person is putting a book on a shelf."
    bad = tmp_path / "bad.txt"
    bad.write_text("AO8RW 0.0 6.9##ok\nAO8RW zero 6.9##broken\n")
    with pytest.raises(FormatError, match=":2:"):
        read_charades_sta(bad)


def test_dense_captions_layout(ds: SynthDataset) -> None:
    path = annotation_files(ds.root, "train")["dense_captions"]
    raw = json.loads(path.read_text())
    assert set(raw) == {"annotations"}
    assert {"image_id", "duration", "segments", "pure_cap"} <= set(raw["annotations"][0])
    records = read_dense_captions(path)
    videos = {f"{v.id}.mp4": v for v in ds.split("train")}
    assert {r.image_id for r in records} == set(videos)
    for r in records:
        video = videos[r.image_id]
        assert list(r.sentences) == [e.caption for e in video.events]
        assert all(0 <= s < e <= r.duration for s, e in r.segments)


def test_retrieval_pairs_identify_videos(ds: SynthDataset) -> None:
    for split in ("train", "test"):
        pairs = read_retrieval_pairs(annotation_files(ds.root, split)["retrieval"])
        assert [v for v, _ in pairs] == [v.id for v in ds.split(split)]
        captions = [c for _, c in pairs]
        assert len(set(captions)) == len(captions)  # each caption names one video
        for video, caption in zip(ds.split(split), captions, strict=True):
            assert caption.startswith(video.scene_caption)


def test_timeit_answers_follow_templates(ds: SynthDataset) -> None:
    items = read_timeit(annotation_files(ds.root, "train")["timeit"])
    sources = {i["source"] for i in items}
    assert sources == {"synth_dvc", "synth_step", "synth_tvg", "synth_vhd"}
    paths = {v.path for v in ds.split("train")}
    for item in items:
        assert item["video"] in paths
        qa = item["QA"][0]  # type: ignore[index]
        if item["source"] == "synth_tvg":
            assert re.fullmatch(r"The given query happens in \d+\.\d - \d+\.\d seconds\.", qa["a"])
            assert "'" in qa["q"]
        elif item["source"] == "synth_vhd":
            assert re.fullmatch(
                r"There are \d+ highlight moments in the [\d., ]+ second\. "
                r"Their saliency scores are [\d., ]+\.",
                qa["a"],
            )
        else:
            assert re.fullmatch(r"(\d+\.\d - \d+\.\d seconds, [^.]+\. ?)+", qa["a"].replace(".  ", ". "))


def test_timeit_answer_helpers() -> None:
    assert grounding_answer(0.0, 6.94) == "The given query happens in 0.0 - 6.9 seconds."
    assert dvc_answer([(21, 22), (23.04, 24)], ["run up", "jump"]) == (
        "21.0 - 22.0 seconds, run up.  23.0 - 24.0 seconds, jump."
    )
    assert highlight_answer([41, 42], [[1, 1, 2], [2, 2, 3]]) == (
        "There are 2 highlight moments in the 82.0, 84.0 second. Their saliency scores are 1.3, 2.3."
    )


def test_timeit_reader_rejects_bad_items(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps([{"video": "a.mp4", "QA": []}]))
    with pytest.raises(FormatError, match="item 0"):
        read_timeit(bad)


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    argv = [
        "-q",
        "synth",
        str(out),
        "--videos",
        "2",
        "--seed",
        "4",
        "--min-duration",
        "3",
        "--max-duration",
        "4",
        "--split",
        "test",
        "--fps",
        "5",
        "--size",
        "32",
        "32",
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["videos"] == 2 and summary["splits"]["test"] == 2
    ds = load_synth(out)
    assert all(v.fps == 5.0 and v.split == "test" for v in ds.videos)
    capsys.readouterr()
    assert main(["synth", str(out), "--min-duration", "9", "--max-duration", "3"]) == 1  # a user error
    assert capsys.readouterr().err.startswith("chronolens: error: SynthConfig.min_duration")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("AO8RW nan 6.9##a person sits.", "must be finite"),
        ("AO8RW 0.0 inf##a person sits.", "must be finite"),
        ("AO8RW -27 -6##a person sits.", "before the start of the video"),
        ("AO8RW 8.0 3.0##a person sits.", "ends before it starts"),
    ],
)
def test_charades_impossible_spans_are_refused(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "c.txt"
    path.write_text(f"AO8RW 0.0 6.9##a person sits.\n{line}\n", encoding="utf-8")
    with pytest.raises(FormatError, match=rf"c\.txt(:2:|: record line 2:).*{message}"):
        read_charades_sta(path)


def test_charades_duplicate_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("A 0.0 6.9##x.\nB 0.0 6.9##x.\nA 0.0 6.9##x.\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"record line 3: duplicate of line 1"):
        read_charades_sta(path)


def test_qvhighlights_and_dense_caption_readers_check_spans(tmp_path: Path) -> None:
    record = {"qid": 1, "query": "q", "vid": "v", "duration": 150, "relevant_windows": [[62, 22]]}
    qvh = tmp_path / "q.jsonl"
    qvh.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"relevant_windows\[0\] = \[62, 22\] ends before it starts"):
        read_qvhighlights(qvh)
    record["relevant_windows"], record["duration"] = [[0, 10]], True
    qvh.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match="duration must be a number"):
        read_qvhighlights(qvh)
    record["duration"] = 150
    qvh.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"q\.jsonl:2: duplicate qid 1"):
        read_qvhighlights(qvh)
    dvc = tmp_path / "d.json"
    video = {"image_id": "v.mp4", "id": 0, "duration": 20.0, "segments": [[0, 1e300]], "pure_cap": "a b"}
    dvc.write_text(json.dumps({"annotations": [video]}), encoding="utf-8")
    with pytest.raises(FormatError, match=r"segments\[0\] .* ends after the video's duration 20"):
        read_dense_captions(dvc)
    video["segments"] = [[0, 10]]
    dvc.write_text(json.dumps({"annotations": [video, video]}), encoding="utf-8")
    with pytest.raises(FormatError, match="duplicate image_id"):
        read_dense_captions(dvc)
