"""Clip and query features from a library, the extractor record, and checkpoints round-tripping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.library.colorhist import ColorHistEncoder

from chronolens.errors import ChronolensError
from chronolens.library import Library
from chronolens.models.moment_detr.checkpoint import load_head, save_head
from chronolens.models.moment_detr.config import MomentDETRConfig
from chronolens.models.moment_detr.features import (
    ClipFeatures,
    Extractor,
    ExtractorMismatchError,
    clip_features,
    library_clip_features,
    library_extractor,
    query_token_features,
)
from chronolens.models.moment_detr.model import build_head


def test_clip_features_pool_frames_per_two_seconds_with_the_partial_last_clip() -> None:
    ts = np.arange(9, dtype=np.float64)  # 1 fps over a 9 s video: clips [0,2) [2,4) [4,6) [6,8) [8,9)
    emb = np.arange(18, dtype=np.float32).reshape(9, 2)
    out = clip_features(emb, ts, duration=9.0)
    assert out.dtype == np.float32 and out.shape == (5, 2)
    assert out[:, 0].tolist() == [1.0, 5.0, 9.0, 13.0, 16.0]


def test_library_features_record_the_extractor(tmp_path: Path) -> None:
    encoder = ColorHistEncoder()
    with Library.open(tmp_path / "lib", encoder=encoder) as lib:  # type: ignore[arg-type]
        rng = np.random.default_rng(0)
        emb = rng.normal(size=(30, encoder.dim)).astype(np.float32)
        lib.add_features(tmp_path / "v.mp4", np.arange(30, dtype=np.float64), emb, duration=30.0)
        clips = library_clip_features(lib, tmp_path / "v.mp4")
        assert clips.features.shape == (15, encoder.dim) and clips.duration == 30.0
        assert clips.extractor == library_extractor(lib)
        assert clips.extractor is not None
        assert clips.extractor.encoder == "test:colorhist" and clips.extractor.weights_sha256 == "0" * 64
    tokens = query_token_features(encoder, "red")  # type: ignore[arg-type]
    assert tokens.shape == (1, encoder.dim)


def test_extractor_mismatch_names_the_fields() -> None:
    a = Extractor(encoder="hf:a", weights_sha256="1" * 64, dim=8)
    b = Extractor(encoder="hf:b", weights_sha256="1" * 64, dim=8, clip_length=1.0)
    a.check(Extractor.from_json(a.to_json()))
    with pytest.raises(ExtractorMismatchError, match=r"encoder: trained on 'hf:a', got 'hf:b'.*clip_length"):
        a.check(b)
    with pytest.raises(ChronolensError, match="invalid extractor"):
        Extractor.from_json({"encoder": "x"})


def test_clip_features_validate() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        ClipFeatures(np.zeros((0, 4), np.float32), duration=1.0)


@pytest.mark.parametrize("arch", ["moment-detr", "qd-detr"])
def test_checkpoint_round_trip(tmp_path: Path, arch: str) -> None:
    config = MomentDETRConfig.tiny(video_dim=8, text_dim=8)
    head = build_head(arch, config, seed=3).eval()
    extractor = Extractor(encoder="test:colorhist", weights_sha256="0" * 64, dim=8)
    save_head(head, extractor, tmp_path / "ckpt", extra={"step": 7})
    loaded = load_head(tmp_path / "ckpt")
    assert (
        loaded.extractor == extractor and loaded.meta["arch"] == arch and loaded.meta["train"] == {"step": 7}
    )
    args = (
        torch.randn(2, 6, 8),
        torch.ones(2, 6, dtype=torch.bool),
        torch.randn(2, 1, 8),
        torch.ones(2, 1, dtype=torch.bool),
    )
    with torch.no_grad():
        assert torch.equal(head(*args).spans, loaded.head(*args).spans)


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(ChronolensError, match="not a Moment-DETR checkpoint"):
        load_head(tmp_path)
    head = build_head("moment-detr", MomentDETRConfig.tiny(video_dim=8, text_dim=8))
    with pytest.raises(ValueError, match="extractor dim"):
        save_head(head, Extractor(encoder="x", weights_sha256="0", dim=4), tmp_path / "c")
