"""The video's speech in TimeChat prompts: placement, times, line limits, token budget, sidecars."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import FormatError
from chronolens.models.timechat import TimeChatConfig, build_prompt, encode_text
from chronolens.models.timechat.features import VideoFeatures
from chronolens.models.timechat.transcript import (
    config_transcript_text,
    select_lines,
    transcript_line,
    transcript_text,
    video_transcript,
)
from chronolens.speech.base import Segment, Transcript
from chronolens.training.recipes.timechat.data import TimeITTurn, build_samples

from .tiny import CORPUS, QUESTION, tiny_config, tiny_model

SPEECH = (Segment(3.04, 3.75, "stir slowly."), Segment(0.317, 1.524, "the red box moves left."))


def _turn(asr: tuple[Segment, ...] | None, *, task: str = "tvg", question: str = QUESTION) -> TimeITTurn:
    return TimeITTurn(
        video=Path("v.mp4"),
        question=question,
        answer="from 1.5 to 3.0 seconds.",
        source="synth_" + task,
        task=task,
        item=0,
        asr=asr,
    )


def _features() -> dict[Path, VideoFeatures]:
    rng = np.random.default_rng(0)
    value = VideoFeatures(
        features=rng.normal(size=(8, 5, 16)).astype(np.float32),
        timestamps=np.arange(8, dtype=np.float64) * 0.5,
        duration=4.0,
    )
    return {Path("v.mp4"): value}


def test_lines_state_the_videos_clock_in_time_order() -> None:
    assert transcript_line(Segment(0.317, 1.524, "  the red\nbox. ")) == "0.3 - 1.5s: the red box."
    text = transcript_text(SPEECH, max_lines=15)
    assert text == "0.3 - 1.5s: the red box moves left.\n3.0 - 3.8s: stir slowly."
    assert transcript_text((), max_lines=15) is None
    assert transcript_text((Segment(0, 1, "  "),), max_lines=15) is None  # silence is no line
    transcript = Transcript(segments=SPEECH, model="fake")
    assert transcript_text(transcript, max_lines=15) == text


def test_at_most_max_lines_spread_evenly_over_the_video() -> None:
    assert select_lines(10, 4) == [0, 3, 6, 9]
    assert select_lines(3, 15) == [0, 1, 2]
    assert select_lines(5, 1) == [0] and select_lines(5, 0) == []
    segments = [Segment(float(i), i + 0.5, f"w{i}") for i in range(40)]
    text = transcript_text(segments, max_lines=15)
    assert text is not None
    lines = text.splitlines()
    assert len(lines) == 15
    assert lines[0].endswith("w0") and lines[-1].endswith("w39")  # first and last kept


def test_the_token_budget_drops_whole_lines() -> None:
    segments = [Segment(float(i), i + 0.5, "one two three") for i in range(6)]  # 7 words a line
    text = transcript_text(segments, max_lines=15, max_tokens=22)
    assert text is not None and len(text.splitlines()) == 3  # 3 * 7 = 21 <= 22 < 4 * 7
    assert all(line.endswith("one two three") for line in text.splitlines())  # no line is cut
    assert transcript_text(segments, max_lines=15, max_tokens=3) is None  # not one line fits
    counted = transcript_text(segments, max_lines=15, max_tokens=1, count_tokens=lambda t: t.count("\n"))
    assert counted is not None and len(counted.splitlines()) == 2


def test_config_switch_and_budget() -> None:
    off = TimeChatConfig.tiny()
    assert not off.transcript and off.transcript_max_lines == 15
    assert config_transcript_text(SPEECH, off) is None
    on = TimeChatConfig.tiny(transcript=True, max_text_tokens=40, transcript_max_tokens=256)
    assert on.transcript_token_budget == 20  # min(transcript_max_tokens, max_text_tokens // 2)
    assert (
        config_transcript_text(SPEECH, on) == "0.3 - 1.5s: the red box moves left.\n3.0 - 3.8s: stir slowly."
    )
    assert TimeChatConfig.from_dict(on.to_dict()) == on
    for field in ("transcript_max_lines", "transcript_max_tokens"):
        with pytest.raises(ValueError, match=field):
            TimeChatConfig.tiny(**{field: 0})


def test_without_speech_prompts_are_byte_identical() -> None:
    model = tiny_model()
    before = build_samples([_turn(None)], _features())[0]
    assert before.prompt == build_prompt(QUESTION) and before.transcript is None
    for config in (model.config, model.config.with_(transcript=True)):
        for asr in (None, ()):
            (sample,) = build_samples([_turn(asr)], _features(), config=config, tokenizer=model.tokenizer)
            assert sample.prompt == before.prompt and sample.transcript is None
    (off,) = build_samples([_turn(SPEECH)], _features(), config=model.config)  # speech, but switched off
    assert off.prompt == before.prompt
    ids = encode_text(model.tokenizer, off.prompt, None, max_tokens=256, frame_times=[0.0, 0.5])
    assert ids == encode_text(model.tokenizer, before.prompt, None, max_tokens=256, frame_times=[0.0, 0.5])


def test_the_transcript_sits_after_the_frame_times_and_before_the_instruction() -> None:
    from chronolens.models.timechat import TimeChat

    lines = "0.3 - 1.5s: the red box moves left.\n3.0 - 3.8s: stir slowly."
    config = tiny_config(transcript=True)
    model = TimeChat.build(config, corpus=(*CORPUS, lines))  # the recipe's vocabulary holds the speech
    (sample,) = build_samples([_turn(SPEECH)], _features(), config=config, tokenizer=model.tokenizer)
    assert sample.transcript == lines
    assert sample.prompt == f"<video>\nTranscript:\n{lines}\n{QUESTION}\n"
    ids, labels = encode_text(
        model.tokenizer, sample.prompt, sample.answer, max_tokens=256, frame_times=sample.timestamps
    )
    text = model.tokenizer.decode(ids)
    video, times, speech, question = (
        text.index("<video>"),
        text.index("the video contains 8 frames"),
        text.index("transcript:"),
        text.index("when does"),
    )
    assert video < times < speech < question
    assert f"transcript:\n{lines}\nwhen does" in text  # the tiny tokenizer lowercases
    prompt_ids, _ = encode_text(
        model.tokenizer, sample.prompt, None, max_tokens=256, frame_times=sample.timestamps
    )
    assert ids[: len(prompt_ids)] == prompt_ids
    assert (
        set(labels[: len(prompt_ids)]) == {-100} and -100 not in labels[len(prompt_ids) :]
    )  # speech is no target


def test_transcription_and_inline_asr_turns_get_no_second_transcript() -> None:
    model = tiny_model()
    config = model.config.with_(transcript=True)
    inline = (
        "Transcribed speech: 0.0 - 1.0 seconds, hi. "
        "Based on the video content and possible transcribed speech, go."
    )
    turns = [_turn(SPEECH, task="tvc"), dataclasses.replace(_turn(SPEECH, question=inline), inline_asr=True)]
    for sample, turn in zip(build_samples(turns, _features(), config=config), turns, strict=True):
        assert sample.prompt == build_prompt(turn.question) and sample.transcript is None


def test_generate_runs_with_a_transcript_prompt() -> None:
    import torch

    model = tiny_model()
    config = model.config.with_(transcript=True)
    (sample,) = build_samples([_turn(SPEECH)], _features(), config=config, tokenizer=model.tokenizer)
    feats = torch.from_numpy(sample.features)[None]
    times = torch.from_numpy(sample.timestamps).float()[None]
    (answer,) = model.generate(
        feats, times, torch.ones(1, 8, dtype=torch.bool), [sample.prompt], max_new_tokens=3
    )
    assert isinstance(answer, str)


def test_transcripts_beside_a_video(tmp_path: Path) -> None:
    video = tmp_path / "talk.mp4"
    video.write_bytes(b"")
    assert video_transcript(video) is None
    (tmp_path / "talk.srt").write_text("1\n00:00:00,500 --> 00:00:02,000\nHello there.\n")
    found = video_transcript(video)
    assert found is not None and [(s.start, s.end, s.text) for s in found.segments] == [
        (0.5, 2.0, "Hello there.")
    ]
    own = Transcript(segments=(Segment(1.0, 2.5, "From whisper."),), model="builtin:whisper-base")
    # what `chronolens transcribe --format json` writes: the video's name, then the transcript
    (tmp_path / "talk.transcript.json").write_text(json.dumps({"video": str(video), **own.to_json()}))
    found = video_transcript(video)
    assert found is not None and found.segments == own.segments  # chronolens' own JSON wins
    (tmp_path / "talk.transcript.json").write_text("{not json")
    with pytest.raises(FormatError, match=r"talk\.transcript\.json: not a chronolens transcript"):
        video_transcript(video)
