"""ASR in TimeIT data: the "asr" field's forms, TimeIT's inline form, transcription answers, the loader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from chronolens.data.formats.timeit import (
    ASR_FIELD,
    INSTRUCTIONS,
    item_asr,
    parse_asr,
    parse_transcription_answer,
    read_timeit,
    split_inline_asr,
    transcription_answer,
)
from chronolens.data.formats.timeit_tasks import TVC, task_of
from chronolens.errors import FormatError
from chronolens.speech.base import Segment
from chronolens.training.recipes.timechat.data import load_turns

INLINE = (
    "Transcribed speech: 0.0 - 2.5 seconds, add the flour. 3.1 - 4.0 seconds, stir it. "
    "Based on the video content and possible transcribed speech, Find every event."
)


def test_asr_objects_and_strings_read_alike() -> None:
    objects = [
        {"start": 3, "end": 4.5, "text": "stir it"},
        {"start": 0.0, "end": 2.5, "text": " add the flour "},
    ]
    strings = ["0.0 - 2.5: add the flour", "3 - 4.5s: stir it"]
    expected = (Segment(0.0, 2.5, "add the flour"), Segment(3.0, 4.5, "stir it"))
    assert parse_asr(objects, where="x") == expected  # sorted by time
    assert parse_asr(strings, where="x") == expected
    assert parse_asr("0.0 - 2.5 seconds, add the flour\n\n3 - 4.5 seconds: stir it\n", where="x") == expected
    assert parse_asr([], where="x") == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"start": 0}, "must be a list"),
        ([{"start": 0, "text": "hi"}], "entry 0 is not"),
        ([{"start": "0", "end": 1, "text": "hi"}], "entry 0 is not"),
        (["0.0 - 2.5: ok", "at two seconds: hello"], "entry 1 is not"),
        ([{"start": 2.0, "end": 1.0, "text": "hi"}], r"entry 0 has times 2.0 - 1.0"),
        ([{"start": float("nan"), "end": 1.0, "text": "hi"}], "entry 0 has times"),
        ([7], "entry 0 is not"),
    ],
)
def test_malformed_asr_is_a_format_error_naming_the_record(
    tmp_path: Path, value: object, message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        parse_asr(value, where="x")
    path = tmp_path / "data.json"
    good = {"video": "a.mp4", "QA": [{"q": "q", "a": "a"}]}
    path.write_text(json.dumps([good, {**good, "video": "b.mp4", ASR_FIELD: value}]))
    with pytest.raises(FormatError, match=rf"data.json: item 1 \(b.mp4\): 'asr' .*{message}"):
        read_timeit(path)


def test_timeits_inline_asr() -> None:
    segments, question = split_inline_asr(INLINE) or ((), "")
    assert question == "Find every event."
    assert segments == (Segment(0.0, 2.5, "add the flour."), Segment(3.1, 4.0, "stir it."))
    none = "Transcribed speech: None. Based on the video content and possible transcribed speech, Go."
    assert split_inline_asr(none) == ((), "Go.")
    assert split_inline_asr("Find every event.") is None
    item = {"video": "v.mp4", "QA": [{"q": INLINE, "a": "x"}]}
    assert item_asr(item, where="w") == segments
    assert item_asr({**item, ASR_FIELD: ["1 - 2: other"]}, where="w") == (Segment(1.0, 2.0, "other"),)
    assert item_asr({"video": "v.mp4", "QA": [{"q": "q", "a": "a"}]}, where="w") is None


def test_transcription_answers_in_timeits_form_round_trip() -> None:
    segments = [Segment(0.317, 1.524, "The red car drives"), Segment(3.0, 3.75, "Stir slowly.")]
    answer = transcription_answer(segments)
    # TimeChat process_tsg_data.py: "{s:.1f} - {e:.1f} seconds, {caption}" with a closing period
    assert (
        answer == "Transcribed speech: 0.3 - 1.5 seconds, The red car drives. 3.0 - 3.8 seconds, Stir slowly."
    )
    assert parse_transcription_answer(answer) == [
        Segment(0.3, 1.5, "The red car drives."),
        Segment(3.0, 3.8, "Stir slowly."),
    ]
    assert transcription_answer([]) == "Transcribed speech: None."
    assert parse_transcription_answer("Transcribed speech: None.") == []
    assert parse_transcription_answer("0 - 9 seconds, hello.", duration=5.0) == [Segment(0.0, 5.0, "hello.")]
    assert INSTRUCTIONS[TVC]


def test_transcription_sources_name_the_task() -> None:
    assert task_of("yttemporal") == TVC  # TimeIT's transcribed_speech_generation/yttemporal
    assert task_of("instruct_tsg_31.6k_yttemporal") == TVC
    assert task_of("synth_tvc") == TVC
    assert task_of("Charades") == "tvg" and task_of("YouCook2") == "dvc"  # unchanged


def test_the_loader_reads_asr_and_sidecars(tmp_path: Path, make_video: Callable[..., Path]) -> None:
    make_video("a.mkv", n_frames=10, fps=10)
    make_video("b.mkv", n_frames=10, fps=10)
    make_video("c.mkv", n_frames=10, fps=10)
    (tmp_path / "b.srt").write_text("1\n00:00:00,200 --> 00:00:00,900\nFrom the sidecar.\n")
    (tmp_path / "c.srt").write_text("1\n00:00:00,200 --> 00:00:00,900\nIgnored: the json has ASR.\n")
    items = [
        {"video": "a.mkv", "QA": [{"q": "q1", "a": "a1"}, {"q": "q2", "a": "a2"}], "source": "synth_tvg"},
        {"video": "b.mkv", "QA": [{"q": "q", "a": "a"}], "source": "synth_tvg"},
        {"video": "c.mkv", "QA": [{"q": INLINE, "a": "a"}], "source": "synth_dvc"},
        {"video": "a.mkv", "QA": [{"q": "q", "a": "a"}], "source": "synth_tvc", ASR_FIELD: ["0 - 0.5: hi"]},
    ]
    path = tmp_path / "data.json"
    path.write_text(json.dumps(items))
    plain = load_turns(path)
    assert [t.asr for t in plain][:3] == [None, None, None]  # no sidecars unless asked
    assert plain[3].inline_asr and plain[3].asr == (
        Segment(0.0, 2.5, "add the flour."),
        Segment(3.1, 4.0, "stir it."),
    )
    assert plain[4].task == TVC and plain[4].asr == (Segment(0.0, 0.5, "hi"),)
    heard = load_turns(path, speech=True)
    assert heard[0].asr is None and heard[1].asr is None  # a.mkv has no transcript beside it
    assert heard[2].asr == (Segment(0.2, 0.9, "From the sidecar."),)
    assert heard[3].asr == plain[3].asr  # the json's ASR wins over a sidecar
    (tmp_path / "b.srt").write_text("1\nno times here\nx\n")
    with pytest.raises(FormatError, match=r"data.json: item 1: .*b.srt"):
        load_turns(path, speech=True)
