"""The TimeChat recipe with speech: transcripts in prompts, the transcription task trains and is scored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.data.synth.speech import espeak_available

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "timechat"
TINY = CONFIGS / "tiny-cpu.toml"
TRAIN = [
    [(0.3, "The red car drives."), (3.0, "Stir slowly.")],
    [(0.5, "Add two cups of flour.")],
    [(1.0, "Now we wait.")],
]
TEST = [[(0.4, "The red car stops."), (2.8, "Stir the flour.")]]
SMALL = [
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
    "train.steps=2",
    "train.batch_size=2",
    "train.warmup_steps=1",
    "train.checkpoint_every=2",
    "train.log_every=1",
    "train.lm_pretrain_steps=1",
    "train.lm_pretrain_batch_size=4",
    "train.ground_attn_weight=0.0",
    "train.threads=1",
    "eval.max_new_tokens=4",
    "eval.transcription_max_new_tokens=12",
    "data.tasks=['tvg', 'tvc']",
    "model.transcript=true",
]


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chronolens.data.synth.asr import render_speech_timeit

    out = tmp_path_factory.mktemp("tc-speech")
    render_speech_timeit(out, TRAIN, duration=5.0, split="train", seed=1)
    render_speech_timeit(out, TEST, duration=5.0, split="test", seed=2)
    return out


def test_synthetic_speech_items_carry_asr_and_both_tasks(speech_dir: Path) -> None:
    from chronolens.data.formats.timeit_tasks import TVC
    from chronolens.training.recipes.timechat.data import load_turns

    turns = load_turns(speech_dir / "annotations" / "timeit_train.json")
    assert sum(t.task == TVC for t in turns) == 3 and sum(t.task == "tvg" for t in turns) == 4
    first = [t for t in turns if t.video.name == "speech-train-000.mp4"]
    assert all(
        t.asr is not None and [s.text for s in t.asr] == ["The red car drives.", "Stir slowly."]
        for t in first
    )
    (tvc,) = [t for t in first if t.task == TVC]
    assert tvc.answer.startswith("Transcribed speech: 0.3 - 1.")  # the voiced start, after espeak's lead-in


def test_recipe_trains_with_transcripts_and_scores_transcription(speech_dir: Path, tmp_path: Path) -> None:
    from chronolens.training.recipes.timechat.recipe import run_timechat
    from chronolens.training.recipes.timechat.settings import load_recipe

    recipe = load_recipe(TINY, [f"data.root={speech_dir}", f"data.cache_dir={tmp_path / 'features'}", *SMALL])
    result = run_timechat(recipe, tmp_path / "run", progress=False)
    metrics = result.metrics
    assert {"timechat", "uniform-window", "random", "transcription"} <= set(metrics)
    speech = metrics["transcription"]
    assert speech["n"] == 1 and speech["wer"] >= 0 and 0 <= speech["parsed"] <= 1
    answers = json.loads((tmp_path / "run" / "eval" / "transcription_answers.json").read_text())
    assert answers[0]["reference"][0][2] == "The red car stops."
    assert json.loads((tmp_path / "run" / "eval" / "transcription_metrics.json").read_text())["n"] == 1
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert saved["transcript"] is True and saved["transcript_max_lines"] == 15
    assert result.n_train_samples == 7


def test_training_prompts_hear_the_speech_except_the_transcription_task(
    speech_dir: Path, tmp_path: Path
) -> None:
    from chronolens.models.timechat import TimeChat
    from chronolens.training.recipes.timechat.data import build_samples, encode_videos, load_turns
    from chronolens.training.recipes.timechat.settings import load_recipe
    from chronolens.training.recipes.timechat.stages import tokenizer_corpus

    recipe = load_recipe(TINY, SMALL)
    turns = load_turns(speech_dir / "annotations" / "timeit_train.json")
    features, _ = encode_videos(
        [t.video for t in turns], encoder=recipe.model.image_encoder, n_frames=4, cache_dir=tmp_path
    )
    model = TimeChat.build(recipe.model, corpus=tokenizer_corpus(turns, recipe.model))
    samples = build_samples(turns, features, config=recipe.model, tokenizer=model.tokenizer)
    for turn, sample in zip(turns, samples, strict=True):
        if turn.task == "tvc":
            assert "Transcript:" not in sample.prompt and sample.transcript is None
        else:
            assert sample.transcript is not None and sample.prompt.startswith("<video>\nTranscript:\n")
            assert sample.prompt.endswith(f"\n{turn.question}\n")
    heard = next(s for t, s in zip(turns, samples, strict=True) if t.task == "tvg")
    assert heard.transcript == "0.3 - 1.5s: The red car drives.\n3.0 - 3.8s: Stir slowly."
    ids = model.tokenizer(heard.transcript, add_special_tokens=False)["input_ids"]
    assert model.tokenizer.unk_token_id not in ids  # the tiny vocabulary holds the speech's words
