"""Multiple choice: likelihood on a tiny TimeChat, parsed generation, the encoder fallback, the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video
from tests.tasks.test_answer_timechat import Scripted, build_tiny_checkpoint

from chronolens.cli.main import main
from chronolens.errors import ChronolensError
from chronolens.tasks.answer import TimeChatSession, encoder_choice, parse_choice, parse_choices_text
from chronolens.tasks.answer.choices import choice_prompt, score_candidates
from chronolens.tasks.video import VideoEmbeddings
from chronolens.video import FixedFps

CANDIDATES = ["a red square appears.", "a blue circle moves.", "seconds"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("timechat-choices") / "ckpt")


@pytest.fixture
def clip(make_video: Callable[..., Path]) -> Path:
    return make_video("clip.mkv", n_frames=40, fps=10)  # 4.0 s


def test_scores_are_mean_token_log_likelihoods(checkpoint: Path, clip: Path) -> None:
    import torch

    from chronolens.models.timechat.prompting import TimeChatSample, build_prompt, collate

    session = TimeChatSession(checkpoint)
    video = session.sample(clip)
    question = "describe the video."
    scores = score_candidates(session.model, video, question, CANDIDATES)
    assert len(scores) == 3 and all(s < 0 for s in scores)
    for candidate, score in zip(CANDIDATES, scores, strict=True):
        # alone (no padding): the training loss is the mean cross-entropy over the answer tokens + eos
        sample = TimeChatSample(
            features=video.features, timestamps=video.timestamps, prompt=build_prompt(question),
            answer=candidate, video="v", duration=video.duration,
        )  # fmt: skip
        batch = collate([sample], session.model.tokenizer, session.model.config)
        with torch.inference_mode():
            loss = session.model(batch).loss
        assert loss is not None and score == pytest.approx(-float(loss), abs=1e-4)

    answer = session.choose(video, question, CANDIDATES)
    assert answer.method == "likelihood" and answer.scores == pytest.approx(tuple(scores))
    assert answer.choice == int(np.argmax(scores)) and answer.parsed
    data = answer.to_json()
    assert data["answer"] == CANDIDATES[answer.choice] and "per answer token" in data["normalisation"]


def test_generate_method_parses_or_reports(checkpoint: Path, clip: Path) -> None:
    gen = Scripted("(B)")
    session = TimeChatSession(checkpoint, generate_fn=gen)
    answer = session.choose(clip, "What moves?", ["red square", "blue circle"], method="generate")
    assert answer.choice == 1 and answer.text == "(B)"
    ((_, instructions, _),) = gen.calls
    assert instructions == [choice_prompt("What moves?", ["red square", "blue circle"])]
    assert "(A) red square\n(B) blue circle" in instructions[0]

    unparsed = TimeChatSession(checkpoint, generate_fn=Scripted("something else entirely"))
    answer = unparsed.choose(clip, "What moves?", ["red square", "blue circle"], method="generate")
    assert answer.choice is None and not answer.parsed and answer.answer is None
    assert answer.to_json()["parsed"] is False and answer.to_json()["text"] == "something else entirely"
    with pytest.raises(ChronolensError, match="at least two"):
        unparsed.choose(clip, "What moves?", ["only one"])
    with pytest.raises(ChronolensError, match="unknown multiple-choice method"):
        unparsed.choose(clip, "What moves?", ["a", "b"], method="vote")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("B", 1), ("(c)", 2), ("C. blue", 2), ("Option A", 0), ("Answer: (B)", 1),
        ("red", 0), ("dark red", 1), ("A red circle", 0),  # "A" here is a word, the text names red
        ("the answer is blue", 2), ("red or blue", None), ("", None), ("purple", None),
    ],
)  # fmt: skip
def test_parse_choice(text: str, expected: int | None) -> None:
    assert parse_choice(text, ["red", "dark red", "blue"]) == expected


def test_parse_choices_text() -> None:
    assert parse_choices_text(" red | blue ||green") == ["red", "blue", "green"]
    with pytest.raises(ChronolensError, match="given twice"):
        parse_choices_text("red|Red")


def test_encoder_choice_scores_candidates_against_frames(tmp_path: Path) -> None:
    video = segment_video(tmp_path / "v.mkv", [("blue", 1.0), ("red", 1.0)], fps=10)
    from chronolens.ingest import embed_file

    encoder = ColorHistEncoder()
    emb, ts, duration = embed_file(video, encoder=encoder, sampling=FixedFps(fps=10))
    source = VideoEmbeddings(
        path=str(video), embeddings=emb, timestamps=ts, duration=duration, encoder=encoder
    )
    answer = encoder_choice(source, "What colour is shown?", ["green", "red"])
    assert answer.choice == 1 and answer.method == "encoder" and answer.scores[1] > answer.scores[0]


def test_cli_ask_choices(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["ask", str(clip), "describe the video.", "--checkpoint", str(checkpoint)]
    assert main([*argv, "--choices", "|".join(CANDIDATES), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "likelihood" and data["answer"] in CANDIDATES and len(data["scores"]) == 3
    assert main([*argv, "--choices", "|".join(CANDIDATES)]) == 0
    assert capsys.readouterr().out.strip() == data["answer"]
    assert main([*argv, "--choices", "only one"]) == 1
    assert "at least two candidates" in capsys.readouterr().err
    assert main(["ask", str(clip), "what?"]) == 2  # free text needs a checkpoint
    assert "--checkpoint" in capsys.readouterr().err
    video = segment_video(tmp_path / "r.mkv", [("red", 1.0)], fps=10)
    assert (
        main(["ask", str(video), "colour?", "--choices", "blue|red", "--model", "testcolor:x", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["answer"] == "red"
