"""DiffFP: a changing frame keeps every patch, a static frame's are dropped, positions survive."""

from __future__ import annotations

import pytest
import torch

from chronolens.models.layers import DiffFP, DiffFPConfig, patchify


def _frames() -> torch.Tensor:
    """(1, 4, 8, 8, 3) pixels in [0, 1]: a frame, the same again, a new one, then one patch changed."""
    generator = torch.Generator().manual_seed(0)
    first = torch.rand(8, 8, 3, generator=generator)
    changed = torch.rand(8, 8, 3, generator=generator)
    last = changed.clone()
    last[4:, 4:] = 1.0 - last[4:, 4:]  # only the bottom-right 4 x 4 patch moves
    return torch.stack([first, first.clone(), changed, last])[None]


def test_defaults_are_videollama3s() -> None:
    assert (DiffFPConfig().threshold, DiffFPConfig().patch) == (0.1, 14)
    assert DiffFPConfig().output_tokens(8, 16) == 8 * 16
    assert DiffFPConfig().output_tokens(8, 16, kept_fraction=0.0) == 16
    assert DiffFPConfig().output_tokens(9, 10, kept_fraction=0.25) == 10 + 20


def test_patchify_layout() -> None:
    frames = torch.arange(4 * 4, dtype=torch.float32).reshape(1, 1, 4, 4, 1)
    patches = patchify(frames, 2)
    assert patches.shape == (1, 1, 4, 4)
    assert patches[0, 0, 1].tolist() == [2.0, 3.0, 6.0, 7.0]  # top-right patch
    with pytest.raises(ValueError, match="multiple of the patch size"):
        patchify(torch.zeros(1, 1, 5, 4, 1), 2)


def test_static_frame_dropped_changing_frame_kept_first_frame_whole() -> None:
    config = DiffFPConfig.tiny()
    pixels = patchify(_frames(), config.patch)  # (1, 4, 4, 48)
    keep = DiffFP(config).keep_mask(pixels, torch.ones(1, 4, dtype=torch.bool))
    assert keep[0].tolist() == [
        [True] * 4,  # the first frame is kept whole
        [False] * 4,  # a static frame loses every patch
        [True] * 4,  # a changing frame keeps every patch
        [False, False, False, True],  # only the patch that moved
    ]


def test_pack_keeps_time_order_and_positions() -> None:
    config = DiffFPConfig.tiny()
    pixels = patchify(_frames(), config.patch)
    tokens = torch.randn(1, 4, 4, 5)
    out = DiffFP(config)(tokens, torch.ones(1, 4, dtype=torch.bool), values=pixels)
    assert out.tokens.shape == (1, 9, 5) and bool(out.mask.all())
    assert [s[0] for s in out.spans[0].tolist()] == [0, 0, 0, 0, 2, 2, 2, 2, 3]
    assert torch.equal(out.tokens[0, 4:8], tokens[0, 2]) and torch.equal(out.tokens[0, 8], tokens[0, 3, 3])
    packed = DiffFP.pack(tokens, DiffFP(config).keep_mask(pixels, torch.ones(1, 4, dtype=torch.bool)))
    assert packed.patches[0].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, 3]


def test_threshold_and_padding() -> None:
    values = torch.zeros(2, 3, 1, 1)
    values[:, 1] = 0.05  # below 0.1: dropped
    values[:, 2] = 0.5  # above: kept
    keep = DiffFP(DiffFPConfig())(values, torch.tensor([[True, True, True], [True, True, False]]))
    assert keep.mask.tolist() == [[True, True], [True, False]]
    assert keep.spans[:, :, 0].tolist() == [[0, 2], [0, -1]]
    with pytest.raises(ValueError, match=r"DiffFPConfig\.threshold"):
        DiffFPConfig(threshold=-1.0)
