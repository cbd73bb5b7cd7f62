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
    # synth-clip: 64 px images, 8 px patches -> 64 patches + the class token, width 128.
    assert features.shape == (3, 65, 128) == (3, synth_clip.tokens, synth_clip.dim)
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
