"""TimeChat's time encodings as options: NumPro digits on the frames, TimeMarker / VTG-LLM time tokens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from tests.models.timechat.tiny import CORPUS, QUESTION, sample, tiny_config, tiny_model

from chronolens.models.timechat import (
    IGNORE_INDEX,
    FrameFeatures,
    TimeChat,
    TimeChatBatch,
    TimeChatConfig,
    build_text_tokenizer,
    collate,
    load_timechat,
    save_timechat,
)
from chronolens.models.timechat.features import encode_video
from chronolens.models.timechat.numpro import COLOUR, NumPro, draw_label, render_text
from chronolens.models.timechat.time_tokens import TimeMarkers, add_time_tokens, group_starts

RED = np.array(COLOUR, dtype=np.uint8)


# -- NumPro ------------------------------------------------------------------------------------


def _ink(frame: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels painted in NumPro's red."""
    return np.all(frame == RED, axis=-1)


def test_render_text_is_the_bitmap_font_scaled() -> None:
    one = render_text("1", 1)
    assert one.shape == (7, 5) and one[:, 2].all() and not one[:, 4].any()  # the stem of "1"
    two = render_text("12", 3)
    assert two.shape == (21, 33)  # 2 glyphs of 5 + a 1-pixel gap, times 3
    assert np.array_equal(two[::3, ::3][:, :5], one)
    with pytest.raises(ValueError, match="digits"):
        render_text("a1", 1)


@pytest.mark.parametrize(
    ("position", "rows", "cols"),
    [
        ("bottom_right", slice(60, 100), slice(100, 160)),
        ("top_left", slice(0, 40), slice(0, 60)),
        ("top_right", slice(0, 40), slice(100, 160)),
        ("bottom_left", slice(60, 100), slice(0, 60)),
        ("center", slice(30, 70), slice(50, 110)),
    ],
)
def test_digits_are_drawn_where_configured(position: str, rows: slice, cols: slice) -> None:
    frames = np.zeros((3, 100, 160, 3), dtype=np.uint8)
    drawn = NumPro(position=position, size=0.21).draw(frames, np.array([0.0, 0.5, 1.0]))
    assert not frames.any()  # the input is left as it was
    for i, frame in enumerate(drawn):
        ink = _ink(frame)
        assert ink.any() and ink[rows, cols].sum() == ink.sum()  # all ink in the configured corner
        box = np.argwhere(ink)
        height = box[:, 0].max() - box[:, 0].min() + 1
        assert height == 21  # 0.21 * 100 px: 3 px per font pixel, 7 font pixels tall
        ref = np.zeros((100, 160, 3), dtype=np.uint8)
        assert np.array_equal(_ink(draw_label(ref, str(i), position=position, size=0.21)), ink)
    assert not np.array_equal(_ink(drawn[0]), _ink(drawn[1]))  # different numbers


def test_seconds_labels_and_size_and_small_frames() -> None:
    frames = np.zeros((2, 70, 200, 3), dtype=np.uint8)
    numpro = NumPro(label="seconds", size=0.1, position="top_left")
    assert [numpro.text(i, t) for i, t in enumerate((0.0, 12.25))] == ["0.0", "12.2"]
    drawn = numpro.draw(frames, np.array([0.0, 12.25]))
    expected = render_text("12.2", 1)  # 0.1 * 70 px = 7 px: one pixel per font pixel
    assert np.array_equal(_ink(drawn[1])[1 : 1 + 7, 1 : 1 + expected.shape[1]], expected)
    # A frame too narrow for the label at that size: the scale shrinks, then the rest is clipped.
    tiny = NumPro(size=1.0, label="frame").draw(np.zeros((1, 10, 8, 3), np.uint8), np.zeros(1))
    assert _ink(tiny[0]).any()
    with pytest.raises(ValueError, match="position"):
        NumPro(position="middle")
    with pytest.raises(ValueError, match="timestamps"):
        NumPro().draw(frames, np.zeros(3))


