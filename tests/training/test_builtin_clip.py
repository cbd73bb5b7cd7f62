"""The builtin-clip recipe end to end on a tiny rendered synthetic dataset with a tiny model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from chronolens.models.synth_clip import SynthClipConfig
from chronolens.training.recipes.synth_clip.data import build_frame_bank, frame_texts, hard_negative_captions
from chronolens.training.recipes.synth_clip.recipe import BuiltinClipConfig, ClipPairTask, run_builtin_clip


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chronolens.data.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth")
    config = SynthConfig(
        videos=10,
        seed=3,
        width=64,
        height=64,
        min_duration=6.0,
        max_duration=8.0,
        long_fraction=0.0,
        formats=False,
        split_fractions=(0.6, 0.4, 0.0, 0.0),
    )
    generate(out, config, progress=False)
    return out


def _tiny(**kw: object) -> BuiltinClipConfig:
    base: dict[str, object] = dict(
        model=SynthClipConfig.tiny(),
        steps=3,
        batch_size=8,
        warmup_steps=1,
        checkpoint_every=2,
        progress=False,
        threads=1,
    )
    base.update(kw)
    return BuiltinClipConfig(**base)  # type: ignore[arg-type]


def test_frame_texts_follow_the_event_windows(synth_dir: Path) -> None:
    from chronolens.data.synth import load_synth

    video = next(v for v in load_synth(synth_dir).split("train") if v.events)
    event = video.events[0]
    inside = frame_texts(video, (event.start + event.end) / 2)
    assert (event.caption, *event.paraphrases) in inside.events
    assert event.caption in inside.valid and video.caption in inside.valid
    before = frame_texts(video, max(0.0, event.start - 1e-3))
    assert all(texts[0] != event.caption for texts in before.events) or event.start == 0.0
    assert event.caption not in frame_texts(video, event.end).valid or any(
        e.caption == event.caption and e.start <= event.end < e.end for e in video.events
    )


def test_batches_are_deterministic_and_positives_are_true(synth_dir: Path) -> None:
    from chronolens.data.synth import load_synth
    from chronolens.models.synth_clip import build_clip_model, build_tokenizer

    config = _tiny()
    bank = build_frame_bank(load_synth(synth_dir), "train", fps=1.0, size=config.model.image_size)
    assert bank.images.shape[1:] == (16, 16, 3)
    corpus = sorted({t for texts in bank.texts for t in texts.valid})
    tok = build_tokenizer(corpus, max_length=config.model.max_text_len)
    task = ClipPairTask(build_clip_model(config.model, len(tok)), tok, bank, config)
    a = task.make_batch(5, 0, torch.Generator().manual_seed(11))
    b = task.make_batch(5, 0, torch.Generator().manual_seed(11))
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.pixel_values, b.pixel_values)
    assert a.pixel_values.shape == (8, 3, 16, 16)
    assert bool(a.positives.diagonal().all())
    assert (a.input_ids == tok.eos_token_id).sum(dim=1).tolist() == [1] * 8  # one EOS per row
    loss = task.loss(a)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_grouped_batches_take_distinct_frames_of_few_videos(synth_dir: Path) -> None:
    from chronolens.data.synth import load_synth
    from chronolens.models.synth_clip import build_clip_model, build_tokenizer

    config = _tiny(frames_per_video=4, event_frame_fraction=0.5)
    bank = build_frame_bank(load_synth(synth_dir), "train", fps=1.0, size=config.model.image_size)
    corpus = sorted({t for texts in bank.texts for t in texts.valid})
    tok = build_tokenizer(corpus, max_length=config.model.max_text_len)
    task = ClipPairTask(build_clip_model(config.model, len(tok)), tok, bank, config)
    generator = torch.Generator().manual_seed(5)
    event = set(bank.event_frames.tolist())
    for _ in range(5):
        rows = task._grouped_indices(generator)
        assert len(rows) == 8 and len(set(rows)) == 8  # no frame twice
        videos = bank.video_index[rows].tolist()
        assert videos[:4] == [videos[0]] * 4 and videos[4:] == [videos[4]] * 4 and videos[0] != videos[4]
        for group in (rows[:4], rows[4:]):
            frames = np.flatnonzero(bank.video_index == bank.video_index[group[0]])
            n_event = sum(int(i) in event for i in frames)
            n_idle = len(frames) - n_event
            # 2 event + 2 idle frames; a video short of one kind gives more of the other
            expected = min(4 - min(2, n_idle), n_event) if n_event >= 2 else n_event
            assert sum(i in event for i in group) == expected
    batch = task.make_batch(0, 0, generator)
    assert batch.pixel_values.shape[0] == 8 and bool(batch.positives.diagonal().all())
    assert torch.isfinite(task.loss(batch))


def test_hard_negatives_swap_one_visible_attribute(synth_dir: Path) -> None:
    from chronolens.data.synth import load_synth
    from chronolens.data.synth.grammar import all_paraphrases, canonical_caption

    videos = [v for v in load_synth(synth_dir).split("train") if any(e.objects for e in v.events)]
    checked = 0
    for video in videos:
        for event in video.events:
            negatives = hard_negative_captions(event, video, np.random.default_rng(0))
            assert negatives == hard_negative_captions(event, video, np.random.default_rng(0))
            if not event.objects:
                assert negatives == ()
                continue
            true = {canonical_caption(event), *all_paraphrases(event)}
            assert negatives and not set(negatives) & true  # never a way of saying the event
            checked += 1
    assert checked >= 3


def test_hard_negative_texts_join_the_batch_as_negatives(synth_dir: Path) -> None:
    from chronolens.data.synth import load_synth
    from chronolens.models.synth_clip import build_clip_model, build_tokenizer

    config = _tiny(hard_negative_prob=1.0, event_frame_fraction=1.0, scene_text_prob=0.0, video_text_prob=0.0)
    bank = build_frame_bank(load_synth(synth_dir), "train", fps=1.0, size=config.model.image_size)
    corpus = sorted({t for texts in bank.texts for t in texts.valid})
    tok = build_tokenizer(corpus, max_length=config.model.max_text_len)
    task = ClipPairTask(build_clip_model(config.model, len(tok)), tok, bank, config)
    batch = task.make_batch(0, 0, torch.Generator().manual_seed(3))
    n, m = batch.positives.shape
    assert n == 8 and m > n and batch.input_ids.shape[0] == m and task.batch_size(batch) == 8
    assert bool(batch.positives[:, :n].diagonal().all())
    assert not bool(batch.positives[:, n:].any())  # a swapped caption describes no frame of the batch
    assert torch.isfinite(task.loss(batch))
    plain = ClipPairTask(
        task.model, tok, bank, _tiny(event_frame_fraction=1.0, scene_text_prob=0.0, video_text_prob=0.0)
    )
    assert plain.make_batch(0, 0, torch.Generator().manual_seed(3)).positives.shape == (8, 8)


def test_recipe_trains_evaluates_and_exports(synth_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer, CLIPModel

    result = run_builtin_clip(
        synth_dir, tmp_path / "run", _tiny(), command="chronolens train builtin-clip test"
    )
    assert result.train.steps == 3 and len(result.train.losses) == 3
    assert set(result.metrics) == {"frame_caption_top1", "frame_query_top1", "peak_in_window", "video_r1"}
    assert all(0.0 <= v <= 1.0 for v in result.metrics.values() if v == v)
    model = CLIPModel.from_pretrained(result.model_dir, local_files_only=True)
    assert model.config.vision_config.image_size == 16
    AutoTokenizer.from_pretrained(result.model_dir, local_files_only=True)
    card = (result.model_dir / "README.md").read_text()
    assert "chronolens train builtin-clip test" in card and "frame_caption_top1" in card
    assert (tmp_path / "run" / "cache").is_dir()  # decoded frames cached for the next run

    # Resuming a finished run replays nothing and re-exports identical weights.
    again = run_builtin_clip(synth_dir, tmp_path / "run", _tiny(), resume=True)
    assert again.train.start_step == 3 and again.train.losses == []
    reloaded = CLIPModel.from_pretrained(again.model_dir, local_files_only=True)
    assert all(torch.equal(x, y) for x, y in zip(model.parameters(), reloaded.parameters(), strict=True))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _tiny(batch_size=1)
    with pytest.raises(ValueError, match="hard_negative_prob"):
        _tiny(hard_negative_prob=1.5)
    with pytest.raises(ValueError, match="frames_per_video"):
        _tiny(frames_per_video=9)
    with pytest.raises(ValueError, match="scene_text_prob"):
        _tiny(scene_text_prob=0.8, video_text_prob=0.5)


def test_cli_image_size_is_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    out = tmp_path / "run"
    code = main(["train", "builtin-clip", "--data", str(tmp_path), "--image-size", "100", "--out", str(out)])
    assert code == 1
    assert "image_size (100) must be a multiple of patch_size" in capsys.readouterr().err
    assert not out.exists()


def test_cli_reads_the_config_file_then_flags_then_overrides(
    synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from dataclasses import asdict

    from transformers import CLIPModel

    from chronolens.cli.main import main

    config = tmp_path / "tiny.toml"
    model = "\n".join(f"{k} = {v!r}" for k, v in asdict(SynthClipConfig.tiny()).items())
    train = "steps = 5\nbatch_size = 8\nwarmup_steps = 1\ncheckpoint_every = 2\nthreads = 1\n"
    config.write_text(f"[model]\n{model}\n\n[train]\n{train}")
    out = tmp_path / "run"
    # the file says 5 steps, the flag 4, the override 2: the override wins
    args = ["train", "builtin-clip", "--data", str(synth_dir), "--config", str(config), "--steps", "4"]
    assert main([*args, "train.steps=2", "--out", str(out), "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and Path(summary["model_dir"]) == out / "model"
    assert set(summary["metrics"]) == {"frame_caption_top1", "frame_query_top1", "peak_in_window", "video_r1"}
    exported = CLIPModel.from_pretrained(out / "model", local_files_only=True)
    assert exported.config.vision_config.image_size == 16
