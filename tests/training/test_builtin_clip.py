"""The builtin-clip recipe end to end on a tiny rendered synthetic dataset with a tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from chronolens.models.synth_clip import SynthClipConfig
from chronolens.training.recipes.builtin_clip import BuiltinClipConfig, ClipPairTask, run_builtin_clip
from chronolens.training.recipes.clip_data import build_frame_bank, frame_texts


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
    with pytest.raises(ValueError, match="scene_text_prob"):
        _tiny(scene_text_prob=0.8, video_text_prob=0.5)
