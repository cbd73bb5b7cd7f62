"""CLIP4Clip heads (masking, shapes, gradients) and Clip4ClipEncoder over builtin:synth-clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chronolens.encoders import load_encoder
from chronolens.encoders.clip_base import ClipEncoder, encode_video_clips
from chronolens.models.clip4clip import (
    POOLING_HEADS,
    Clip4ClipEncoder,
    Clip4ClipHeadConfig,
    TightTransformer,
    build_pooling_head,
    head_sha256,
    masked_mean,
)

DIM = 16
CONFIG = Clip4ClipHeadConfig.tiny(DIM)


def _head(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_pooling_head(kind, CONFIG).eval()


@pytest.mark.parametrize("kind", POOLING_HEADS)
def test_padding_frames_do_not_change_the_pooled_embedding(kind: str) -> None:
    head = _head(kind)
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(3, 5, DIM, generator=gen)  # 3 clips of 5 real frames
    junk = 100 * torch.randn(3, 3, DIM, generator=gen)  # 3 padding frames of wild values
    padded = torch.cat([real, junk], dim=1)
    mask = torch.cat([torch.ones(3, 5, dtype=torch.bool), torch.zeros(3, 3, dtype=torch.bool)], dim=1)
    with torch.no_grad():
        unpadded = head(real, torch.ones(3, 5, dtype=torch.bool))
        pooled = head(padded, mask)
        junk_changed = head(torch.cat([real, -junk], dim=1), mask)
    assert pooled.shape == (3, DIM)
    torch.testing.assert_close(pooled, unpadded, atol=1e-6, rtol=0)
    torch.testing.assert_close(junk_changed, pooled, atol=1e-6, rtol=0)


def test_clips_of_different_lengths_in_one_batch() -> None:
    """A batch mixing a full clip and a short padded one pools each as if alone."""
    gen = torch.Generator().manual_seed(2)
    frames = torch.randn(2, 6, DIM, generator=gen)
    mask = torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    for kind in POOLING_HEADS:
        head = _head(kind)
        with torch.no_grad():
            both = head(frames, mask)
            short = head(frames[1:, :2], torch.ones(1, 2, dtype=torch.bool))
        torch.testing.assert_close(both[1:], short, atol=1e-6, rtol=0)


def test_mean_pooling_is_the_masked_mean_of_unit_frames() -> None:
    frames = torch.tensor([[[3.0, 4.0], [0.0, 2.0], [9.0, 9.0]]])
    mask = torch.tensor([[True, True, False]])
    expected = torch.tensor([[0.3, 0.9]])  # mean of (0.6, 0.8) and (0, 1)
    torch.testing.assert_close(build_pooling_head("meanP", CONFIG)(frames, mask), expected)
    torch.testing.assert_close(masked_mean(frames, mask), torch.tensor([[1.5, 3.0]]))
    nan_pad = torch.tensor([[[1.0, 1.0], [float("nan"), float("inf")]]])
    assert torch.isfinite(masked_mean(nan_pad, torch.tensor([[True, False]]))).all()


def test_seq_heads_see_frame_order_mean_pooling_does_not() -> None:
    gen = torch.Generator().manual_seed(3)
    frames = torch.randn(1, 4, DIM, generator=gen)
    reversed_frames = frames.flip(1)
    mask = torch.ones(1, 4, dtype=torch.bool)
    for kind in POOLING_HEADS:
        head = _head(kind)
        with torch.no_grad():
            gap = (head(frames, mask) - head(reversed_frames, mask)).abs().max().item()
        if kind == "meanP":
            assert gap < 1e-6
        else:
            assert gap > 1e-4, kind


@pytest.mark.parametrize("kind", ["seqLSTM", "seqTransf"])
def test_gradients_reach_every_parameter(kind: str) -> None:
    head = _head(kind).train()
    frames = torch.randn(2, 4, DIM, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    head(frames, mask).pow(2).sum().backward()
    assert frames.grad is not None and torch.isfinite(frames.grad).all()
    assert frames.grad[1, 2:].abs().max() == 0  # padded inputs get no gradient
    for name, parameter in head.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    # the position rows of real frames learn; a row no frame used stays untouched
    if kind == "seqTransf":
        grads = head.frame_position_embeddings.weight.grad
        assert grads[:4].abs().sum() > 0 and grads[4:].abs().sum() == 0


def test_tight_transformer_scores_pairs_with_masking_and_gradients() -> None:
    torch.manual_seed(0)
    head = TightTransformer(CONFIG).eval()
    gen = torch.Generator().manual_seed(4)
    tokens = torch.randn(3, 5, DIM, generator=gen)
    token_mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] * 1 + [False] * 4])
    frames = torch.randn(2, 6, DIM, generator=gen)
    frame_mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    with torch.no_grad():
        scores = head(tokens, token_mask, frames, frame_mask)
        noisy = head(
            torch.where(token_mask.unsqueeze(-1), tokens, 50.0),
            token_mask,
            torch.where(frame_mask.unsqueeze(-1), frames, -50.0),
            frame_mask,
        )
    assert scores.shape == (3, 2)
    torch.testing.assert_close(noisy, scores, atol=1e-5, rtol=0)
    head.train()
    frames.requires_grad_(True)
    head(tokens, token_mask, frames, frame_mask).sum().backward()
    assert frames.grad is not None and frames.grad[1, 4:].abs().max() == 0
    assert all(p.grad is not None for p in head.parameters())


def test_head_validation() -> None:
    head = _head("seqTransf")
    with pytest.raises(ValueError, match="at least one real frame"):
        head(torch.zeros(1, 3, DIM), torch.zeros(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="positions for 16 frames"):
        head(torch.zeros(1, 17, DIM), torch.ones(1, 17, dtype=torch.bool))
    with pytest.raises(ValueError, match="real frames first"):
        _head("seqLSTM")(torch.zeros(1, 3, DIM), torch.tensor([[False, True, True]]))
    with pytest.raises(ValueError, match="did you mean 'seqTransf'"):
        build_pooling_head("seqTransformer", CONFIG)
    with pytest.raises(ValueError, match="TightTransformer"):
        build_pooling_head("tightTransf", CONFIG)
    with pytest.raises(ValueError, match="multiple of heads"):
        Clip4ClipHeadConfig(dim=10, heads=3)


@pytest.fixture(scope="module")
def synth_clip():  # type: ignore[no-untyped-def]
    return load_encoder("builtin:synth-clip", device="cpu", precision="fp32")


def test_clip4clip_encoder_over_synth_clip(synth_clip) -> None:  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    config = Clip4ClipHeadConfig.tiny(synth_clip.dim)
    encoder = Clip4ClipEncoder(synth_clip, build_pooling_head("seqTransf", config), clip_frames=4)
    assert isinstance(encoder, ClipEncoder)
    assert encoder.name == "clip4clip-seqTransf:builtin:synth-clip"
    assert len(encoder.weights_sha256) == 64 and encoder.weights_sha256 != synth_clip.weights_sha256
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 40, 40, 3), dtype=np.uint8)
    embeddings, _ = encode_video_clips(encoder, frames, np.arange(6.0))
    assert embeddings.shape == (2, synth_clip.dim) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # the padded last clip (frames 2..5) equals the same clip unpadded through the head directly
    alone = encoder.frame_embeddings(frames[None, 2:6], np.ones((1, 4), dtype=bool))
    with torch.no_grad():
        direct = torch.nn.functional.normalize(
            encoder.head(torch.from_numpy(alone), torch.ones(1, 4, dtype=torch.bool)), dim=-1
        )
    np.testing.assert_allclose(embeddings[1], direct[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(
        encoder.encode_texts(["a red square"]), synth_clip.encode_texts(["a red square"])
    )


def test_mean_head_encoder_is_frame_mean_pooling(synth_clip) -> None:  # type: ignore[no-untyped-def]
    encoder = Clip4ClipEncoder(synth_clip, build_pooling_head("meanP", CONFIG), clip_frames=3)
    frames = np.random.default_rng(1).integers(0, 256, (1, 3, 32, 32, 3), dtype=np.uint8)
    mask = np.array([[True, True, False]])
    got = encoder.encode_clips(frames, np.zeros((1, 3)), mask)
    singles = synth_clip.encode_images(frames[0, :2])
    expected = singles.mean(axis=0) / np.linalg.norm(singles.mean(axis=0))
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    assert head_sha256(build_pooling_head("meanP", CONFIG)) == head_sha256(
        build_pooling_head("meanP", CONFIG)
    )


def test_head_width_must_match_the_frame_encoder(synth_clip) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="head dim 16"):
        Clip4ClipEncoder(synth_clip, build_pooling_head("seqLSTM", CONFIG))
