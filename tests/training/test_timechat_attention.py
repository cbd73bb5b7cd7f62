"""The grounding-attention loss: its targets over video tokens and its value on attention rows."""

from __future__ import annotations

import math

import torch

from chronolens.models.timechat import IGNORE_INDEX, TimeChatConfig
from chronolens.models.timechat.tokenizer import build_text_tokenizer
from chronolens.training.recipes.timechat.attention import (
    GroundingAttention,
    RowTarget,
    number_pieces,
    span_frame_weights,
    time_frame_weights,
)

NAN = float("nan")


def config(**overrides: object) -> TimeChatConfig:
    return TimeChatConfig.tiny(vision_dim=16, n_frames=8, window=4, stride=4, video_queries=4, **overrides)


def test_span_frame_weights_cover_the_frames_inside_or_the_nearest_one() -> None:
    times = torch.arange(8.0)
    mask = torch.tensor([True] * 6 + [False] * 2)
    assert span_frame_weights(times, mask, torch.tensor([2.0, 3.5])).tolist() == [0, 0, 0.5, 0.5, 0, 0, 0, 0]
    # a span between two frames gets the nearest one; padding frames never count
    assert span_frame_weights(times, mask, torch.tensor([2.2, 2.4])).tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert span_frame_weights(times, mask, torch.tensor([6.5, 7.5])).tolist() == [0, 0, 0, 0, 0, 1, 0, 0]


def test_targets_follow_the_windows_tokens_and_skip_rows_without_a_span() -> None:
    loss = GroundingAttention(config(), layer=1)
    times = torch.arange(8.0).repeat(2, 1)
    frames = torch.ones(2, 8, dtype=torch.bool)
    frames[1, 6:] = False  # the second video has 6 frames
    tokens = torch.ones(2, 8, dtype=torch.bool)  # Lw = S = Nv = 4: token j of window w is frame 4w + j
    spans = torch.tensor([[2.0, 5.0], [NAN, NAN], [4.5, 9.0]])
    targets = loss.targets(times, frames, tokens, torch.tensor([0, 0, 1]), spans)
    first, second = targets[0], targets[2]
    assert first is not None and first.span.tolist() == [0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0]
    assert first.start.tolist() == [0, 0, 1, 0, 0, 0, 0, 0] and first.end.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]
    assert first.seconds == (2.0, 5.0)
    assert targets[1] is None
    assert second is not None and second.span.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]  # frame 5 only
    # the start 4.5 s lies halfway between frames 4 and 5; the end is past the last real frame
    assert second.start.tolist() == [0, 0, 0, 0, 0.5, 0.5, 0, 0] and second.end.tolist()[5] == 1
    # global mode: the Nv = 4 tokens split all 8 frames into chunks of 2 (chunk_weights)
    flat = GroundingAttention(config(sliding=False), layer=1)
    one = torch.ones(1, 4, dtype=torch.bool)
    glob = flat.targets(times[:1], frames[:1], one, torch.tensor([0]), spans[:1])
    assert glob[0] is not None and glob[0].span.tolist() == [0, 0.5, 0.5, 0]
    assert glob[0].start.tolist() == [0, 1, 0, 0] and glob[0].end.tolist() == [0, 0, 1, 0]


def test_time_frame_weights_interpolate_between_the_real_frames_around_a_time() -> None:
    times = torch.tensor([0.0, 1.0, 2.0, 4.0, 0.0])
    mask = torch.tensor([True, True, True, True, False])
    assert time_frame_weights(times, mask, 1.0).tolist() == [0, 1, 0, 0, 0]
    assert time_frame_weights(times, mask, 3.0).tolist() == [0, 0, 0.5, 0.5, 0]
    assert time_frame_weights(times, mask, 2.5).tolist() == [0, 0, 0.75, 0.25, 0]
    # before the first / after the last real frame: that frame; the padding frame never counts
    assert time_frame_weights(times + 0.5, mask, 0.1).tolist() == [1, 0, 0, 0, 0]
    assert time_frame_weights(times, mask, 9.0).tolist() == [0, 0, 0, 1, 0]


