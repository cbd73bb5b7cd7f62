"""builtin:synth-clip: config, word-level tokenizer, EOS pooling, saved artefact, shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chronolens.models.synth_clip import SynthClipConfig, build_clip_model, build_tokenizer, save_artifact
from chronolens.models.synth_clip.config import BOS_ID, EOS_ID, PAD_ID, UNK_ID

CAPTIONS = [
    "a large striped red circle moves left",
    "the big stripy crimson disc drifts left",
    "a small blue square appears",
    "a large dotted green diamond on a brown plain background",
]
SHIPPED = Path(__file__).resolve().parents[2] / "src" / "chronolens" / "encoders" / "weights" / "synth-clip"


@pytest.fixture
def tokenizer():  # type: ignore[no-untyped-def]
    return build_tokenizer(CAPTIONS, max_length=12)


def test_tokenizer_wraps_with_bos_eos_and_pads_right(tokenizer) -> None:  # type: ignore[no-untyped-def]
    enc = tokenizer(["A small BLUE square appears", "a purple square"], padding="max_length", truncation=True)
    first, second = enc["input_ids"]
    assert first[0] == BOS_ID and first[6] == EOS_ID and first[7:] == [PAD_ID] * 5
    assert enc["attention_mask"][0] == [1] * 7 + [0] * 5
    assert second[2] == UNK_ID  # "purple" is not in the caption vocabulary
    assert tokenizer.convert_ids_to_tokens(first[1:6]) == ["a", "small", "blue", "square", "appears"]
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (
        BOS_ID,
        EOS_ID,
        PAD_ID,
    )


def test_truncation_keeps_eos(tokenizer) -> None:  # type: ignore[no-untyped-def]
    long = " ".join(["red"] * 40)
    ids = tokenizer(long, truncation=True)["input_ids"]
    assert len(ids) == 12 and ids[0] == BOS_ID and ids[-1] == EOS_ID


def test_vocabulary_is_deterministic() -> None:
    a = build_tokenizer(CAPTIONS, max_length=12)
    b = build_tokenizer(list(reversed(CAPTIONS)), max_length=12)
    assert a.get_vocab() == b.get_vocab()
    assert build_tokenizer(CAPTIONS, max_length=12, min_count=2).convert_tokens_to_ids("square") == UNK_ID
    with pytest.raises(ValueError, match="max_length"):
        build_tokenizer(CAPTIONS, max_length=2)


def test_clip_config_token_ids_match_tokenizer(tokenizer) -> None:  # type: ignore[no-untyped-def]
    model = build_clip_model(SynthClipConfig.tiny(), len(tokenizer))
    text = model.config.text_config
    assert (text.bos_token_id, text.eos_token_id, text.pad_token_id) == (
        tokenizer.bos_token_id,
        tokenizer.eos_token_id,
        tokenizer.pad_token_id,
    )
    # transformers treats eos_token_id == 2 as "pool at the largest id"; ours must take the other path.
    assert text.eos_token_id != 2
    assert text.vocab_size == len(tokenizer)
    assert text.max_position_embeddings == SynthClipConfig.tiny().max_text_len


def test_text_tower_pools_at_the_eos_position(tokenizer) -> None:  # type: ignore[no-untyped-def]
    model = build_clip_model(SynthClipConfig.tiny(), len(tokenizer), seed=1).eval()
    enc = tokenizer(
        ["a small blue square appears", "a red circle"], padding="max_length", return_tensors="pt"
    )
    with torch.no_grad():
        out = model.text_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
    eos_pos = (enc["input_ids"] == EOS_ID).int().argmax(dim=1)
    assert eos_pos.tolist() == [6, 4]
    expected = out.last_hidden_state[torch.arange(2), eos_pos]
    assert torch.allclose(out.pooler_output, expected)
    # What follows the EOS (padding) cannot change the pooled output (causal attention).
    ids = enc["input_ids"].clone()
    ids[1, 5:] = 7
    with torch.no_grad():
        changed = model.text_model(input_ids=ids, attention_mask=enc["attention_mask"]).pooler_output
    assert torch.allclose(changed[1], out.pooler_output[1], atol=1e-6)


def test_same_seed_same_init() -> None:
    a = build_clip_model(SynthClipConfig.tiny(), 20, seed=3)
    b = build_clip_model(SynthClipConfig.tiny(), 20, seed=3)
    c = build_clip_model(SynthClipConfig.tiny(), 20, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a.text_projection.weight, c.text_projection.weight)


@pytest.mark.parametrize(
    ("field", "value"), [("image_size", 20), ("vision_heads", 3), ("text_layers", 0), ("max_text_len", 2)]
)
def test_config_validation_names_the_field(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        SynthClipConfig(**{**SynthClipConfig.tiny().__dict__, field: value})


def test_saved_artefact_loads_offline(tmp_path: Path, tokenizer) -> None:  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer, CLIPModel

    from chronolens.encoders.preprocess import ImagePreprocessConfig, load_preprocess_config

    model = build_clip_model(SynthClipConfig.tiny(), len(tokenizer), seed=2).eval()
    out = save_artifact(model, tokenizer, tmp_path / "synth-clip", model_card="# card\n")
    names = {p.name for p in out.iterdir()}
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "README.md",
    } <= names
    assert not list(tmp_path.glob(".*"))  # no temporary directories left behind
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in out.iterdir())  # world-readable package data
    loaded = CLIPModel.from_pretrained(out, local_files_only=True).eval()
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    text = ["a small blue square appears"]
    assert tok(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert (
        json.loads((out / "tokenizer_config.json").read_text())["tokenizer_class"]
        == "PreTrainedTokenizerFast"
    )
    pre = load_preprocess_config(out, ImagePreprocessConfig(shortest_edge=224))
    size = SynthClipConfig.tiny().image_size
    assert pre.shortest_edge == size and pre.crop_size == (size, size) and pre.interpolation == "bicubic"
    # Overwriting an existing artefact replaces it whole.
    save_artifact(model, tokenizer, out)
    assert not (out / "README.md").exists()


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").is_file(), reason="shipped weights not built yet")
def test_shipped_weights_rank_a_frames_own_caption_high() -> None:
    from transformers import AutoTokenizer, CLIPModel

    from chronolens.data.synth import SynthConfig, plan_dataset, render_frame
    from chronolens.training.recipes.synth_clip.evaluate import encode_frames, encode_texts

    model = CLIPModel.from_pretrained(SHIPPED, local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(SHIPPED, local_files_only=True)
    videos = plan_dataset(SynthConfig(videos=12, seed=2024, split="test", max_duration=20.0))
    frames, owns, captions = [], [], []
    for video in videos:
        for event in video.events:
            if not event.objects or event.kind in ("change_color", "meet"):
                continue
            # Full-size frames: encode_frames resizes them exactly as the hf loader does.
            frames.append(render_frame(video, (event.start + event.end) / 2))
            owns.append(len(captions))
            captions.append(event.caption)
            break
    assert len(frames) >= 8
    sims = encode_frames(model, np.stack(frames)) @ encode_texts(model, tok, captions).T  # (F, C)
    own = sims[torch.arange(len(owns)), torch.tensor(owns)]  # (F,)
    ranks = (sims > own[:, None]).sum(dim=1).float()  # 0 = own caption ranked first
    # Chance is a mean rank of (C - 1) / 2 and top-1 of 1 / C; the shipped model is far better on both.
    assert float(ranks.mean()) <= 0.25 * (len(captions) - 1), f"mean rank {float(ranks.mean()):.2f}"
    assert float((ranks == 0).float().mean()) >= 2.0 / len(captions)
    assert float((own > sims.median(dim=1).values).float().mean()) >= 0.9
