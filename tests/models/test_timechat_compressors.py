"""TimeChat with each token compressor: token counts, one training step, generation, frame times."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.models.timechat.tiny import QUESTION, sample, tiny_config, tiny_model

from chronolens.models.timechat import (
    TimeChat,
    TimeChatBatch,
    TimeChatConfig,
    collate,
    load_timechat,
    save_timechat,
)

VARIANTS = [
    pytest.param(
        {"compressor": name, "compress_after_qformer": after}, id=f"{name}{'-after' if after else ''}"
    )
    for name in ("perceiver", "st_pool", "difffp", "moviechat")
    for after in (False, True)
]


def _batch(model: TimeChat, *counts: int) -> TimeChatBatch:
    return collate([sample(n, seed=i + 1) for i, n in enumerate(counts)], model.tokenizer, model.config)


@pytest.mark.parametrize("overrides", VARIANTS)
def test_each_compressor_trains_one_step_and_generates(overrides: dict[str, object]) -> None:
    model = tiny_model(**overrides)
    model.train()
    batch = _batch(model, 9, 5)
    out = model(batch)
    assert out.loss is not None and bool(torch.isfinite(out.loss))
    out.loss.backward()
    trainable = model.trainable_parameters()
    missing = [name for name, p in trainable if p.grad is None or not bool(torch.isfinite(p.grad).all())]
    assert not missing, missing  # every trained weight gets a gradient: nothing dead
    before = {name: p.detach().clone() for name, p in trainable}
    torch.optim.SGD([p for _, p in trainable], lr=0.1).step()
    assert any(not torch.equal(before[name], p) for name, p in trainable)
    answers = model.generate(
        batch.features,
        batch.timestamps,
        batch.frame_mask,
        [QUESTION, "describe the video."],
        max_new_tokens=4,
    )
    assert len(answers) == 2 and all(isinstance(a, str) for a in answers)


@pytest.mark.parametrize("overrides", VARIANTS)
@pytest.mark.parametrize("n_frames", [1, 4, 9, 16])
def test_token_counts_match_the_config_and_the_llm_sequence(
    overrides: dict[str, object], n_frames: int
) -> None:
    model = tiny_model(**overrides)
    batch = _batch(model, n_frames)
    token_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)[1]
    n_video = model.config.n_video_tokens(n_frames)
    assert int(token_mask.sum()) == n_video  # random features change everywhere: DiffFP keeps all
    assert n_video <= model.config.max_video_tokens
    out = model(batch)
    assert out.logits.shape[1] == int(batch.attention_mask.sum()) - 1 + n_video


def test_default_is_the_video_qformer_and_token_times_are_its_windows() -> None:
    model = tiny_model()  # window = stride = 4, Nv = 2
    assert model.config.compressor == "qformer" and model.compressor is None
    s = sample(10, step=0.5)
    batch = collate([s], model.tokenizer, model.config)
    times = model.video_token_times(batch.features, batch.timestamps, batch.frame_mask)[0].tolist()
    assert times == [[0.0, 1.5]] * 2 + [[2.0, 3.5]] * 2 + [[4.0, 4.5]] * 2


def _times(model: TimeChat, n_frames: int, *, static: bool = False) -> list[list[float]]:
    s = sample(n_frames, step=0.5)
    if static:
        s.features[:] = s.features[0]
    batch = collate([s], model.tokenizer, model.config)
    times = model.video_token_times(batch.features, batch.timestamps, batch.frame_mask)[0]
    return [t for t in times.tolist() if not np.isnan(t[0])]


def test_frame_times_each_token_stands_for() -> None:
    # Perceiver: every latent reads the whole video.
    assert _times(tiny_model(compressor="perceiver"), 9) == [[0.0, 4.0]] * 8
    # Pooling: frame pairs (Nq = 2 tokens on a 1 x 2 grid pool into one), the last frame alone.
    assert _times(tiny_model(compressor="st_pool"), 5) == [[0.0, 0.5], [1.0, 1.5], [2.0, 2.0]]
    # After the video Q-Former the units are its windows (frames 0-3, 4-7, 8): pairs of windows.
    after = tiny_model(compressor="st_pool", compress_after_qformer=True)
    assert _times(after, 9) == [[0.0, 3.5], [4.0, 4.0]]
    # MovieChat: 9 frames, S = 4, long-term 8: nothing merged yet, one slot (Nq tokens) per frame.
    movie = tiny_model(compressor="moviechat")
    assert _times(movie, 9) == [[0.5 * f, 0.5 * f] for f in range(9) for _ in range(2)]
    # 16 frames: the long-term memory holds 8 merged slots in time order, covering every frame.
    slots = _times(movie, 16)[::2]
    assert len(slots) == 8 and slots[0][0] == 0.0 and slots[-1][1] == 7.5
    assert all(a[1] + 0.5 == b[0] for a, b in itertools.pairwise(slots))


def test_difffp_keeps_changing_frames_and_drops_a_static_video() -> None:
    model = tiny_model(compressor="difffp")
    assert _times(model, 6) == [[0.5 * f, 0.5 * f] for f in range(6) for _ in range(2)]
    assert _times(model, 6, static=True) == [[0.0, 0.0]] * 2  # only the first frame, whole
    after = tiny_model(compressor="difffp", compress_after_qformer=True)
    assert _times(after, 9, static=True) == [[0.0, 1.5]] * 2  # only the first window
    # In a batch, each video keeps its own count; padding stays out of the LLM sequence.
    static, moving = sample(6, seed=1), sample(6, seed=2)
    static.features[:] = static.features[0]
    batch = collate([static, moving], model.tokenizer, model.config)
    _, token_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)
    assert token_mask.sum(dim=1).tolist() == [2, 12]
    out = model(batch)
    assert out.attention_mask.sum(dim=1).tolist() == [
        int(batch.attention_mask[i].sum()) - 1 + n for i, n in enumerate((2, 12))
    ]


def test_compressor_checkpoint_round_trip(tmp_path: Path) -> None:
    model = tiny_model(compressor="perceiver", compress_after_qformer=True)
    loaded = load_timechat(save_timechat(model, tmp_path / "ckpt"))
    assert loaded.config == model.config
    batch = _batch(model, 7)
    assert torch.equal(loaded(batch).logits, model(batch).logits)


def test_config_names_bad_compressor_settings() -> None:
    with pytest.raises(ValueError, match="did you mean 'perceiver'"):
        tiny_config(compressor="perciever")
    with pytest.raises(ValueError, match=r"TimeChatConfig\.compress_after_qformer"):
        tiny_config(compress_after_qformer=True)
    with pytest.raises(ValueError, match=r"TimeChatConfig\.perceiver_latents"):
        tiny_config(compressor="perceiver", perceiver_latents=0)
    config = TimeChatConfig.paper(compressor="moviechat")
    data = config.to_dict()
    assert (data["moviechat_short_term"], data["moviechat_long_term"]) == (18, 256)
    assert TimeChatConfig.from_dict(data) == config