@pytest.fixture(scope="module")
def synth_clip() -> FrameFeatures:
    return FrameFeatures("builtin:synth-clip", device="cpu")


def test_numpro_changes_the_patch_features(
    synth_clip: FrameFeatures, make_video: Callable[..., Path]
) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(2, 96, 96, 3), dtype=np.uint8)
    drawn = NumPro(size=0.3).draw(frames, np.array([0.0, 1.0]))
    plain, numbered = synth_clip(frames), synth_clip(drawn)
    assert plain.shape == numbered.shape
    assert not np.allclose(plain, numbered, atol=1e-3)
    # encode_video draws the configured labels where frames become features.
    path = make_video(n_frames=20, fps=10)
    config = tiny_config(time_encoding_numpro=True, numpro_position="top_left", numpro_size=0.3)
    settings = config.numpro_settings()
    assert settings == NumPro(position="top_left", size=0.3, label="frame")
    undrawn = encode_video(path, 4, synth_clip)
    with_numbers = encode_video(path, 4, synth_clip, numpro=settings)
    assert np.array_equal(undrawn.timestamps, with_numbers.timestamps)
    assert not np.allclose(undrawn.features, with_numbers.features, atol=1e-3)
    assert np.array_equal(encode_video(path, 4, synth_clip).features, undrawn.features)


# -- config ------------------------------------------------------------------------------------


def test_defaults_are_off_and_bad_settings_are_named() -> None:
    config = TimeChatConfig.paper()
    assert config.time_tokens == "none" and not config.time_encoding_numpro
    assert config.numpro_settings() is None
    with pytest.raises(ValueError, match="did you mean 'timemarker'"):
        tiny_config(time_tokens="timemaker")
    with pytest.raises(ValueError, match=r"TimeChatConfig\.numpro_\*"):
        tiny_config(numpro_size=0.0)
    with pytest.raises(ValueError, match=r"TimeChatConfig\.numpro_\*"):
        tiny_config(numpro_label="minutes")
    with pytest.raises(ValueError, match=r"TimeChatConfig\.time_token_seconds"):
        tiny_config(time_tokens="absolute", time_token_seconds=0)
    both = tiny_config(time_tokens="absolute", time_encoding_numpro=True, compressor="st_pool")
    assert TimeChatConfig.from_dict(both.to_dict()) == both


def test_default_model_has_no_time_tokens() -> None:
    model = tiny_model()
    assert model.time_markers is None
    assert not any(t.startswith("<t") for t in model.tokenizer.get_vocab() if t != "<unk>")
    batch = collate([sample(9)], model.tokenizer, model.config)
    out = model(batch)
    assert out.logits.shape[1] == int(batch.attention_mask.sum()) - 1 + model.config.n_video_tokens(9)
    # The absolute tokens go after every piece: the other ids do not move.
    absolute = tiny_model(time_tokens="absolute", time_token_seconds=5)
    default_vocab = model.tokenizer.get_vocab()
    vocab = absolute.tokenizer.get_vocab()
    assert {t: vocab[t] for t in default_vocab} == default_vocab
    assert [vocab[f"<t{k}>"] for k in range(5)] == list(range(len(default_vocab), len(default_vocab) + 5))


# -- time tokens -------------------------------------------------------------------------------

OPTIONS = [
    pytest.param({"time_tokens": mode, "compressor": comp}, id=f"{mode}-{comp}")
    for mode in ("timemarker", "absolute")
    for comp in ("qformer", "st_pool")
]


def _markers(model: TimeChat, batch: TimeChatBatch, row: int) -> list[list[int]]:
    """The marker ids each group of the row's video tokens should get."""
    assert model.time_markers is not None
    times = model.video_token_times(batch.features, batch.timestamps, batch.frame_mask)[row]
    times = times[~torch.isnan(times[:, 0])]
    return [model.time_markers.ids(float(times[s, 0])) for s in group_starts(times)]


