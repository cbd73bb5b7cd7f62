"""Checkpoints: trained weights only + config, identical outputs after loading, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tests.models.timechat.tiny import QUESTION, sample, tiny_model

from chronolens.errors import ChronolensError, ModelNotFoundError
from chronolens.models.timechat import TimeChat, TimeChatConfig, collate, load_timechat, save_timechat


def _trained_a_little(unfreeze: bool) -> TimeChat:
    model = tiny_model()
    if unfreeze:
        model.unfreeze_llm()
    batch = collate([sample(6, seed=1), sample(9, seed=2)], model.tokenizer, model.config)
    optimizer = torch.optim.SGD([p for _, p in model.trainable_parameters()], lr=0.1)
    for _ in range(2):  # moves LoRA's B off zero and every other trained weight off its init
        out = model(batch)
        assert out.loss is not None
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    return model.eval()


@pytest.mark.parametrize("unfreeze", [False, True])
def test_save_load_gives_identical_logits_and_answers(tmp_path: Path, unfreeze: bool) -> None:
    model = _trained_a_little(unfreeze)
    out_dir = save_timechat(model, tmp_path / "ckpt")
    assert out_dir == tmp_path / "ckpt"
    loaded = load_timechat(out_dir)
    assert not loaded.training and loaded.llm_trainable == unfreeze
    assert loaded.config == model.config
    assert [n for n, _ in loaded.trainable_parameters()] == [n for n, _ in model.trainable_parameters()]
    batch = collate([sample(7, seed=3), sample(4, seed=4)], model.tokenizer, model.config)
    assert torch.equal(loaded(batch).logits, model(batch).logits)
    args = (batch.features, batch.timestamps, batch.frame_mask, [QUESTION, "describe the video."])
    assert loaded.generate(*args, max_new_tokens=8) == model.generate(*args, max_new_tokens=8)


def test_checkpoint_holds_trained_weights_and_config(tmp_path: Path) -> None:
    model = _trained_a_little(False)
    save_timechat(model, tmp_path / "ckpt")
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == [
        "checkpoint.json",
        "config.json",
        "frozen.safetensors",
        "tokenizer",
        "trained.safetensors",
    ]
    trained = load_file(tmp_path / "ckpt" / "trained.safetensors")
    assert set(trained) == {n for n, _ in model.trainable_parameters()}
    assert all(
        n.startswith(("frame_encoder.", "video_qformer.", "projection.")) or "lora_" in n for n in trained
    )
    frozen = load_file(tmp_path / "ckpt" / "frozen.safetensors")
    assert set(frozen) | set(trained) == {n for n, _ in model.named_parameters()}
    assert (
        TimeChatConfig.from_dict(json.loads((tmp_path / "ckpt" / "config.json").read_text())) == model.config
    )
    # Saving again replaces the checkpoint atomically; no temporary folder is left behind.
    save_timechat(model, tmp_path / "ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_missing_and_corrupt_checkpoints_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_timechat(tmp_path / "nothing")
    ckpt = save_timechat(tiny_model(), tmp_path / "ckpt")
    (ckpt / "trained.safetensors").write_bytes(b"\x00garbage")
    with pytest.raises(ChronolensError, match="corrupt TimeChat weights file"):
        load_timechat(ckpt)
    (ckpt / "trained.safetensors").unlink()
    with pytest.raises(ModelNotFoundError, match=r"trained\.safetensors is missing"):
        load_timechat(ckpt)
    ckpt = save_timechat(tiny_model(), tmp_path / "ckpt")
    (ckpt / "config.json").write_text("{not json")
    with pytest.raises(ChronolensError, match="corrupt TimeChat checkpoint file"):
        load_timechat(ckpt)
    (ckpt / "config.json").write_text(json.dumps({"window": 4, "stride": 8}))
    with pytest.raises(ChronolensError, match="invalid TimeChat config"):
        load_timechat(ckpt)
    (ckpt / "checkpoint.json").unlink()
    with pytest.raises(ModelNotFoundError, match=r"checkpoint\.json is missing"):
        load_timechat(ckpt)


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path: Path) -> None:
    ckpt = save_timechat(tiny_model(), tmp_path / "ckpt")
    other = json.loads((ckpt / "config.json").read_text())
    other["video_queries"] = 3
    (ckpt / "config.json").write_text(json.dumps(other))
    with pytest.raises(ChronolensError, match="shape"):
        load_timechat(ckpt)


@pytest.mark.parametrize("llm", ["/no/such/llm/dir", str(Path("/no/such/model.gguf"))])
def test_unknown_llm_names_raise_model_not_found(llm: str) -> None:
    with pytest.raises(ModelNotFoundError, match=r"TimeChatConfig\.llm|does not exist"):
        TimeChat.build(TimeChatConfig.tiny(vision_dim=16, llm=llm))


def test_hub_ids_fail_offline_with_a_remedy() -> None:
    with pytest.raises(ModelNotFoundError, match="cannot load LLM 'nobody/no-such-llm'"):
        TimeChat.build(TimeChatConfig.tiny(vision_dim=16, llm="nobody/no-such-llm"))
