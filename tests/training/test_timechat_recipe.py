"""The TimeChat recipe: recipe files and overrides, and `chronolens train timechat` end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from chronolens.errors import FormatError
from chronolens.training.config import parse_override
from chronolens.training.recipes.timechat.settings import SECTIONS, load_recipe

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "timechat"
TINY = CONFIGS / "tiny-cpu.toml"
# Shrinks the shipped CPU recipe to a few seconds on the test dataset.
SMALL = [
    "model.n_frames=4",
    "model.window=2",
    "model.stride=2",
    "model.video_queries=2",
    "model.frame_queries=2",
    "model.llm_hidden=32",
    "model.llm_layers=2",  # the recipe supervises a head of layer 1
    "model.llm_intermediate=64",
    "model.qformer_hidden=32",
    "model.qformer_intermediate=64",
    "model.qformer_layers=1",
    "model.lora_r=4",
    "train.batch_size=2",
    "train.grad_accum=2",
    "train.warmup_steps=1",
    "train.checkpoint_every=2",
    "train.log_every=1",
    "train.lm_pretrain_steps=2",
    "train.lm_pretrain_batch_size=4",
    "train.threads=1",
    "data.max_eval_queries=3",
    "eval.max_new_tokens=6",
]


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chronolens.data.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("tc-recipe-synth")
    config = SynthConfig(
        videos=4,
        seed=7,
        width=64,
        height=64,
        min_duration=6.0,
        max_duration=8.0,
        long_fraction=0.0,
        split_fractions=(0.5, 0.0, 0.5, 0.0),
    )
    generate(out, config, progress=False)
    return out


def test_shipped_recipes_load() -> None:
    tiny = load_recipe(TINY)
    assert (
        tiny.preset == "tiny"
        and tiny.model.llm == "tiny"
        and tiny.model.image_encoder == "builtin:synth-clip"
    )
    assert tiny.model.n_video_tokens(tiny.model.n_frames) == 32  # Nv per S frames, as in the paper
    assert tiny.data.tasks == ("tvg",)
    paper = load_recipe(CONFIGS / "paper-gpu.toml")
    model = paper.model
    assert (model.n_frames, model.window, model.stride, model.video_queries) == (96, 32, 32, 32)
    assert model.n_video_tokens(96) == 96
    assert paper.train.grad_accum * paper.train.batch_size == 32


def test_overrides_are_typed() -> None:
    assert parse_override("train.steps=200", SECTIONS) == ("train", "steps", 200)
    assert parse_override("model.sliding=false", SECTIONS) == ("model", "sliding", False)
    assert parse_override("data.tasks=['tvg', 'dvc']", SECTIONS) == ("data", "tasks", ["tvg", "dvc"])
    # a value that is not TOML is a string
    assert parse_override("data.root=/tmp/x y", SECTIONS) == ("data", "root", "/tmp/x y")
    recipe = load_recipe(
        TINY, ["train.lr=0.01", "train.lr=2", "model.lora_targets=['q_proj']", "data.tasks=[]"]
    )
    # an int is accepted for a float and the last override wins
    assert recipe.train.lr == 2.0 and isinstance(recipe.train.lr, float)
    assert recipe.model.lora_targets == ("q_proj",)
    assert recipe.data.tasks == ()


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", r"unknown setting train.stepz \(did you mean 'steps'\?\)"),
        ("trian.steps=3", r"unknown section 'trian' \(did you mean 'train'\?\)"),
        ("train.steps=three", "train.steps: expected an integer"),
        ("train.steps=1.5", "train.steps: expected an integer"),
        ("model.sliding=1", "model.sliding: expected true or false"),
        ("train.precision='fp16'", "train.precision must be one of"),
        ("train.word_init='glove'", "train.word_init must be one of random, image-text"),
        ("train.align_weight=-1.0", "train.align_weight must be >= 0"),
        ("model.stride=64", "stride"),
        ("steps=3", "must be section.key"),
        ("train.steps", "expected section.key=value"),
    ],
)
def test_bad_overrides_are_clear_errors(override: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        load_recipe(TINY, [override])


def test_unknown_key_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text("[train]\nstep = 3\n")
    with pytest.raises(FormatError, match=r"r.toml: unknown setting train.step \(did you mean 'steps'\?\)"):
        load_recipe(path)


def _train(synth: Path, out: Path, *extra: str) -> int:
    from chronolens.cli.main import main

    return main(
        [
            "train",
            "timechat",
            "--config",
            str(TINY),
            f"data.root={synth}",
            f"data.cache_dir={out.parent / 'features'}",
            *SMALL,
            *extra,
            "--out",
            str(out),
            "--no-progress",
            "--json",
        ]
    )


def test_cli_trains_checkpoints_evaluates_and_resumes(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors import safe_open

    out = tmp_path / "run"
    # the paper's route for the tiny LLM: a text-only LM stage, then the base is frozen and LoRA trains
    assert _train(synth_dir, out, "train.steps=2", "train.llm_mode='lora'") == 0
    summary = json.loads(capsys.readouterr().out)
    ckpt = out / "checkpoints" / "step-00000002"
    assert (ckpt / "model.safetensors").is_file()
    with safe_open(str(ckpt / "model.safetensors"), "pt") as fh:
        names = set(fh.keys())
    assert names and all("image" not in n for n in names)  # trained weights only, no frozen tower
    assert any("lora_" in n for n in names)
    assert not [n for n in names if n.startswith("llm.") and "lora_" not in n]  # LLM base stays frozen
    assert any(n.startswith("frame_encoder.") for n in names) and any("video_qformer" in n for n in names)
    assert (out / "lm-pretrain" / "checkpoints" / "step-00000002").is_dir()
    assert (out / "model" / "config.json").is_file()
    metrics = summary["metrics"]
    assert set(metrics) == {"timechat", "uniform-window", "random"}
    test_items = json.loads((synth_dir / "annotations" / "timeit_test.json").read_text())
    n_queries = min(3, sum(item["source"] == "synth_tvg" for item in test_items))
    assert metrics["timechat"]["n"] == metrics["uniform-window"]["n"] == n_queries > 0
    answers = json.loads((out / "eval" / "grounding_answers.json").read_text())
    assert len(answers) == n_queries and all("generated_cap" in a for a in answers)
    assert all(a["span"] is None or 0 <= a["span"][0] <= a["span"][1] <= a["duration"] for a in answers)
    assert summary["tokens_per_s"] > 0
    from chronolens.metrics.grounding import evaluate_files

    rescored = evaluate_files(out / "eval" / "grounding_answers.json", out / "eval" / "grounding_gt.json")
    assert rescored == metrics["timechat"]  # the written files reproduce the run's score

    assert _train(synth_dir, out, "train.steps=4", "train.llm_mode='lora'", "--resume") == 0
    capsys.readouterr()
    starts = [
        json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines() if '"start"' in line
    ]
    assert [s["step"] for s in starts] == [0, 2]  # the second run continued from step 2
    assert (out / "checkpoints" / "step-00000004").is_dir()


def test_image_text_start_trains_and_logs_the_alignment_loss(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    out = tmp_path / "run"
    extra = [
        "train.steps=2",
        "train.word_init='image-text'",
        "train.align_weight=0.5",
        "train.lm_pretrain_steps=0",
    ]
    args = ["-v", "train", "timechat", "--config", str(TINY), f"data.root={synth_dir}", *SMALL, *extra]
    assert main([*args, f"data.cache_dir={tmp_path / 'features'}", "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "vocabulary rows from builtin:synth-clip's text tower" in err
    steps = [line for line in err.splitlines() if "main step" in line]
    assert steps and all("(alignment " in line for line in steps)
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["train"]["word_init"] == "image-text" and recipe["train"]["align_weight"] == 0.5
    # the LLM width (32) differs from the tower's embedding width (128): space_map bridges them
    assert recipe["model"]["llm_hidden"] == 32


def test_grounding_attention_and_time_digits_train_and_log_their_losses(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    out = tmp_path / "run"
    extra = ["train.steps=3", "train.log_every=1", "train.ground_attn_weight=1.0", "model.llm_layers=2"]
    extra += ["train.ground_attn_target=boundaries", "train.time_digits_weight=0.5"]
    args = ["-v", "train", "timechat", "--config", str(TINY), f"data.root={synth_dir}", *SMALL, *extra]
    assert main([*args, f"data.cache_dir={tmp_path / 'features'}", "--out", str(out), "--no-progress"]) == 0
    steps = [line for line in capsys.readouterr().err.splitlines() if "main step" in line]
    assert len(steps) == 3
    for name in ("grounding attention", "time digits"):
        values = [re.search(rf"{name} ([0-9.]+)", line) for line in steps]
        assert all(v is not None and float(v.group(1)) > 0 for v in values), name
    recipe = json.loads((out / "recipe.json").read_text())["train"]
    assert recipe["ground_attn_target"] == "boundaries" and recipe["time_digits_weight"] == 0.5
    # an unknown target is refused by name
    wrong = [*args, "train.ground_attn_target=ends", f"data.cache_dir={tmp_path / 'features'}"]
    assert main([*wrong, "--out", str(tmp_path / "wrong"), "--no-progress"]) == 1
    assert "train.ground_attn_target must be one of span, boundaries" in capsys.readouterr().err
    # a layer the LLM does not have is a clear error, before training starts
    bad = [*args, "train.ground_attn_layer=9", f"data.cache_dir={tmp_path / 'features'}"]
    assert main([*bad, "--out", str(tmp_path / "bad"), "--no-progress"]) == 1
    assert "train.ground_attn_layer = 9, but the LLM has" in capsys.readouterr().err


def test_word_init_is_refused_for_a_real_llm_before_anything_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    out = tmp_path / "o"
    args = ["train", "timechat", "--config", str(TINY), "model.llm=/no/such/llm", "train.llm_mode=lora"]
    assert main([*args, "train.word_init=image-text", "--out", str(out)]) == 1
    assert "train.word_init = 'image-text' is for the tiny LLM" in capsys.readouterr().err
    assert not out.exists()


def test_cli_unknown_config_key_exits_with_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    code = main(["train", "timechat", "--config", str(TINY), "train.lr_max=1", "--out", str(tmp_path / "o")])
    assert code == 1
    err = capsys.readouterr().err
    assert "unknown setting train.lr_max" in err
    assert not (tmp_path / "o").exists()


def test_crop_augmentation_shifts_frames_and_answers_together(synth_dir: Path, tmp_path: Path) -> None:
    import torch

    from chronolens.models.timechat import TimeChat, frame_times_text
    from chronolens.models.timechat.prompting import IGNORE_INDEX
    from chronolens.timebase.text import parse_span
    from chronolens.training.recipes.timechat.data import build_samples, encode_videos, load_turns
    from chronolens.training.recipes.timechat.stages import grounding_span, tokenizer_corpus
    from chronolens.training.recipes.timechat.tasks import TimeChatTask, shift_span_text

    assert shift_span_text("The given query happens in 4.1 - 6.2 seconds.", -1.5) == (
        "The given query happens in 2.6 - 4.7 seconds."
    )
    recipe = load_recipe(TINY, [*SMALL, "model.n_frames=8", "train.crop_prob=1.0", "train.batch_size=4"])
    turns = load_turns(synth_dir / "annotations" / "timeit_train.json", tasks=("tvg",))
    features, _ = encode_videos(
        [t.video for t in turns], encoder=recipe.model.image_encoder, n_frames=8, cache_dir=tmp_path
    )
    model = TimeChat.build(recipe.model, corpus=tokenizer_corpus(turns, recipe.model))
    task = TimeChatTask(
        model,
        build_samples(turns, features),
        recipe.train,
        device=torch.device("cpu"),
        autocast=None,
        spans=[grounding_span(t) for t in turns],
    )
    batch = task.make_batch(0, 0, torch.Generator().manual_seed(3))
    assert batch.input_ids.shape[0] == 4
    for row in range(4):
        video = int(batch.video_index[row])
        times = batch.timestamps[video][batch.frame_mask[video]]
        answer = model.tokenizer.decode(batch.labels[row][batch.labels[row] != IGNORE_INDEX][:-1])
        span = parse_span(answer)
        assert span is not None and times.min() >= 0
        # the crop starts at 0 s and the shifted span lies inside the cropped frames' range
        assert span.start >= 0 and span.end <= float(times.max()) + 3.0
        # the prompt's frame-times message states the (shifted) times of the frames the row sees
        text = model.tokenizer.decode(batch.input_ids[row][batch.attention_mask[row].bool()])
        assert frame_times_text(times.tolist()).lower() in text  # the tiny tokenizer lowercases
    assert torch.isfinite(task.loss(batch))


def test_a_compressor_other_than_the_qformer_refuses_the_token_losses() -> None:
    with pytest.raises(FormatError, match=r"train.align_weight=0 train.time_digits_weight=0"):
        load_recipe(
            None, ["model.compressor=perceiver", "train.align_weight=0.5", "train.time_digits_weight=1"]
        )
    recipe = load_recipe(None, ["model.compressor=perceiver", "train.align_weight=0"])
    assert recipe.model.compressor == "perceiver"
    assert load_recipe(None, ["train.align_weight=0.5"]).model.compressor == "qformer"  # the default
