"""Cutting videos into overlapping clips (encoders.clip_base) and the timesformer: backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.encoders.tiny import save_tiny_clip

from chronolens.encoders import load_encoder
from chronolens.encoders.clip_base import ClipEncoder, ClipLayout, clip_windows, default_stride, gather_clips
from chronolens.encoders.timesformer import TimesformerEncoder
from chronolens.errors import ChronolensError, ModelNotFoundError


def test_windows_cover_every_frame_with_half_clip_stride() -> None:
    times = np.arange(21, dtype=np.float64)  # 1 fps
    windows = clip_windows(times, 8)
    assert windows.layout == ClipLayout(clip_frames=8, stride_frames=4)
    assert windows.indices[:, 0].tolist() == [0, 4, 8, 12, 16]
    # the last clip reaches past frame 20: frames 21..23 repeat frame 20 and are masked out
    assert windows.indices[-1].tolist() == [16, 17, 18, 19, 20, 20, 20, 20]
    assert windows.mask[-1].tolist() == [True] * 5 + [False] * 3
    assert windows.mask[:-1].all()
    np.testing.assert_allclose(windows.times[-1], [16, 17, 18, 19, 20, 20, 20, 20])
    np.testing.assert_allclose(windows.centres, [3.5, 7.5, 11.5, 15.5, 18.0])
    assert set(windows.indices.ravel()) == set(range(21))


def test_exact_fit_has_no_padded_clip() -> None:
    windows = clip_windows(np.arange(20) * 0.5, 8)
    assert windows.indices[:, 0].tolist() == [0, 4, 8, 12]
    assert windows.mask.all()
    assert windows.ends[-1] == pytest.approx(9.5)


def test_video_shorter_than_a_clip_is_one_padded_clip() -> None:
    windows = clip_windows(np.array([0.0, 1.0, 2.0]), 8)
    assert len(windows) == 1
    assert windows.mask[0].sum() == 3
    assert windows.starts[0] == 0.0 and windows.ends[0] == 2.0 and windows.centres[0] == 1.0


def test_single_frame_video_and_empty_video() -> None:
    one = clip_windows(np.array([0.0]), 4)
    assert one.indices.tolist() == [[0, 0, 0, 0]] and one.mask.tolist() == [[True, False, False, False]]
    assert one.centres.tolist() == [0.0]
    empty = clip_windows(np.zeros(0), 4)
    assert len(empty) == 0 and empty.indices.shape == (0, 4) and empty.mask.dtype == bool


def test_stride_and_length_validation() -> None:
    assert default_stride(1) == 1 and default_stride(8) == 4 and default_stride(9) == 4
    with pytest.raises(ValueError, match="stride_frames"):
        clip_windows(np.arange(10.0), 4, stride=5)
    with pytest.raises(ValueError, match="clip_frames"):
        clip_windows(np.arange(10.0), 0)
    with pytest.raises(ValueError, match="times must be"):
        clip_windows(np.zeros((2, 2)), 4)
    assert ClipLayout(clip_frames=8, stride_frames=8).to_dict() == {"clip_frames": 8, "stride_frames": 8}


def test_gather_clips_copies_the_windowed_frames() -> None:
    frames = np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
    windows = clip_windows(np.arange(5.0), 4, stride=2)
    pixels = gather_clips(frames, windows)
    assert pixels.shape == (2, 4, 2, 2, 3)
    assert pixels[:, :, 0, 0, 0].tolist() == [[0, 1, 2, 3], [2, 3, 4, 4]]
    assert gather_clips(frames, windows, slice(1, 2)).shape == (1, 4, 2, 2, 3)


def _save_tiny_timesformer(directory: Path, attention_type: str = "divided_space_time") -> Path:
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    config = TimesformerConfig(
        image_size=32,
        patch_size=8,
        num_frames=4,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        attention_type=attention_type,
        num_labels=3,
    )
    torch.manual_seed(0)
    # a video classifier, as the Kinetics checkpoints are: the backbone loads, the classifier is left
    model = TimesformerForVideoClassification(config).eval()
    with torch.no_grad():  # time embeddings start at zero; a trained model's are not
        model.timesformer.embeddings.time_embeddings.normal_(std=0.5)
    model.save_pretrained(directory, safe_serialization=True)
    return directory


@pytest.mark.parametrize("attention_type", ["divided_space_time", "joint_space_time"])
def test_timesformer_backbone_matches_transformers(tmp_path: Path, attention_type: str) -> None:
    from transformers import TimesformerModel

    directory = _save_tiny_timesformer(tmp_path / "tsf", attention_type)
    encoder = load_encoder(f"timesformer:{directory}", device="cpu", precision="fp32", batch_size=4)
    assert isinstance(encoder, TimesformerEncoder) and isinstance(encoder, ClipEncoder)
    assert (encoder.dim, encoder.clip_frames, encoder.image_size) == (32, 4, 32)
    video = np.random.default_rng(0).integers(0, 256, (3, 4, 36, 40, 3), dtype=np.uint8)
    ours = encoder.encode_clips(video, np.zeros((3, 4)))
    reference = TimesformerModel.from_pretrained(directory).eval()
    with torch.no_grad():
        cls = reference(pixel_values=encoder.pixel_values(video)).last_hidden_state[:, 0]
    np.testing.assert_allclose(ours, torch.nn.functional.normalize(cls, dim=-1).numpy(), atol=1e-5)
    # order matters to a space-time model: reversing the frames changes the embedding
    assert np.abs(encoder.encode_clips(video[:, ::-1].copy(), np.zeros((3, 4))) - ours).max() > 1e-4
    with pytest.raises(ChronolensError, match="without a text tower"):
        encoder.encode_texts(["a dog"])
    via_hf = load_encoder(f"hf:{directory}", device="cpu", precision="fp32")
    assert isinstance(via_hf, TimesformerEncoder) and via_hf.name == f"hf:{directory}"
    with pytest.raises(ModelNotFoundError, match="not 'timesformer'"):
        load_encoder(f"timesformer:{save_tiny_clip(tmp_path / 'clip')}", device="cpu")
