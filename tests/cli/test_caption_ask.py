"""`chronolens caption` and `chronolens ask`: output shapes, exit codes and error messages."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from tests.tasks.test_answer_timechat import N_FRAMES, build_tiny_checkpoint

from chronolens.cli.main import main
from chronolens.tasks.answer import TimeChatSession, VideoFeatures


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("timechat-cli") / "ckpt")


@pytest.fixture
def clip(make_video: Callable[..., Path]) -> Path:
    return make_video("clip.mkv", n_frames=30, fps=10)  # 3.0 s


def _script(monkeypatch: pytest.MonkeyPatch, answer: str) -> list[list[str]]:
    """Make every session answer ``answer``; returns the instructions it was asked."""
    seen: list[list[str]] = []

    def fake(
        self: TimeChatSession, video: VideoFeatures, instructions: Sequence[str], *args: object
    ) -> list[str]:
        assert video.features.shape[0] == N_FRAMES
        seen.append(list(instructions))
        return [answer] * len(instructions)

    monkeypatch.setattr(TimeChatSession, "_generate", fake)
    return seen


def test_caption_prints_events(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(monkeypatch, "0 - 1.5 seconds, a red square appears. 1.5 - 9 seconds, it fades.")
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "0:00:00.0 - 0:00:01.5  a red square appears.",
        "0:00:01.5 - 0:00:03.0  it fades.",
    ]
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"video", "duration", "text", "events"}
    assert payload["duration"] == pytest.approx(3.0)
    assert payload["events"][1] == {"timestamp": [1.5, pytest.approx(3.0)], "caption": "it fades."}


def test_caption_without_events_prints_the_answer(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(monkeypatch, "squares everywhere")
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "squares everywhere" and "no timestamped events" in captured.err


def test_ask_with_transcript(
    checkpoint: Path,
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen = _script(monkeypatch, "A red square.")
    transcript = tmp_path / "asr.txt"
    transcript.write_text("0.0 - 1.0s: look\n")
    argv = [
        "ask",
        str(clip),
        "What appears?",
        "--checkpoint",
        str(checkpoint),
        "--transcript",
        str(transcript),
    ]
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["answer"] == "A red square." and payload["question"] == "What appears?"
    assert payload["duration"] == pytest.approx(3.0) and seen == [["What appears?"]]
    assert main(argv) == 0 and capsys.readouterr().out == "A red square.\n"


def test_real_tiny_model_through_the_cli(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["ask", str(clip), "What happens?", "--checkpoint", str(checkpoint), "--max-new-tokens", "6"])
        == 0
    )
    assert capsys.readouterr().out.endswith("\n")
    argv = ["caption", str(clip), "--checkpoint", str(checkpoint), "--max-new-tokens", "6", "--json"]
    assert main([*argv, "--parser", "timechat"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert isinstance(payload["text"], str) and isinstance(payload["events"], list)


def test_errors_exit_codes(
    checkpoint: Path, clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["caption", str(clip), "--checkpoint", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("chronolens: error: no TimeChat checkpoint directory") and err.count("\n") == 1
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 50)
    assert main(["ask", str(broken), "what?", "--checkpoint", str(checkpoint)]) == 1
    assert "cannot decode" in capsys.readouterr().err
    assert main(["ask", str(tmp_path / "nothing.mp4"), "what?", "--checkpoint", str(checkpoint)]) == 1
    assert "no such video file" in capsys.readouterr().err
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint), "--parser", "gpt"]) == 2
    assert "invalid choice: 'gpt'" in capsys.readouterr().err
    assert main(["caption", str(clip)]) == 2  # --checkpoint is required


def _short_run(root: Path, *, steps: int, tasks: list[str]) -> Path:
    """A checkpoint exported inside a run directory that records ``steps`` steps on ``tasks``."""
    model = build_tiny_checkpoint(root / "model")
    (root / "recipe.json").write_text(json.dumps({"train": {"steps": steps}, "data": {"tasks": tasks}}))
    records = [{"event": "start", "step": 0}]
    records += [{"event": "step", "step": s, "loss": 9.0 - s / 100} for s in range(20, steps + 1, 20)]
    records.append({"event": "end", "step": steps})
    (root / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return model


def test_empty_answers_explain_themselves(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(monkeypatch, "")
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint)]) == 0  # not an error
    captured = capsys.readouterr()
    assert captured.out == ""  # no empty line
    (line,) = captured.err.splitlines()
    assert line.startswith("chronolens: the model generated no text")
    assert "no training run beside it" in line and "chronolens demo --timechat" in line
    assert main(["caption", str(clip), "--checkpoint", str(checkpoint), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (
        payload["events"] == [] and payload["text"] == "" and payload["note"] == line[len("chronolens: ") :]
    )
    assert main(["ask", str(clip), "What happens?", "--checkpoint", str(checkpoint), "--json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["answer"] == "" and "generated no text" in payload["note"] and captured.err == ""
    assert main(["ask", str(clip), "What happens?", "--checkpoint", str(checkpoint)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("chronolens: the model generated no text")
    assert main(["-q", "ask", str(clip), "What happens?", "--checkpoint", str(checkpoint)]) == 0
    assert capsys.readouterr().err == ""  # -q: only errors


def test_the_note_names_the_short_training_run(
    tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    short = _short_run(tmp_path / "run", steps=100, tasks=["tvg"])
    _script(monkeypatch, "the given query happens in - - -")
    assert main(["caption", str(clip), "--checkpoint", str(short), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    note = payload["note"]
    assert payload["text"] == "the given query happens in - - -"  # the raw text comes with it
    assert note.startswith("no timestamped events in the model's answer")
    assert "trained for only 100 steps (final loss 8.00)" in note
    assert "trained on tvg only, never on dense captions (dvc)" in note
    _script(monkeypatch, "")
    assert main(["ask", str(clip), "When?", "--checkpoint", str(short), "--json"]) == 0
    note = json.loads(capsys.readouterr().out)["note"]
    assert "generated no text" in note and "trained for only 100 steps" in note and "dvc" not in note


def test_a_non_empty_answer_has_no_note(
    checkpoint: Path, clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _script(monkeypatch, "A red square.")
    assert main(["ask", str(clip), "What appears?", "--checkpoint", str(checkpoint), "--json"]) == 0
    captured = capsys.readouterr()
    assert "note" not in json.loads(captured.out) and captured.err == ""
