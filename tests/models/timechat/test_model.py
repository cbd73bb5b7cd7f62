"""TimeChat on tiny configs: token counts, sliding windows, timestamps, gradients, padding, learning."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from tests.models.timechat.tiny import CORPUS, DV, PATCHES, QUESTION, sample, tiny_config, tiny_model

from chronolens.models.timechat import IGNORE_INDEX, TimeChat, build_prompt, collate
from chronolens.models.timechat.frame_encoder import TimestampFrameEncoder
from chronolens.models.timechat.video_qformer import SlidingVideoQFormer

FRAME_COUNTS = (8, 9, 15, 16, 17, 31, 64, 100, 199, 200)


def _windows_touching(frame: int, n_frames: int, window: int, stride: int) -> set[int]:
    return {w for w in range(math.ceil(n_frames / stride)) if w * stride <= frame < w * stride + window}


@pytest.mark.parametrize(("window", "stride"), [(4, 4), (8, 4), (6, 3), (8, 8), (5, 1)])
def test_sliding_windows_count_and_locality(window: int, stride: int) -> None:
    """ceil(T / S) * Nv tokens for every T, and each window only sees its own Lw frames."""
    config = tiny_config(window=window, stride=stride, n_frames=200)
    qformer = SlidingVideoQFormer(config).eval()
    nq, hidden, nv = config.frame_queries, config.qformer_hidden, config.video_queries
    generator = torch.Generator().manual_seed(0)
    for n_frames in FRAME_COUNTS:
        tokens = torch.randn(1, n_frames, nq, hidden, generator=generator)
        mask = torch.ones(1, n_frames, dtype=torch.bool)
        out, token_mask = qformer(tokens, mask)
        n_windows = math.ceil(n_frames / stride)
        assert out.shape == (1, n_windows * nv, hidden) == (1, config.n_video_tokens(n_frames), hidden)
        assert bool(token_mask.all())
        # Perturb the last frame (inside the last, possibly partial window) and one in the middle.
        for frame in (n_frames - 1, n_frames // 2):
            changed = tokens.clone()
            changed[0, frame] += 1.0
            out2, _ = qformer(changed, mask)
            diff = (out2 - out).abs().reshape(n_windows, nv, hidden).amax(dim=(1, 2))
            moved = {w for w in range(n_windows) if diff[w] > 1e-6}
            assert moved == _windows_touching(frame, n_frames, window, stride), (n_frames, frame)


def test_global_video_qformer_gives_nv_tokens_seeing_every_frame() -> None:
    config = tiny_config(sliding=False, n_frames=200)
    qformer = SlidingVideoQFormer(config).eval()
    for n_frames in FRAME_COUNTS:
        tokens = torch.randn(1, n_frames, config.frame_queries, config.qformer_hidden)
        mask = torch.ones(1, n_frames, dtype=torch.bool)
        out, token_mask = qformer(tokens, mask)
        assert out.shape == (1, config.video_queries, config.qformer_hidden)
        assert int(token_mask.sum()) == config.n_video_tokens(n_frames) == config.video_queries
        changed = tokens.clone()
        changed[0, 0] += 1.0
        assert float((qformer(changed, mask)[0] - out).abs().max().detach()) > 1e-6


def test_frame_position_embeddings_make_the_order_matter() -> None:
    config = tiny_config()
    qformer = SlidingVideoQFormer(config).eval()
    tokens = torch.randn(1, 4, config.frame_queries, config.qformer_hidden)
    mask = torch.ones(1, 4, dtype=torch.bool)
    swapped = tokens[:, [1, 0, 2, 3]]
    with torch.no_grad():
        qformer.frame_position.weight.zero_()  # cross-attention alone cannot see the order
        assert torch.allclose(qformer(tokens, mask)[0], qformer(swapped, mask)[0], atol=1e-5)
        qformer.frame_position.weight.normal_()
        assert float((qformer(tokens, mask)[0] - qformer(swapped, mask)[0]).abs().max()) > 1e-2
        too_many = config.n_frames + 1
        with pytest.raises(ValueError, match="frame position table"):
            qformer(
                torch.randn(1, too_many, config.frame_queries, config.qformer_hidden),
                torch.ones(1, too_many, dtype=torch.bool),
            )


@pytest.mark.parametrize("sliding", [True, False])
def test_video_token_count_end_to_end(sliding: bool) -> None:
    model = tiny_model(sliding=sliding, n_frames=40)
    for n_frames in (1, 8, 13, 40):
        s = sample(n_frames)
        batch = collate([s], model.tokenizer, model.config)
        tokens, token_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)
        assert tokens.shape == (1, model.config.n_video_tokens(n_frames), model.config.llm_hidden)
        assert int(token_mask.sum()) == model.config.n_video_tokens(n_frames)
        out = model(batch)
        n_text = int(batch.attention_mask.sum())
        assert out.logits.shape[:2] == (1, n_text - 1 + model.config.n_video_tokens(n_frames))


def test_timestamp_text_changes_the_frame_tokens() -> None:
    config = tiny_config()
    encoder = TimestampFrameEncoder(config, vision_dim=DV).eval()
    features = torch.randn(3, PATCHES, DV)
    times = torch.tensor([1.0, 2.0, 3.0])
    base = encoder(features, times)
    assert base.shape == (3, config.frame_queries, config.qformer_hidden)
    assert torch.equal(encoder(features, times.clone()), base)
    later = encoder(features, torch.tensor([1.0, 2.5, 30.0]))
    assert torch.equal(later[0], base[0])  # same frame, same time
    assert float((later[1] - base[1]).abs().max().detach()) > 1e-3
    assert float((later[2] - base[2]).abs().max().detach()) > 1e-3
    # The instruction really is the timestamp text, digits one per token.
    ids, mask = encoder.timestamp_ids([2.5], torch.device("cpu"))
    pieces = encoder.tokenizer.convert_ids_to_tokens(ids[0][mask[0].bool()].tolist())
    assert pieces[-7:] == ["▁at", "▁", "2", ".", "5", "s", "."]
    assert encoder.tokenizer.unk_token_id not in ids[0].tolist()


def test_without_timestamp_text_the_time_is_invisible() -> None:
    config = tiny_config(timestamp_text=False)
    encoder = TimestampFrameEncoder(config, vision_dim=DV).eval()
    features = torch.randn(2, PATCHES, DV)
    assert torch.equal(
        encoder(features, torch.tensor([1.0, 2.0])), encoder(features, torch.tensor([9.0, 0.0]))
    )
    assert encoder.qformer.embeddings.word_embeddings is None  # text-only parts removed, as in TimeChat


def _sgd_step(model: TimeChat, batch: object) -> None:
    out = model(batch)  # type: ignore[arg-type]
    assert out.loss is not None
    out.loss.backward()
    with torch.no_grad():
        for _, param in model.trainable_parameters():
            param -= 0.05 * param.grad  # type: ignore[operator]
    model.zero_grad(set_to_none=True)


def test_gradients_reach_exactly_the_trainable_parameters() -> None:
    model = tiny_model()
    model.train()
    batch = collate([sample(9, seed=1), sample(5, seed=2)], model.tokenizer, model.config)
    # One step first: LoRA's B starts at zero, which zeroes A's gradient on the very first step.
    _sgd_step(model, batch)
    out = model(batch)
    assert out.loss is not None
    out.loss.backward()
    trainable = dict(model.trainable_parameters())
    assert any("lora_A" in n for n in trainable) and any("lora_B" in n for n in trainable)
    assert "frame_encoder.query_tokens" in trainable and "video_qformer.query_tokens" in trainable
    assert "video_qformer.frame_position.weight" in trainable and "projection.weight" in trainable
    for name, param in model.named_parameters():
        is_lora = "lora_" in name
        if name.startswith("llm.") and not is_lora:
            assert not param.requires_grad and param.grad is None, name
        else:
            assert param.requires_grad, name
            assert param.grad is not None and float(param.grad.abs().sum()) > 0, name
    # unfreeze_llm: the whole (tiny, random) LLM trains too.
    model.zero_grad(set_to_none=True)
    model.unfreeze_llm()
    out = model(batch)
    assert out.loss is not None
    out.loss.backward()
    embed = model.llm.get_input_embeddings().weight
    assert model.llm_trainable and embed.grad is not None and float(embed.grad.abs().sum()) > 0


def test_loss_only_on_answer_tokens_and_eos() -> None:
    model = tiny_model()
    samples = [sample(9, seed=1), sample(16, seed=2, answer="from 4.0 to 6.5 seconds.")]
    batch = collate(samples, model.tokenizer, model.config)
    out = model(batch)
    assert out.labels is not None
    for row, s in enumerate(samples):
        answer = model.tokenizer(s.answer, add_special_tokens=False)["input_ids"]
        expected = [*answer, model.tokenizer.eos_token_id]
        labels = out.labels[row]
        n_video = model.config.n_video_tokens(len(s.timestamps))
        n_prompt = int(batch.attention_mask[row].sum()) - len(expected)  # incl. the placeholder
        real = int(out.attention_mask[row].sum())
        assert real == n_prompt - 1 + n_video + len(expected)
        start = n_prompt - 1 + n_video
        assert labels[start:real].tolist() == expected
        assert set(labels[:start].tolist()) == {IGNORE_INDEX}  # prompt and video tokens
        assert set(labels[real:].tolist()) <= {IGNORE_INDEX}  # padding
    # The loss is the mean next-token cross-entropy over exactly those positions.
    logits = out.logits[:, :-1].reshape(-1, out.logits.shape[-1])
    target = out.labels[:, 1:].reshape(-1)
    keep = target != IGNORE_INDEX
    manual = torch.nn.functional.cross_entropy(logits[keep], target[keep])
    assert out.loss is not None and torch.allclose(out.loss, manual)


def test_padding_frames_and_text_does_not_change_outputs() -> None:
    model = tiny_model()
    short = sample(6, seed=3, prompt=build_prompt("describe the video."), answer="a red box moves left.")
    long = sample(16, seed=4)
    batch = collate([long, short], model.tokenizer, model.config)
    # Garbage in the padded frames must not matter.
    batch.features[1, 6:] = 1e3
    batch.timestamps[1, 6:] = 123.0
    together = model(batch)
    for row, s in enumerate([long, short]):
        alone = model(collate([s], model.tokenizer, model.config))
        n = alone.logits.shape[1]
        assert torch.allclose(together.logits[row, :n], alone.logits[0], atol=1e-5), row
        assert int(together.attention_mask[row].sum()) == n
    # Generation pads on the left; prompts of different lengths must give the row's own answer.
    prompts = [QUESTION, "describe the video."]
    batched = model.generate(batch.features, batch.timestamps, batch.frame_mask, prompts, max_new_tokens=6)
    for row, s in enumerate([long, short]):
        one = collate([s], model.tokenizer, model.config)
        assert model.generate(
            one.features, one.timestamps, one.frame_mask, [prompts[row]], max_new_tokens=6
        ) == [batched[row]]


def test_a_tiny_model_learns_answers_that_depend_on_the_video() -> None:
    """Same question, two videos, two answers: only the video tokens can tell them apart."""
    model = tiny_model()
    model.unfreeze_llm()
    model.train()
    answers = ["from 1.5 to 3.0 seconds.", "from 4.0 to 6.5 seconds."]
    samples = [sample(8, seed=10, answer=answers[0]), sample(8, seed=11, answer=answers[1])]
    batch = collate(samples, model.tokenizer, model.config)
    params = [p for _, p in model.trainable_parameters()]
    optimizer = torch.optim.AdamW(params, lr=5e-3, weight_decay=0.0)
    losses = []
    for _ in range(80):
        out = model(batch)
        assert out.loss is not None
        losses.append(float(out.loss.detach()))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
    assert losses[-1] < 0.1 * losses[0], losses
    generated = model.generate(
        batch.features, batch.timestamps, batch.frame_mask, [QUESTION] * 2, max_new_tokens=16
    )
    assert generated == answers
    assert model.training  # generate restored the training mode


def test_generate_states_each_rows_real_frame_times(monkeypatch: pytest.MonkeyPatch) -> None:
    from chronolens.models.timechat import model as model_module

    seen: list[object] = []
    encode = model_module.encode_text

    def recording(*args: Any, **kwargs: Any) -> tuple[list[int], list[int]]:
        seen.append(kwargs.get("frame_times"))
        return encode(*args, **kwargs)

    monkeypatch.setattr(model_module, "encode_text", recording)
    batch = collate([sample(6, seed=1), sample(3, seed=2, step=2.0)], tiny_model().tokenizer, tiny_config())
    tiny_model().generate(
        batch.features, batch.timestamps, batch.frame_mask, [QUESTION] * 2, max_new_tokens=2
    )
    assert seen == [[0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [0.0, 2.0, 4.0]]  # padding frames are not stated
    seen.clear()
    tiny_model(frame_times_prompt=False).generate(
        batch.features, batch.timestamps, batch.frame_mask, [QUESTION] * 2, max_new_tokens=2
    )
    assert seen == [None, None]


def test_generate_wraps_instructions_and_rejects_bad_input() -> None:
    model = tiny_model()
    s = sample(4, seed=5)
    batch = collate([s], model.tokenizer, model.config)
    verbatim = model.generate(
        batch.features, batch.timestamps, batch.frame_mask, [build_prompt(QUESTION)], max_new_tokens=3
    )
    wrapped = model.generate(batch.features, batch.timestamps, batch.frame_mask, [QUESTION], max_new_tokens=3)
    assert verbatim == wrapped
    assert isinstance(wrapped[0], str)
    with pytest.raises(ValueError, match="prompts for"):
        model.generate(batch.features, batch.timestamps, batch.frame_mask, [QUESTION, QUESTION])
    with pytest.raises(ValueError, match="width"):
        model.video_tokens(batch.features[..., :3], batch.timestamps, batch.frame_mask)


def test_build_requires_a_corpus_for_the_tiny_llm() -> None:
    with pytest.raises(ValueError, match="corpus"):
        TimeChat.build(tiny_config())
    with pytest.raises(ValueError, match="vision_dim"):
        TimeChat(tiny_config(vision_dim=None), tokenizer=tiny_model().tokenizer)
    assert len(CORPUS) > 1
