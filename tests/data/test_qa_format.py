"""QA json readers/writers (MVBench / EgoSchema style) and the synthetic benchmark's QA items."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from chronolens.data.formats.qa import QAItem, read_qa, write_qa
from chronolens.data.synth import SynthConfig, generate, plan_dataset
from chronolens.data.synth.qa import N_CANDIDATES, action_phrase, qa_file, synth_qa_items
from chronolens.data.synth.scene import SynthEvent, SynthObject
from chronolens.errors import FormatError


def _write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_read_chronolens_mvbench_and_egoschema_layouts(tmp_path: Path) -> None:
    items = read_qa(
        _write(
            tmp_path / "qa.json",
            [
                {
                    "question_id": "q1",
                    "video": "a.mp4",
                    "question": "Colour?",
                    "candidates": ["red", "blue"],
                    "answer": 1,
                },
                {
                    "video": "b.mp4",
                    "question": "Shape?",
                    "candidates": ["star", "ring"],
                    "answer": "ring",
                },  # MVBench
                {"question_id": 3, "video": "c.mp4", "question": "What?", "answers": ["two", "2"]},
            ],
        )
    )
    assert [i.question_id for i in items] == ["q1", "1", "3"]
    assert items[0].answer == 1 and items[0].answers == ("blue",) and items[0].multiple_choice
    assert items[1].answer == 1 and items[1].answers == ("ring",)
    assert not items[2].multiple_choice and items[2].answers == ("two", "2")

    ego = _write(
        tmp_path / "ego.json",
        [{"q_uid": "u1", "question": "Why?", **{f"option {i}": f"reason {i}" for i in range(5)}}],
    )
    answers = _write(tmp_path / "answers.json", {"u1": 3})
    (item,) = read_qa(ego, answers=answers)
    assert item.video == "u1" and item.candidates[3] == "reason 3" and item.answer == 3
    with pytest.raises(FormatError, match="no answer"):
        read_qa(ego)


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    item = QAItem(
        question_id="v/color/0", video="videos/v.mp4", question="Q?", candidates=("a", "b", "c"), answer=2,
        answers=("c",), type="color", extra={"duration": 3.5},
    )  # fmt: skip
    path = write_qa(tmp_path / "out.json", [item])
    assert read_qa(path) == [item]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {"video": "a", "question": "q", "candidates": ["x", "y"], "answer": 2},
            "answer index 2 outside 0..1",
        ),
        (
            {"video": "a", "question": "q", "candidates": ["x", "y"], "answer": "z"},
            "neither a candidate index",
        ),
        ({"video": "a", "question": "q", "candidates": ["x", "x"], "answer": 0}, "candidates repeat"),
        ({"video": "a", "question": "", "answer": "x"}, "question is empty"),
        ({"question": "q", "answer": "x"}, "missing 'video'"),
        ({"video": "a", "question": "q"}, "no candidates and no answer"),
    ],
)
def test_bad_records_name_the_record(tmp_path: Path, record: dict[str, object], message: str) -> None:
    path = _write(tmp_path / "bad.json", [{"video": "ok", "question": "q", "answer": "x"}, record])
    with pytest.raises(FormatError, match=rf"bad.json: record index 1: .*{message}"):
        read_qa(path)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    rec = {"question_id": "q", "video": "a", "question": "q", "answer": "x"}
    with pytest.raises(FormatError, match="duplicate question_id 'q'"):
        read_qa(_write(tmp_path / "dup.json", [rec, rec]))
    with pytest.raises(FormatError, match="no questions"):
        read_qa(_write(tmp_path / "empty.json", []))
    with pytest.raises(FormatError, match="cannot read"):
        read_qa(tmp_path / "missing.json")


def test_synth_items_have_exact_answers_the_events_determine() -> None:
    videos = plan_dataset(SynthConfig(videos=30, seed=5, split="test", long_fraction=0.0, max_duration=40.0))
    items = synth_qa_items(videos, seed=5)
    assert items == synth_qa_items(videos, seed=5)  # deterministic
    by_id = {v.path: v for v in videos}
    types = Counter(i.type for i in items)
    assert set(types) == {"color", "shape", "action", "after_cut"}
    for item in items:
        video = by_id[item.video]
        assert len(item.candidates) == len(set(item.candidates)) and 2 <= len(item.candidates) <= N_CANDIDATES
        right = item.candidates[item.answer]  # type: ignore[index]
        assert item.answers == (right,)
        if item.type in ("color", "shape"):
            phrase = item.question.split("the object that ")[1].rstrip("?")
            (event,) = [e for e in video.events if action_phrase(e.kind) == phrase]  # exactly one such event
            obj = event.objects[0]
            assert right == (obj.color if item.type == "color" else obj.shape)
        elif item.type == "action":
            words = item.question.removeprefix("What does the ").removesuffix(" do?").split(" ")
            (event,) = [e for e in video.events if any(o.combo == tuple(words) for o in e.objects)]
            assert right == action_phrase(event.kind)
            assert tuple(words) not in {d.combo for d in video.distractors}
        else:
            (cut,) = [e for e in video.events if e.kind == "scene_cut"]
            after = sorted(
                (e for e in video.events if e.kind != "scene_cut" and e.start >= cut.start),
                key=lambda e: e.start,
            )
            assert right == after[0].caption


def test_no_color_question_when_the_kind_repeats() -> None:
    videos = plan_dataset(SynthConfig(videos=1, seed=1, split="test", long_fraction=0.0))
    video = videos[0]
    obj = SynthObject(shape="circle", color="red", size="small", texture="solid", x=0.5, y=0.5, radius=0.1)
    twice = tuple(
        SynthEvent(kind="grow", start=s, end=s + 1.0, objects=(obj,), targets=((0.5, 0.5),), caption="c")
        for s in (1.0, 3.0)
    )
    import dataclasses

    items = synth_qa_items([dataclasses.replace(video, events=twice, distractors=())], seed=1)
    assert not [
        i for i in items if i.type in ("color", "shape")
    ]  # two grow events: "the object that grows" is ambiguous
    assert not [i for i in items if i.type == "action"]  # the red circle is in two events


def test_generate_writes_qa_files_per_split(tmp_path: Path) -> None:
    generate(
        tmp_path / "d",
        SynthConfig(videos=2, seed=2, split="test", long_fraction=0.0, max_duration=12.0),
        progress=False,
    )
    items = read_qa(qa_file(tmp_path / "d", "test"))
    assert all((tmp_path / "d" / i.video).is_file() for i in items)
    assert not qa_file(tmp_path / "d", "train").exists()
