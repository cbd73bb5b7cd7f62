"""Patch features from the registry's image towers, and uniform sampling with decoder timestamps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chronolens.errors import ModelNotFoundError
from chronolens.models.timechat.features import FrameFeatures, sample_video


@pytest.fixture(scope="module")
def synth_clip() -> FrameFeatures:
    return FrameFeatures("builtin:synth-clip", device="cpu")


def test_builtin_tower_gives_patch_features(synth_clip: FrameFeatures) -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(3, 40, 56, 3), dtype=np.uint8)
    features = synth_clip(frames)
    # synth-clip: 96 px images, 8 px patches -> 144 patches + the class token, width 128.
    assert features.shape == (3, 145, 128) == (3, synth_clip.tokens, synth_clip.dim)
    assert features.dtype == np.float32
    assert np.allclose(synth_clip(frames[1:2]), features[1:2], atol=1e-5)  # batching does not matter
    assert not np.allclose(features[0], features[1])
    with pytest.raises(ValueError, match="uint8"):
        synth_clip(frames.astype(np.float32))


def test_unknown_encoder_is_reported() -> None:
    with pytest.raises(ModelNotFoundError):
        FrameFeatures("builtin:no-such-model")


def test_sample_video_uses_decoder_timestamps(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=40, fps=10)  # 4 s
    frames, timestamps, duration = sample_video(path, 8)
    assert frames.shape[0] == timestamps.shape[0] == 8 and frames.dtype == np.uint8
    assert timestamps.dtype == np.float64
    assert np.all(np.diff(timestamps) > 0)
    assert 0.0 <= timestamps[0] < 0.5 and 3.5 <= timestamps[-1] < 4.0
    assert duration == pytest.approx(4.0, abs=0.11)


def test_image_embeddings_from_cached_features_match_the_encoder(synth_clip: FrameFeatures) -> None:
    import torch

    from chronolens.encoders.registry import load_encoder

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, size=(4, 48, 48, 3), dtype=np.uint8)
    from_features = synth_clip.image_embeddings(torch.from_numpy(synth_clip(frames)))
    direct = load_encoder("builtin:synth-clip", device="cpu", precision="fp32").encode_images(frames)
    assert from_features.shape == direct.shape == (4, synth_clip.embedding_dim) == (4, 128)
    assert np.allclose(from_features.numpy(), direct, atol=1e-5)  # the same head as get_image_features
    batched = synth_clip.image_embeddings(torch.from_numpy(np.stack([synth_clip(frames)] * 2)))
    assert batched.shape == (2, 4, 128) and torch.allclose(batched[1], from_features, atol=1e-6)


def test_text_side_of_the_tower(synth_clip: FrameFeatures) -> None:
    assert synth_clip.knows_word("crimson") and synth_clip.knows_word("circle")
    assert not synth_clip.knows_word("qwzx")
    text = synth_clip.text_embeddings(["a red circle", "a blue square"])
    assert text.shape == (2, 128)
    assert np.allclose(text.norm(dim=-1).numpy(), 1.0, atol=1e-5)
