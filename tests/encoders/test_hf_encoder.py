"""hf: encoders on tiny random-init CLIP / SigLIP directories, against transformers itself."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.encoders.tiny import (
    TINY_PROJECTION,
    TINY_TEXT_POSITIONS,
    TINY_WIDTH,
    save_tiny_clip,
    save_tiny_siglip,
)

from chronolens.encoders import Encoder, load_encoder
from chronolens.encoders import precision as precision_module
from chronolens.encoders.hf import HFEncoder
from chronolens.errors import ModelNotFoundError

TEXTS = [
    "a red car",
    "the dog jumps over a box",
    "a person puts a box on the table",
    "zebra",  # out of vocabulary
    "a man and a woman walk left with a big ball and a small cat in the scene at the door",  # > 16 tokens
]


def frames(n: int, height: int = 40, width: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def siglip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_siglip(tmp_path_factory.mktemp("tiny-siglip"))


@pytest.fixture(scope="module")
def clip(clip_dir: Path) -> HFEncoder:
    encoder = load_encoder(f"hf:{clip_dir}", device="cpu", precision="fp32")
    assert isinstance(encoder, HFEncoder)
    return encoder


@pytest.fixture(scope="module")
def siglip(siglip_dir: Path) -> HFEncoder:
    encoder = load_encoder(f"hf:{siglip_dir}", device="cpu", precision="fp32")
    assert isinstance(encoder, HFEncoder)
    return encoder


def unit(x: torch.Tensor) -> np.ndarray:
    return torch.nn.functional.normalize(x.float(), dim=-1).numpy()


def features(output: object) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.pooler_output  # type: ignore[attr-defined]


def test_save_tiny_clip_is_fast(tmp_path: Path) -> None:
    save_tiny_clip(tmp_path / "warm")  # first call pays imports
    started = time.perf_counter()
    save_tiny_clip(tmp_path / "timed")
    assert time.perf_counter() - started < 2.0  # typically 0.1 s; slack for a busy shared machine


def test_protocol_and_metadata(clip: HFEncoder, clip_dir: Path) -> None:
    assert isinstance(clip, Encoder)
    assert clip.name == f"hf:{clip_dir}"
    assert clip.dim == TINY_PROJECTION
    assert clip.image_size == 32
    assert clip.dtype == torch.float32


def test_image_embeddings_shape_dtype_norm(clip: HFEncoder) -> None:
    out = clip.encode_images(frames(5))
    assert out.shape == (5, TINY_PROJECTION)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.abs(out[0] - out[1]).max() > 1e-3  # different images, different embeddings


def test_text_embeddings_shape_dtype_norm(clip: HFEncoder) -> None:
    out = clip.encode_texts(TEXTS)
    assert out.shape == (len(TEXTS), TINY_PROJECTION)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_empty_inputs(clip: HFEncoder) -> None:
    assert clip.encode_images(np.zeros((0, 8, 8, 3), np.uint8)).shape == (0, TINY_PROJECTION)
    assert clip.encode_texts([]).shape == (0, TINY_PROJECTION)


def test_rejects_bad_inputs(clip: HFEncoder) -> None:
    with pytest.raises(ValueError, match="uint8"):
        clip.encode_images(frames(2).astype(np.float32))
    with pytest.raises(TypeError, match="sequence of strings"):
        clip.encode_texts("a red car")


def test_batch_size_invariance(clip_dir: Path, clip: HFEncoder) -> None:
    small = load_encoder(f"hf:{clip_dir}", device="cpu", precision="fp32", batch_size=3)
    batch = frames(7, seed=1)
    np.testing.assert_allclose(small.encode_images(batch), clip.encode_images(batch), atol=1e-5)
    np.testing.assert_allclose(small.encode_texts(TEXTS), clip.encode_texts(TEXTS), atol=1e-5)
    # And one at a time equals in a batch.
    np.testing.assert_allclose(clip.encode_images(batch[2:3])[0], clip.encode_images(batch)[2], atol=1e-5)


def test_image_parity_with_transformers(clip: HFEncoder, clip_dir: Path) -> None:
    from transformers import CLIPModel

    reference = CLIPModel.from_pretrained(clip_dir).eval()
    batch = frames(4, seed=2)
    with torch.inference_mode():
        expected = unit(features(reference.get_image_features(pixel_values=clip.pixel_values(batch))))
    np.testing.assert_allclose(clip.encode_images(batch), expected, atol=1e-5)


def test_end_to_end_close_to_transformers_processor(clip: HFEncoder, clip_dir: Path) -> None:
    from transformers import CLIPModel
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    reference = CLIPModel.from_pretrained(clip_dir).eval()
    processor = CLIPImageProcessorPil.from_pretrained(clip_dir)
    batch = frames(4, height=45, width=80, seed=3)
    pixels = torch.as_tensor(np.stack(processor(list(batch), return_tensors="np")["pixel_values"]))
    with torch.inference_mode():
        expected = unit(features(reference.get_image_features(pixel_values=pixels)))
    cosine = (clip.encode_images(batch) * expected).sum(axis=1)
    assert cosine.min() > 0.999


def test_text_parity_with_transformers(clip: HFEncoder, clip_dir: Path) -> None:
    from transformers import AutoTokenizer, CLIPModel

    reference = CLIPModel.from_pretrained(clip_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(clip_dir)
    inputs = tokenizer(
        TEXTS, padding=True, truncation=True, max_length=TINY_TEXT_POSITIONS, return_tensors="pt"
    )
    assert inputs["input_ids"].shape[1] == TINY_TEXT_POSITIONS  # the long text was truncated
    with torch.inference_mode():
        expected = unit(features(reference.get_text_features(**inputs)))
    np.testing.assert_allclose(clip.encode_texts(TEXTS), expected, atol=1e-5)


def test_clip_text_padding_does_not_change_embeddings(clip: HFEncoder) -> None:
    # "longest" padding + attention mask: a short text embeds the same alone or beside a long one.
    alone = clip.encode_texts(["a red car"])[0]
    padded = clip.encode_texts(["a red car", TEXTS[-1]])[0]
    np.testing.assert_allclose(alone, padded, atol=1e-5)


def test_siglip(siglip: HFEncoder, siglip_dir: Path) -> None:
    from transformers import SiglipModel

    assert siglip.dim == TINY_WIDTH
    assert siglip.preprocess.resize_to == (32, 32) and siglip.preprocess.crop_size is None
    tokens = siglip.tokenize(["a red car", "the dog"])
    assert set(tokens) == {"input_ids"}  # SigLIP was trained without an attention mask
    assert tokens["input_ids"].shape == (2, TINY_TEXT_POSITIONS)  # padding="max_length"

    reference = SiglipModel.from_pretrained(siglip_dir).eval()
    batch = frames(3, seed=4)
    with torch.inference_mode():
        image_ref = unit(features(reference.get_image_features(pixel_values=siglip.pixel_values(batch))))
        text_ref = unit(features(reference.get_text_features(**siglip.tokenize(TEXTS))))
    images, texts = siglip.encode_images(batch), siglip.encode_texts(TEXTS)
    assert images.shape == (3, TINY_WIDTH) and texts.shape == (len(TEXTS), TINY_WIDTH)
    np.testing.assert_allclose(images, image_ref, atol=1e-5)
    np.testing.assert_allclose(texts, text_ref, atol=1e-5)


def test_bf16_close_to_fp32(clip_dir: Path, clip: HFEncoder) -> None:
    bf16 = load_encoder(f"hf:{clip_dir}", device="cpu", precision="bf16")
    assert isinstance(bf16, HFEncoder) and bf16.dtype == torch.bfloat16
    batch = frames(6, seed=5)
    image_cos = (bf16.encode_images(batch) * clip.encode_images(batch)).sum(axis=1)
    text_cos = (bf16.encode_texts(TEXTS) * clip.encode_texts(TEXTS)).sum(axis=1)
    assert bf16.encode_images(batch).dtype == np.float32
    assert image_cos.min() > 0.99
    assert text_cos.min() > 0.99


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_precision_auto_follows_cpu_support(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: torch.dtype
) -> None:
    monkeypatch.setattr(precision_module, "cpu_has_native_bf16", lambda: native)
    assert precision_module.resolve_precision("auto", torch.device("cpu")) == expected
    assert precision_module.resolve_precision("fp32", torch.device("cpu")) == torch.float32
    assert precision_module.resolve_precision("bf16", torch.device("cpu")) == torch.bfloat16


def test_invalid_precision(clip_dir: Path) -> None:
    with pytest.raises(ValueError, match="precision"):
        load_encoder(f"hf:{clip_dir}", precision="fp16")
    with pytest.raises(ValueError, match="batch_size"):
        load_encoder(f"hf:{clip_dir}", batch_size=0)


def test_weights_sha256(tmp_path: Path, clip: HFEncoder, clip_dir: Path) -> None:
    expected = hashlib.sha256((clip_dir / "model.safetensors").read_bytes()).hexdigest()
    assert clip.weights_sha256 == expected
    assert load_encoder(f"hf:{clip_dir}", device="cpu").weights_sha256 == expected  # stable across loads
    same_seed = save_tiny_clip(tmp_path / "same")
    other_seed = save_tiny_clip(tmp_path / "other", seed=1)
    assert load_encoder(f"hf:{same_seed}", device="cpu").weights_sha256 == expected
    assert load_encoder(f"hf:{other_seed}", device="cpu").weights_sha256 != expected


def test_without_preprocessor_config_uses_family_defaults(tmp_path: Path, clip: HFEncoder) -> None:
    directory = save_tiny_clip(tmp_path / "bare", preprocessor=False)
    bare = load_encoder(f"hf:{directory}", device="cpu", precision="fp32")
    assert isinstance(bare, HFEncoder)
    assert bare.preprocess == clip.preprocess  # CLIP defaults at the config's image size
    batch = frames(2, seed=6)
    np.testing.assert_allclose(bare.encode_images(batch), clip.encode_images(batch), atol=1e-5)


def test_offline_hub_id_is_model_not_found() -> None:
    with pytest.raises(ModelNotFoundError, match=r"nor in the Hugging Face cache.*pass a local directory"):
        load_encoder("hf:openai/clip-vit-base-patch32")


def test_missing_local_dir_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no such model directory"):
        load_encoder(f"hf:{tmp_path / 'nope' / 'model'}")


def test_unsupported_model_type(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ModelNotFoundError, match=r"'bert'.*supported: clip, siglip"):
        load_encoder(f"hf:{tmp_path}")


def test_missing_weights(tmp_path: Path, clip_dir: Path) -> None:
    (tmp_path / "config.json").write_text((clip_dir / "config.json").read_text())
    with pytest.raises(ModelNotFoundError, match=r"no \*\.safetensors"):
        load_encoder(f"hf:{tmp_path}")


@pytest.mark.parametrize(
    ("version", "key"), [("5.23.0", "dtype"), ("4.56.1", "dtype"), ("4.45.2", "torch_dtype")]
)
def test_float32_kwarg_follows_transformers_version(version: str, key: str) -> None:
    from chronolens.encoders.hf import _float32_kwarg

    assert _float32_kwarg(version) == {key: torch.float32}


def test_half_precision_checkpoint_loads_as_float32(tmp_path: Path, clip: HFEncoder) -> None:
    from transformers import CLIPModel

    directory = save_tiny_clip(tmp_path / "fp16")
    CLIPModel.from_pretrained(directory).half().save_pretrained(directory, safe_serialization=True)
    encoder = load_encoder(f"hf:{directory}", device="cpu", precision="fp32")
    assert isinstance(encoder, HFEncoder)
    assert next(encoder.model.parameters()).dtype == torch.float32
    batch = frames(2, seed=7)
    cosine = (encoder.encode_images(batch) * clip.encode_images(batch)).sum(axis=1)
    assert cosine.min() > 0.999  # same weights, rounded to fp16


@pytest.mark.slow
def test_compiled_matches_eager(clip_dir: Path, clip: HFEncoder) -> None:
    compiled = load_encoder(f"hf:{clip_dir}", device="cpu", precision="fp32", compile=True)
    batch = frames(5, seed=8)
    np.testing.assert_allclose(compiled.encode_images(batch), clip.encode_images(batch), atol=1e-4)
    np.testing.assert_allclose(compiled.encode_texts(TEXTS), clip.encode_texts(TEXTS), atol=1e-4)