def test_group_starts_follow_the_token_spans() -> None:
    times = torch.tensor([[0.0, 1.5], [0.0, 1.5], [2.0, 3.5], [2.0, 3.5], [4.0, 4.0]])
    assert group_starts(times) == [0, 2, 4]
    model = tiny_model(time_tokens="timemarker")  # windows of 4 frames, 2 tokens each
    batch = collate([sample(9, step=0.5)], model.tokenizer, model.config)
    expected = [model.tokenizer(f"sec{t:.1f}", add_special_tokens=False)["input_ids"] for t in (0, 2, 4)]
    assert _markers(model, batch, 0) == expected
    assert model.tokenizer.convert_ids_to_tokens(expected[2]) == ["▁sec", "4", ".", "0"]
    absolute = tiny_model(time_tokens="absolute", time_token_seconds=3)
    batch = collate([sample(9, step=0.5)], absolute.tokenizer, absolute.config)
    ids = [absolute.tokenizer.convert_tokens_to_ids(t) for t in ("<t0>", "<t2>", "<t2>")]  # 4 s clamps
    assert _markers(absolute, batch, 0) == [[i] for i in ids]


@pytest.mark.parametrize("options", OPTIONS)
def test_sequences_grow_by_the_markers_and_stay_aligned(options: dict[str, object]) -> None:
    model = tiny_model(**options, time_token_seconds=10)
    plain = tiny_model(compressor=options["compressor"])
    samples = [sample(9, seed=1), sample(5, seed=2)]
    batch = collate(samples, model.tokenizer, model.config)
    out, reference = model(batch), plain(collate(samples, plain.tokenizer, plain.config))
    assert out.labels is not None and reference.labels is not None
    for row in range(2):
        n_markers = sum(len(ids) for ids in _markers(model, batch, row))
        assert n_markers > 0
        length = (
            int(batch.attention_mask[row].sum())
            - 1
            + model.config.n_video_tokens(len(samples[row].timestamps))
        )
        assert int(out.attention_mask[row].sum()) == length + n_markers
        assert int(out.attention_mask[row].sum()) == int(reference.attention_mask[row].sum()) + n_markers
        # Only the answer is labelled, the same tokens at the end of the real sequence as without markers.
        labels, ref = out.labels[row], reference.labels[row]
        answer = model.tokenizer.convert_ids_to_tokens(labels[labels != IGNORE_INDEX].tolist())
        assert answer == plain.tokenizer.convert_ids_to_tokens(ref[ref != IGNORE_INDEX].tolist())
        real = int(out.attention_mask[row].sum())
        assert bool((labels[real:] == IGNORE_INDEX).all())  # padding on the right
        assert torch.equal(torch.nonzero(labels != IGNORE_INDEX).flatten()[-1], torch.tensor(real - 1))
    assert out.logits.shape[:2] == out.attention_mask.shape == out.labels.shape


@pytest.mark.parametrize("options", OPTIONS)
def test_the_llm_sees_the_markers_before_each_group(options: dict[str, object]) -> None:
    model = tiny_model(**options, time_token_seconds=10)
    batch = collate([sample(9)], model.tokenizer, model.config)
    tokens, token_mask = model.encode_video(batch.features, batch.timestamps, batch.frame_mask)
    times = model.video_token_times(batch.features, batch.timestamps, batch.frame_mask)
    embeds, _, labels = model.splice_video(
        tokens,
        token_mask,
        batch.input_ids,
        batch.attention_mask,
        batch.labels,
        padding_side="right",
        token_times=times,
    )
    assert labels is not None
    embed = model.llm.get_input_embeddings()
    at = int((batch.input_ids[0] == model.video_id).nonzero()[0])
    video = tokens[0][token_mask[0]]
    starts = group_starts(times[0][token_mask[0]])
    ends = [*starts[1:], video.shape[0]]
    pos = at
    for ids, start, end in zip(_markers(model, batch, 0), starts, ends, strict=True):
        marker = embed(torch.tensor(ids))
        assert torch.allclose(embeds[0, pos : pos + len(ids)], marker)
        pos += len(ids)
        assert torch.allclose(embeds[0, pos : pos + end - start], video[start:end])
        pos += end - start
    assert bool((labels[0, at:pos] == IGNORE_INDEX).all())
    # Without times the splice is the plain one.
    plain = model.splice_video(
        tokens, token_mask, batch.input_ids, batch.attention_mask, batch.labels, padding_side="right"
    )[0]
    assert plain.shape[1] == embeds.shape[1] - (pos - at - video.shape[0])


