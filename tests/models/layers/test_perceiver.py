"""Perceiver resampler: shapes, output count independent of input length, masking, gradients."""

from __future__ import annotations

import pytest
import torch

from chronolens.models.layers import PerceiverConfig, PerceiverResampler


def test_paper_defaults() -> None:
    config = PerceiverConfig()
    assert (config.latents, config.layers, config.heads, config.head_dim) == (64, 6, 8, 64)
    assert [config.output_tokens(n) for n in (8, 32, 96, 600)] == [64, 64, 64, 64]


@pytest.mark.parametrize("n_units", [1, 3, 7, 16])
@pytest.mark.parametrize("per_unit", [1, 5])
def test_output_count_is_independent_of_input_length(n_units: int, per_unit: int) -> None:
    config = PerceiverConfig.tiny()
    model = PerceiverResampler(config).eval()
    units = torch.randn(2, n_units, per_unit, config.dim, generator=torch.Generator().manual_seed(0))
    out = model(units, torch.ones(2, n_units, dtype=torch.bool))
    assert out.tokens.shape == (2, config.latents, config.dim)
    assert out.tokens.shape[1] == config.output_tokens(n_units, per_unit)
    assert bool(out.mask.all())
    # Every latent stands for the whole video.
    assert out.spans.tolist() == [[[0, n_units - 1]] * config.latents] * 2


def test_padded_units_never_change_the_output_and_order_matters() -> None:
    config = PerceiverConfig.tiny()
    model = PerceiverResampler(config).eval()
    units = torch.randn(1, 6, 3, config.dim)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    out = model(units, mask)
    changed = units.clone()
    changed[0, 4:] = 100.0
    assert torch.allclose(model(changed, mask).tokens, out.tokens, atol=1e-6)
    assert out.spans[0, 0].tolist() == [0, 3]
    swapped = units[:, [1, 0, 2, 3, 4, 5]]  # the temporal embeddings tell the frames apart
    assert float((model(swapped, mask).tokens - out.tokens).abs().max().detach()) > 1e-4
    none = model(units, torch.zeros(1, 6, dtype=torch.bool))
    assert not bool(none.mask.any()) and float(none.tokens.abs().max().detach()) == 0.0
    assert none.spans.eq(-1).all()


def test_gradients_reach_latents_and_inputs() -> None:
    config = PerceiverConfig.tiny()
    model = PerceiverResampler(config)
    units = torch.randn(1, 4, 2, config.dim, requires_grad=True)
    out = model(units, torch.ones(1, 4, dtype=torch.bool)).tokens
    (out * torch.randn(out.shape)).sum().backward()  # a plain sum is flat after the LayerNorm
    assert units.grad is not None and float(units.grad.abs().sum()) > 0
    assert all(p.grad is not None for p in model.parameters())


def test_too_many_units_and_bad_config_are_named() -> None:
    config = PerceiverConfig.tiny(max_units=4)
    with pytest.raises(ValueError, match="max_units"):
        PerceiverResampler(config)(torch.randn(1, 5, 1, config.dim), torch.ones(1, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"PerceiverConfig\.latents"):
        PerceiverConfig(latents=0)