def test_loss_is_the_cross_entropy_of_the_heads_rows_at_answer_positions() -> None:
    loss = GroundingAttention(config(), layer=1, head=0)
    length, start = 10, 2  # video tokens at positions 2..4 of a 10-token row
    probs = torch.full((1, 2, length, length), 1.0 / length)
    probs[0, 0, 6, start + 1] = 0.5  # position 6 predicts the first answer token
    labels = torch.full((1, length), IGNORE_INDEX)
    labels[0, 7:9] = 5  # answer tokens at 7 and 8: predicted from positions 6 and 7
    span = torch.tensor([0.0, 1.0, 0.0])
    target = RowTarget(span=span, start=span, end=span, seconds=(0.0, 1.0))
    value = loss((probs * 0, probs), [target], torch.tensor([start]), labels)
    assert math.isclose(float(value), (-math.log(0.5) - math.log(0.1)) / 2, rel_tol=1e-6)
    # a row without a target contributes nothing; no target at all is a zero loss
    assert float(loss((probs, probs), [None], torch.tensor([start]), labels)) == 0.0


def test_boundaries_train_the_positions_writing_each_number_towards_its_time() -> None:
    tokenizer = build_text_tokenizer(["The given query happens in 1.8 - 6.7 seconds."])
    numbers = number_pieces(tokenizer)
    assert {numbers[tokenizer.convert_tokens_to_ids(d)] for d in "0123456789."} == set("0123456789.")
    assert tokenizer.convert_tokens_to_ids("\u2581seconds") not in numbers
    answer = tokenizer("The given query happens in 1.8 - 6.7 seconds.", add_special_tokens=False)["input_ids"]
    n_video, start = 3, 1
    length = start + n_video + len(answer) + 1
    labels = torch.full((1, length), IGNORE_INDEX)
    labels[0, start + n_video + 1 :] = torch.tensor(answer)
    probs = torch.full((1, 1, length, length), 0.1)
    tokens = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    target = RowTarget(span=tokens[0], start=tokens[1], end=tokens[2], seconds=(1.8, 6.7))
    positions = torch.arange(start + n_video, length - 1)  # those predicting an answer token
    pieces = tokenizer.convert_ids_to_tokens(answer)
    # the head attends to video token 0 (the start's) with 0.8, token 1 (the end's) with 0.3
    # and token 2 (the span's) with 0.1, everywhere
    probs[0, 0, :, start] = 0.8
    probs[0, 0, :, start + 1] = 0.3
    boundaries = GroundingAttention(config(), layer=0, target="boundaries", numbers=numbers)
    value = float(boundaries((probs,), [target], torch.tensor([start]), labels))
    first = pieces.index("1")
    assert pieces[first : first + 4] == ["1", ".", "8", "\u2581"]  # the start number's pieces
    last = len(pieces) - 1 - pieces[::-1].index("6")
    assert pieces[last - 1 : last + 4] == ["\u2581", "6", ".", "7", "\u2581seconds"]  # the end's pieces
    n_rest = len(positions) - 6
    expected = (3 * -math.log(0.8) + 3 * -math.log(0.3) + n_rest * -math.log(0.1)) / len(positions)
    assert math.isclose(value, expected, rel_tol=1e-5)
    # "span" mode trains every position towards the span's token 2
    spans_only = GroundingAttention(config(), layer=0)
    value = float(spans_only((probs,), [target], torch.tensor([start]), labels))
    assert math.isclose(value, -math.log(0.1), rel_tol=1e-6)
    # an answer whose numbers are not the span's is trained as in "span" mode
    other = RowTarget(span=tokens[0], start=tokens[1], end=tokens[2], seconds=(3.0, 6.7))
    value = float(boundaries((probs,), [other], torch.tensor([start]), labels))
    assert math.isclose(value, -math.log(0.1), rel_tol=1e-6)


def test_boundaries_need_the_number_pieces() -> None:
    import pytest

    with pytest.raises(ValueError, match="number pieces"):
        GroundingAttention(config(), layer=0, target="boundaries")
    with pytest.raises(ValueError, match="'span' or 'boundaries'"):
        GroundingAttention(config(), layer=0, target="ends")