@pytest.mark.parametrize(
    "options",
    [
        *OPTIONS,
        pytest.param(
            {"time_tokens": "absolute", "compressor": "st_pool", "time_encoding_numpro": True}, id="all"
        ),
        pytest.param({"time_tokens": "timemarker", "compressor": "moviechat"}, id="timemarker-moviechat"),
        pytest.param({"time_encoding_numpro": True}, id="numpro"),
    ],
)
def test_each_option_trains_one_step_and_generates(options: dict[str, object]) -> None:
    model = tiny_model(**options, time_token_seconds=10)
    model.train()
    batch = collate([sample(9, seed=1), sample(5, seed=2)], model.tokenizer, model.config)
    out = model(batch)
    assert out.loss is not None and bool(torch.isfinite(out.loss))
    out.loss.backward()
    trainable = model.trainable_parameters()
    assert all(p.grad is not None and bool(torch.isfinite(p.grad).all()) for _, p in trainable)
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
    assert model.training  # generate restores the mode


@pytest.mark.parametrize("mode", ["timemarker", "absolute"])
def test_time_token_checkpoint_round_trip(tmp_path: Path, mode: str) -> None:
    model = tiny_model(time_tokens=mode, time_token_seconds=6, compressor="st_pool")
    loaded = load_timechat(save_timechat(model, tmp_path / "ckpt"))
    assert loaded.config == model.config
    batch = collate([sample(7)], model.tokenizer, model.config)
    assert torch.equal(loaded(batch).logits, model(batch).logits)


def test_absolute_tokens_join_a_pretrained_tokenizer_and_embedding_table() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    from chronolens.models.timechat.tokenizer import add_video_token

    tokenizer = build_text_tokenizer(CORPUS)  # stands in for a pretrained LLM's tokenizer
    add_video_token(tokenizer)
    vocab = len(tokenizer)
    llm: Any = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=vocab,
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            tie_word_embeddings=False,
        )
    )
    config = tiny_config(llm="/models/stand-in", time_tokens="absolute", time_token_seconds=13)
    add_time_tokens(llm, tokenizer, config)
    assert len(tokenizer) == vocab + 13 and "<video>" in tokenizer.get_vocab()
    ids: Any = tokenizer.convert_tokens_to_ids(["<t0>", "<t12>"])
    table = llm.get_input_embeddings().weight
    assert table.shape[0] == vocab + 13 and llm.get_output_embeddings().weight.shape[0] == vocab + 13
    digits = tokenizer("12", add_special_tokens=False)["input_ids"]
    assert torch.allclose(table[ids[1]], table[digits].mean(dim=0))
    output = llm.get_output_embeddings().weight  # untied: set the same way
    zero = tokenizer("0", add_special_tokens=False)["input_ids"]
    assert torch.allclose(output[ids[0]], output[zero].mean(dim=0))
    markers = TimeMarkers(config, tokenizer)
    assert markers.ids(12.9) == [ids[1]] and markers.ids(99.0) == [ids[1]]
    with pytest.raises(ValueError, match="<t12>"):
        TimeMarkers(config, build_text_tokenizer(CORPUS))
