"""The grounding-attention loss: its targets over video tokens and its value on attention rows."""

from __future__ import annotations

import math

import torch

from chronolens.models.timechat import IGNORE_INDEX, TimeChatConfig
from chronolens.training.recipes.timechat_attention import GroundingAttention, span_frame_weights

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
    assert targets[0] is not None and targets[0].tolist() == [0, 0, 0.25, 0.25, 0.25, 0.25, 0, 0]
    assert targets[1] is None
    assert targets[2] is not None and targets[2].tolist() == [0, 0, 0, 0, 0, 1, 0, 0]  # frame 5 only
    # global mode: the Nv = 4 tokens split all 8 frames into chunks of 2 (chunk_weights)
    flat = GroundingAttention(config(sliding=False), layer=1)
    one = torch.ones(1, 4, dtype=torch.bool)
    glob = flat.targets(times[:1], frames[:1], one, torch.tensor([0]), spans[:1])
    assert glob[0] is not None and glob[0].tolist() == [0, 0.5, 0.5, 0]


def test_loss_is_the_cross_entropy_of_the_heads_rows_at_answer_positions() -> None:
    loss = GroundingAttention(config(), layer=1, head=0)
    length, start = 10, 2  # video tokens at positions 2..4 of a 10-token row
    probs = torch.full((1, 2, length, length), 1.0 / length)
    probs[0, 0, 6, start + 1] = 0.5  # position 6 predicts the first answer token
    labels = torch.full((1, length), IGNORE_INDEX)
    labels[0, 7:9] = 5  # answer tokens at 7 and 8: predicted from positions 6 and 7
    target = torch.tensor([0.0, 1.0, 0.0])
    value = loss((probs * 0, probs), [target], torch.tensor([start]), labels)
    assert math.isclose(float(value), (-math.log(0.5) - math.log(0.1)) / 2, rel_tol=1e-6)
    # a row without a target contributes nothing; no target at all is a zero loss
    assert float(loss((probs, probs), [None], torch.tensor([start]), labels)) == 0.0
