"""Torch image preprocessing against transformers' (PIL-backed) reference processors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from chronolens.encoders.preprocess import (
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    ImagePreprocessConfig,
    load_preprocess_config,
    preprocess_images,
)
from chronolens.errors import FormatError

# One grey level of difference after uint8 rounding, divided by the smallest std.
ONE_LEVEL = 1 / 255 / min(OPENAI_CLIP_STD)

CLIP_224 = ImagePreprocessConfig(shortest_edge=224, crop_size=(224, 224))


def smooth_frames(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random but smooth RGB frames (upsampled noise), like real footage rather than pure noise."""
    gen = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, max(height // 8, 2), max(width // 8, 2), generator=gen)
    fine = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return (fine * 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


@pytest.mark.parametrize(("height", "width"), [(90, 160), (160, 90), (224, 224), (100, 100)])
def test_clip_output_shape_and_dtype(height: int, width: int) -> None:
    out = preprocess_images(smooth_frames(2, height, width), CLIP_224)
    assert out.shape == (2, 3, 224, 224)
    assert out.dtype == torch.float32


def test_solid_colour_normalises_exactly() -> None:
    frames = np.zeros((1, 50, 80, 3), dtype=np.uint8)
    frames[:] = (255, 128, 0)
    out = preprocess_images(frames, CLIP_224)
    expected = [
        (v / 255 - m) / s for v, m, s in zip((255, 128, 0), OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, strict=True)
    ]
    for channel, value in enumerate(expected):
        torch.testing.assert_close(out[0, channel], torch.full((224, 224), value), atol=1e-5, rtol=0)


def test_centre_crop_takes_the_middle() -> None:
    # A landscape frame whose left and right thirds are black and middle third white: after
    # resizing the short side to 30 and cropping 30x30 from a 30x90 image, only white remains.
    frames = np.zeros((1, 30, 90, 3), dtype=np.uint8)
    frames[:, :, 30:60] = 255
    config = ImagePreprocessConfig(shortest_edge=30, crop_size=(30, 30), mean=(0, 0, 0), std=(1, 1, 1))
    out = preprocess_images(frames, config)
    torch.testing.assert_close(out, torch.ones(1, 3, 30, 30))


@pytest.mark.parametrize(("height", "width"), [(90, 160), (173, 61), (300, 300), (20, 28)])
def test_matches_transformers_clip_processor(height: int, width: int) -> None:
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    frames = smooth_frames(2, height, width, seed=height)
    reference = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    expected = torch.as_tensor(np.stack(reference(list(frames), return_tensors="np")["pixel_values"]))
    ours = preprocess_images(frames, ImagePreprocessConfig(shortest_edge=32, crop_size=(32, 32)))
    assert ours.shape == expected.shape
    diff = (ours - expected).abs()
    assert diff.max().item() <= ONE_LEVEL + 1e-4
    assert diff.mean().item() < 0.25 * ONE_LEVEL  # most pixels identical, the rest one level off


def test_matches_transformers_siglip_processor() -> None:
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    frames = smooth_frames(2, 72, 128, seed=3)
    reference = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    expected = torch.as_tensor(np.stack(reference(list(frames), return_tensors="np")["pixel_values"]))
    config = ImagePreprocessConfig(resize_to=(32, 32), crop_size=None, mean=(0.5,) * 3, std=(0.5,) * 3)
    ours = preprocess_images(frames, config)
    assert ours.shape == expected.shape == (2, 3, 32, 32)
    assert (ours - expected).abs().max().item() <= 2 / 255 / 0.5 + 1e-4


def test_rejects_wrong_frames() -> None:
    with pytest.raises(ValueError, match="uint8"):
        preprocess_images(np.zeros((2, 8, 8, 3), dtype=np.float32), CLIP_224)
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        preprocess_images(np.zeros((8, 8, 3), dtype=np.uint8), CLIP_224)


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="shortest_edge"):
        ImagePreprocessConfig(shortest_edge=-1)
    with pytest.raises(ValueError, match="exactly one"):
        ImagePreprocessConfig(shortest_edge=224, resize_to=(224, 224))
    with pytest.raises(ValueError, match="interpolation"):
        ImagePreprocessConfig(shortest_edge=224, interpolation="lanczos")
    with pytest.raises(ValueError, match="std"):
        ImagePreprocessConfig(shortest_edge=224, std=(0.0, 1.0, 1.0))


def test_load_config_reads_preprocessor_json(tmp_path: Path) -> None:
    (tmp_path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "do_resize": True,
                "size": {"shortest_edge": 336},
                "crop_size": {"height": 336, "width": 336},
                "do_center_crop": True,
                "resample": 2,
                "image_mean": [0.1, 0.2, 0.3],
                "image_std": [0.4, 0.5, 0.6],
            }
        )
    )
    config = load_preprocess_config(tmp_path, CLIP_224)
    assert config.shortest_edge == 336
    assert config.crop_size == (336, 336)
    assert config.interpolation == "bilinear"
    assert config.mean == (0.1, 0.2, 0.3)
    assert config.std == (0.4, 0.5, 0.6)


def test_load_config_siglip_exact_resize(tmp_path: Path) -> None:
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({"size": {"height": 256, "width": 256}}))
    config = load_preprocess_config(tmp_path, CLIP_224)
    assert config.resize_to == (256, 256)
    assert config.shortest_edge is None
    assert config.crop_size is None
    assert config.output_size == (256, 256)


def test_load_config_defaults_without_file(tmp_path: Path) -> None:
    assert load_preprocess_config(tmp_path, CLIP_224) is CLIP_224


def test_load_config_bad_json_is_a_format_error(tmp_path: Path) -> None:
    (tmp_path / "preprocessor_config.json").write_text("{not json")
    with pytest.raises(FormatError, match=r"preprocessor_config\.json"):
        load_preprocess_config(tmp_path, CLIP_224)
