"""xclip: encoders on a tiny random-init X-CLIP directory, against transformers' XCLIPModel itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.encoders.tiny import TINY_TEXT_POSITIONS, save_tiny_clip, save_tiny_tokenizer

from chronolens.encoders import Encoder, load_encoder
from chronolens.encoders.clip_base import ClipEncoder, encode_video_clips
from chronolens.encoders.preprocess import preprocess_images
from chronolens.encoders.xclip import XClipEncoder, is_xclip
from chronolens.errors import ModelNotFoundError

TINY_FRAMES = 4  # frames per clip of the tiny X-CLIP
TINY_SIZE = 32  # pixels
TINY_DIM = 24  # projection_dim
TEXTS = ["a red car", "the dog jumps over a box", "a person puts a box on the table", "zebra"]


def save_tiny_xclip(directory: Path, *, seed: int = 0) -> Path:
    """A loadable random-init ``XCLIPModel`` directory: config, safetensors, tokenizer, preprocessor."""
    from transformers import XCLIPConfig, XCLIPModel

    directory.mkdir(parents=True, exist_ok=True)
    vocab_size = save_tiny_tokenizer(directory)
    config = XCLIPConfig(
        text_config={
            "vocab_size": vocab_size,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": TINY_TEXT_POSITIONS,
            "pad_token_id": 0,
            "bos_token_id": 2,
            "eos_token_id": 3,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": TINY_SIZE,
            "patch_size": 8,
            "num_frames": TINY_FRAMES,
            "mit_hidden_size": TINY_DIM,
            "mit_intermediate_size": 48,
            "mit_num_hidden_layers": 1,
            "mit_num_attention_heads": 2,
        },
        projection_dim=TINY_DIM,
        prompt_layers=1,
        prompt_num_attention_heads=2,
    )
    torch.manual_seed(seed)
    model = XCLIPModel(config).eval()
    with torch.no_grad():  # the prompt generator starts at alpha=0.1; make its effect visible
        model.prompts_generator.alpha.fill_(1.0)
    model.save_pretrained(directory, safe_serialization=True)
    (directory / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "VideoMAEImageProcessor",
                "do_resize": True,
                "size": {"shortest_edge": TINY_SIZE},
                "do_center_crop": True,
                "crop_size": {"height": TINY_SIZE, "width": TINY_SIZE},
                "resample": 2,
                "do_rescale": True,
                "rescale_factor": 1 / 255,
                "do_normalize": True,
                "image_mean": [0.485, 0.456, 0.406],
                "image_std": [0.229, 0.224, 0.225],
            }
        ),
        encoding="utf-8",
    )
    return directory


def clips(n: int, *, height: int = 40, width: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, TINY_FRAMES, height, width, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def xclip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_xclip(tmp_path_factory.mktemp("xclip"))


@pytest.fixture(scope="module")
def encoder(xclip_dir: Path) -> XClipEncoder:
    loaded = load_encoder(f"xclip:{xclip_dir}", device="cpu", precision="fp32", batch_size=6)
    assert isinstance(loaded, XClipEncoder)
    return loaded


@pytest.fixture(scope="module")
def reference(xclip_dir: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer, XCLIPModel

    return XCLIPModel.from_pretrained(xclip_dir).eval(), AutoTokenizer.from_pretrained(xclip_dir)


def _pooled(output: object) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.pooler_output  # type: ignore[attr-defined]


def test_satisfies_both_protocols(encoder: XClipEncoder) -> None:
    assert isinstance(encoder, ClipEncoder)
    assert isinstance(encoder, Encoder)
    assert (encoder.dim, encoder.clip_frames, encoder.image_size) == (TINY_DIM, TINY_FRAMES, TINY_SIZE)
    assert len(encoder.weights_sha256) == 64


def test_video_parity_with_get_video_features(encoder: XClipEncoder, reference) -> None:  # type: ignore[no-untyped-def]
    model, _ = reference
    video = clips(5)  # 5 clips, batch of 6 frames: one clip per pass, so batching is exercised
    ours = encoder.encode_clips(video, np.zeros(video.shape[:2]))
    pixels = preprocess_images(video.reshape(-1, *video.shape[2:]), encoder.preprocess).view(
        5, TINY_FRAMES, 3, TINY_SIZE, TINY_SIZE
    )
    with torch.no_grad():
        theirs = torch.nn.functional.normalize(_pooled(model.get_video_features(pixel_values=pixels)), dim=-1)
    assert ours.shape == (5, TINY_DIM) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_preprocess_reads_the_checkpoint_settings(encoder: XClipEncoder) -> None:
    assert encoder.preprocess.interpolation == "bilinear"
    assert encoder.preprocess.mean == (0.485, 0.456, 0.406)


def test_text_parity_with_get_text_features(encoder: XClipEncoder, reference) -> None:  # type: ignore[no-untyped-def]
    model, tokenizer = reference
    ours = encoder.encode_texts(TEXTS)
    tokens = tokenizer(
        TEXTS, padding="longest", truncation=True, max_length=TINY_TEXT_POSITIONS, return_tensors="pt"
    )
    with torch.no_grad():
        theirs = torch.nn.functional.normalize(_pooled(model.get_text_features(**tokens)), dim=-1)
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)


def test_prompted_scores_match_forward(encoder: XClipEncoder, reference) -> None:  # type: ignore[no-untyped-def]
    model, tokenizer = reference
    video = clips(3, seed=1)
    ours = encoder.prompted_scores(video, TEXTS)
    pixels = encoder.pixel_values(video)
    tokens = tokenizer(
        TEXTS, padding="longest", truncation=True, max_length=TINY_TEXT_POSITIONS, return_tensors="pt"
    )
    with torch.no_grad():
        out = model(pixel_values=pixels, **tokens)
        expected = (out.logits_per_video / model.logit_scale.exp()).numpy()
    assert ours.shape == (3, len(TEXTS))
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    # the prompt generator conditions text on the video: not the plain cosine
    plain = encoder.encode_clips(video, np.zeros(video.shape[:2])) @ encoder.encode_texts(TEXTS).T
    assert np.abs(ours - plain).max() > 1e-3


def test_hf_scheme_resolves_xclip_dirs(xclip_dir: Path, encoder: XClipEncoder, tmp_path: Path) -> None:
    via_hf = load_encoder(f"hf:{xclip_dir}", device="cpu", precision="fp32")
    assert isinstance(via_hf, XClipEncoder)
    assert via_hf.name == f"hf:{xclip_dir}"
    video = clips(2)
    np.testing.assert_allclose(
        via_hf.encode_clips(video, np.zeros((2, TINY_FRAMES))),
        encoder.encode_clips(video, np.zeros((2, TINY_FRAMES))),
        atol=1e-6,
    )
    assert is_xclip(str(xclip_dir))
    assert not is_xclip(str(save_tiny_clip(tmp_path / "clip")))
    assert not is_xclip("not-a-cached/hub-id-anywhere")


def test_xclip_scheme_rejects_other_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not X-CLIP"):
        load_encoder(f"xclip:{save_tiny_clip(tmp_path / 'clip')}", device="cpu")
    with pytest.raises(ModelNotFoundError, match="no such model directory"):
        load_encoder(f"xclip:{tmp_path / 'missing' / 'deeper' / 'dir'}", device="cpu")


def test_wrong_clip_length_is_refused(encoder: XClipEncoder) -> None:
    with pytest.raises(ValueError, match="clips of 4 frames"):
        encoder.encode_clips(np.zeros((1, 3, 32, 32, 3), np.uint8), np.zeros((1, 3)))


def test_encode_images_is_a_still_clip(encoder: XClipEncoder) -> None:
    frame = clips(1)[0, :2]  # two frames
    stills = np.repeat(frame[:, None], TINY_FRAMES, axis=1)
    np.testing.assert_allclose(
        encoder.encode_images(frame), encoder.encode_clips(stills, np.zeros((2, TINY_FRAMES))), atol=1e-6
    )


def test_video_as_overlapping_clips(encoder: XClipEncoder) -> None:
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)
    times = np.arange(7, dtype=np.float64) * 0.5
    embeddings, windows = encode_video_clips(encoder, frames, times, clips_per_call=2)
    # T=4, stride 2: clips start at frames 0, 2, 4 (the last padded with frame 6)
    assert embeddings.shape == (3, TINY_DIM)
    np.testing.assert_allclose(windows.centres, [0.75, 1.75, 2.5])
    last = np.stack([frames[4], frames[5], frames[6], frames[6]])[None]
    np.testing.assert_allclose(embeddings[2:], encoder.encode_clips(last, windows.times[2:]), atol=1e-6)
