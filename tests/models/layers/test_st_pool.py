"""Spatio-temporal pooling: token counts, exact averages, edges, padding and spans."""

from __future__ import annotations

import math

import pytest
import torch

from chronolens.models.layers import STPool, STPoolConfig, grid_shape


def test_grid_shape_is_most_square() -> None:
    assert [grid_shape(n) for n in (1, 4, 6, 32, 144, 7)] == [
        (1, 1),
        (2, 2),
        (2, 3),
        (4, 8),
        (12, 12),
        (1, 7),
    ]


@pytest.mark.parametrize(("kernel", "stride"), [(1, 1), (2, 2), (2, 3), (3, 1)])
@pytest.mark.parametrize("n_units", [1, 5, 8])
def test_count_matches_output_tokens(kernel: int, stride: int, n_units: int) -> None:
    config = STPoolConfig(kernel=kernel, stride=stride)
    out = STPool(config)(
        torch.randn(2, n_units, 12, 3), torch.ones(2, n_units, dtype=torch.bool), grid=(3, 4)
    )
    expected = math.ceil(n_units / stride) * math.ceil(3 / kernel) * math.ceil(4 / kernel)
    assert out.tokens.shape == (2, expected, 3)
    assert expected == config.output_tokens(n_units, grid=(3, 4))
    assert bool(out.mask.all())


def test_averages_k_by_k_neighbours_and_s_frames_with_ragged_edges() -> None:
    config = STPoolConfig(kernel=2, stride=2)
    units = torch.arange(3 * 9, dtype=torch.float32).reshape(1, 3, 9, 1)  # 3 frames of a 3 x 3 grid
    out = STPool(config)(units, torch.ones(1, 3, dtype=torch.bool), grid=(3, 3))
    assert out.tokens.shape == (1, 2 * 2 * 2, 1)
    grid = units.reshape(3, 3, 3)
    # First token: frames 0-1, rows 0-1, cols 0-1; the last: frame 2 only, row 2, col 2.
    assert float(out.tokens[0, 0, 0]) == pytest.approx(float(grid[0:2, 0:2, 0:2].mean()))
    assert float(out.tokens[0, -1, 0]) == pytest.approx(float(grid[2, 2, 2]))
    assert out.spans[0].tolist() == [[0, 1]] * 4 + [[2, 2]] * 4


def test_padded_frames_do_not_count() -> None:
    pool = STPool(STPoolConfig(kernel=1, stride=2))
    units = torch.ones(1, 3, 1, 2)
    units[0, 1] = 5.0
    units[0, 2] = 1000.0  # padding
    out = pool(units, torch.tensor([[True, True, False]]))
    assert out.tokens.shape == (1, 2, 2)
    assert out.tokens[0, 0].tolist() == [3.0, 3.0]
    assert out.mask.tolist() == [[True, False]]
    assert out.spans[0].tolist() == [[0, 1], [-1, -1]]
    assert float(out.tokens[0, 1].abs().max()) == 0.0


def test_bad_grid_and_config_are_named() -> None:
    with pytest.raises(ValueError, match="grid"):
        STPool(STPoolConfig())(torch.randn(1, 2, 6, 1), torch.ones(1, 2, dtype=torch.bool), grid=(2, 2))
    with pytest.raises(ValueError, match=r"STPoolConfig\.kernel"):
        STPoolConfig(kernel=0)
