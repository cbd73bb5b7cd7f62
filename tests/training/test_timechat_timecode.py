"""The time-digits loss: digits of a time, its fixed read-outs and its value on video tokens."""

from __future__ import annotations

import pytest
import torch

from chronolens.models.timechat import TimeChatConfig
from chronolens.training.recipes.timechat.align import space_map
from chronolens.training.recipes.timechat.timecode import VideoTokenTimeDigits, time_digits


def config(**overrides: object) -> TimeChatConfig:
    return TimeChatConfig.tiny(vision_dim=16, n_frames=8, window=4, stride=4, video_queries=4, **overrides)


def test_time_digits_are_tens_ones_and_tenths_of_the_rounded_time() -> None:
    seconds = torch.tensor([12.34, 7.0, 0.06, 123.4, 59.96])
    assert time_digits(seconds).tolist() == [[1, 2, 3], [0, 7, 0], [0, 0, 1], [2, 3, 4], [6, 0, 0]]


def test_read_outs_are_orthonormal_and_avoid_the_words_subspace_when_there_is_room() -> None:
    wide = VideoTokenTimeDigits(config(), 64, tower_dim=16, seed=3)
    gram = wide.directions.T @ wide.directions
    assert torch.allclose(gram, torch.eye(30), atol=1e-5)
    words = space_map(16, 64, seed=3)  # (16, 64): where word_init and the alignment put the tower
    assert float((words @ wide.directions).abs().max()) < 1e-5
    # equal widths leave no room: the directions may overlap the tower's space
    same = VideoTokenTimeDigits(config(), 32, tower_dim=32, seed=3)
    assert same.directions.shape == (32, 30)
    with pytest.raises(ValueError, match="30 directions"):
        VideoTokenTimeDigits(config(), 16)


def test_token_times_are_the_mean_time_of_each_tokens_real_frames() -> None:
    times = torch.arange(8.0).repeat(2, 1)
    frames = torch.ones(2, 8, dtype=torch.bool)
    frames[1, 5:] = False
    sliding = VideoTokenTimeDigits(config(), 32)  # Lw = S = Nv = 4: token j of window w is frame 4w + j
    token_times, valid = sliding.token_times(times, frames)
    assert token_times[0].tolist() == list(range(8)) and valid[0].all()
    assert valid[1].tolist() == [True] * 5 + [False] * 3
    flat = VideoTokenTimeDigits(config(sliding=False), 32)  # 4 tokens over all 8 frames: pairs
    token_times, valid = flat.token_times(times, frames)
    assert token_times[0].tolist() == [0.5, 2.5, 4.5, 6.5]
    assert token_times[1, :3].tolist() == [0.5, 2.5, 4.0] and valid[1].tolist() == [True, True, True, False]


def test_loss_is_low_for_tokens_that_spell_their_time_and_reaches_only_real_tokens() -> None:
    loss = VideoTokenTimeDigits(config(), 32, seed=0)
    times = torch.tensor([[0.0, 1.2, 2.5, 13.7, 20.0, 21.1, 0.0, 0.0]])
    frames = torch.tensor([[True] * 6 + [False] * 2])
    tokens_mask = frames.clone()
    digits = time_digits(times[0])  # (8, 3)
    directions = loss.directions.T.reshape(3, 10, 32)  # place, digit, width

    def spell(shift: int) -> torch.Tensor:  # (1, 8, 32): each token the sum of its digits' directions
        rows = [sum(directions[k, (int(digits[t, k]) + shift) % 10] for k in range(3)) for t in range(8)]
        return torch.stack(rows)[None]

    spelled = spell(0)
    right_value = float(loss(spelled, tokens_mask, times, frames))
    wrong_value = float(loss(spell(1), tokens_mask, times, frames))
    assert right_value < 0.1 < 5.0 < wrong_value
    # padding tokens take no part: anything there leaves the loss unchanged and gets no gradient
    noisy = spelled.clone()
    noisy[0, 6:] = torch.randn(2, 32)
    noisy.requires_grad_(True)
    value = loss(noisy, tokens_mask, times, frames)
    assert torch.isclose(value, torch.tensor(right_value), atol=1e-6)
    value.backward()
    assert noisy.grad is not None and float(noisy.grad[0, 6:].abs().sum()) == 0.0
    assert float(noisy.grad[0, :6].abs().sum()) > 0.0
    # no real token: zero, still differentiable
    empty = loss(noisy, torch.zeros_like(tokens_mask), times, frames)
    assert float(empty.detach()) == 0.0 and empty.requires_grad
