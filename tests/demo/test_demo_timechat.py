"""`chronolens demo --timechat`: the pipeline on a tiny budget, its checkpoint and its output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chronolens.cli.main import main
from chronolens.demo import timechat as demo_timechat
from chronolens.demo.timechat import (
    DEMO_RECIPE,
    STEPS_PER_MINUTE,
    TimeChatDemoConfig,
    TimeChatDemoResult,
    demo_recipe,
    run_timechat_demo,
)
from chronolens.encoders.builtin import get_builtin, is_built
from chronolens.tasks.answer import training_record

needs_builtin = pytest.mark.skipif(
    not is_built(get_builtin("synth-clip")), reason="builtin:synth-clip weights not built"
)
TINY_CPU = Path(__file__).resolve().parents[2] / "configs" / "timechat" / "tiny-cpu.toml"
# The demo's recipe shrunk to seconds (as tests/training/test_timechat_recipe.py shrinks tiny-cpu).
SMALL = (
    "model.n_frames=4",
    "model.window=2",
    "model.stride=2",
    "model.video_queries=2",
    "model.frame_queries=2",
    "model.llm_hidden=32",
    "model.llm_layers=2",
    "model.llm_intermediate=64",
    "model.qformer_hidden=32",
    "model.qformer_intermediate=64",
    "model.qformer_layers=1",
    "model.lora_r=4",
    "train.batch_size=2",
    "train.threads=1",
    "data.eval=''",  # no held-out grounding score: seconds saved
    "eval.max_new_tokens=4",
)
TINY = TimeChatDemoConfig(
    steps=3, videos=3, size=64, min_duration=8.0, max_duration=9.0, max_new_tokens=6, overrides=SMALL
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[TimeChatDemoResult, list[str]]:
    """One tiny demo run (3 steps on 3 videos) shared by the tests that read it."""
    stages: list[str] = []
    out = tmp_path_factory.mktemp("demo-timechat") / "tc"
    return run_timechat_demo(out, config=TINY, progress=False, on_stage=stages.append), stages


def test_the_recipe_is_tiny_cpu_at_the_demos_scale(tmp_path: Path) -> None:
    from chronolens.training.recipes.timechat.settings import load_recipe

    shipped = load_recipe(TINY_CPU, [f"data.root={tmp_path}"])
    demo = demo_recipe(tmp_path, tmp_path / "features", TimeChatDemoConfig())
    scaled = {"n_frames", "max_text_tokens"}  # fewer frames: a shorter prompt
    for name, value in demo.model.to_dict().items():
        if name not in scaled:
            assert value == shipped.model.to_dict()[name], name
    for key in DEMO_RECIPE:
        section, name = key.split("=")[0].split(".")
        if section == "train" and name not in {"lr", "warmup_steps"}:  # a short run takes bigger steps
            assert getattr(demo.train, name) == getattr(shipped.train, name), name
    assert demo.data.tasks == ("tvg", "dvc")  # caption has something to say too
    assert demo.train.steps == 3 * STEPS_PER_MINUTE
    assert TimeChatDemoConfig(minutes=0.5).train_steps == STEPS_PER_MINUTE // 2
    with pytest.raises(ValueError, match="minutes"):
        TimeChatDemoConfig(minutes=0)


@needs_builtin
def test_the_pipeline_trains_a_checkpoint_caption_and_ask_load(
    tiny_run: tuple[TimeChatDemoResult, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    result, stages = tiny_run
    assert result.steps == 3 and (result.model_dir / "config.json").is_file()
    assert result.model_dir.parent.name == "run" and result.video.is_file()
    assert result.n_train_videos >= 1 and result.true_events
    record = training_record(result.model_dir)
    assert record is not None and record.steps == 3 and record.tasks == ("tvg", "dvc")
    assert stages[0].startswith("rendering 3 synthetic videos")
    assert any(s.startswith("training the tiny TimeChat recipe: 3 steps") for s in stages)
    assert any("step 3/3" in s for s in stages)  # loss lines on any stderr
    assert "3 steps" in result.honesty and "it knows only that world" in result.honesty
    # 3 steps teach nothing: whatever the caption is, an answer without events says why
    if not result.caption.events:
        assert result.caption.note is not None and "trained for only 3 steps" in result.caption.note
    # the checkpoint is the one `chronolens caption/ask --checkpoint` take
    argv = ["caption", str(result.video), "--checkpoint", str(result.model_dir), "--max-new-tokens", "4"]
    assert main([*argv, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["duration"] == pytest.approx(result.duration, abs=0.2)
    if not payload["events"]:
        assert "trained for only 3 steps" in payload["note"]
    argv = ["ask", str(result.video), result.question, "--checkpoint", str(result.model_dir), "--json"]
    assert main([*argv, "--max-new-tokens", "4"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["question"] == result.question
    assert ("note" in payload) == (payload["answer"] == "")
    assert (
        result.commands[0].startswith("chronolens caption ") and str(result.model_dir) in result.commands[1]
    )


@needs_builtin
def test_the_cli_prints_the_outputs_and_the_commands(
    tiny_run: tuple[TimeChatDemoResult, list[str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result, _ = tiny_run
    seen: list[Any] = []

    def fake(out: Path, *, config: TimeChatDemoConfig, **kwargs: Any) -> TimeChatDemoResult:
        seen.append((out, config))
        return result

    monkeypatch.setattr(demo_timechat, "run_timechat_demo", fake)
    assert main(["demo", "--timechat", "--out", str(tmp_path), "--minutes", "0.5", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    ((where, config),) = seen
    assert where == tmp_path / "timechat" and config.train_steps == STEPS_PER_MINUTE // 2 and config.seed == 3
    assert "it knows only that world" in out.replace("\n", " ")
    assert "chronolens caption:" in out and "chronolens ask:" in out and "true events:" in out
    assert result.commands[0] in out and result.commands[1] in out
    assert main(["demo", "--timechat", "--out", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["model_dir"] == str(result.model_dir) and payload["steps"] == 3
    assert set(payload["caption"]) >= {"text", "events"} and payload["commands"] == result.commands
    assert main(["demo", "--minutes", "2"]) == 2  # --minutes belongs to --timechat
    assert "--timechat" in capsys.readouterr().err
    assert main(["demo", "some/folder", "--timechat"]) == 2
