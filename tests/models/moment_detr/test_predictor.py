"""The predictor over videos of any length: windows, offsets, the merge, saliency, checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.library.colorhist import ColorHistEncoder

from chronolens.library import Library
from chronolens.models.moment_detr.checkpoint import save_head
from chronolens.models.moment_detr.config import InferenceConfig, MomentDETRConfig
from chronolens.models.moment_detr.features import ClipFeatures, Extractor, ExtractorMismatchError
from chronolens.models.moment_detr.model import DETRHead, DETROutput, build_head
from chronolens.tasks.ground.moment_detr import MomentDETRPredictor, window_starts
from chronolens.tasks.ground.nms import temporal_nms
from chronolens.timebase.grid import n_clips

D = 8
EXTRACTOR = Extractor(encoder="test:colorhist", weights_sha256="0" * 64, dim=D)
DURATIONS = [10.0, 150.0, 151.0, 600.0, 3600.0]  # 10 s, the trained 150 s, one partial clip more, 10 min, 1 h


class MarkerHead(DETRHead):
    """A stand-in head: query 0 predicts the clip where feature 0 peaks, scored by the peak."""

    arch = "marker"

    def forward(
        self, video: torch.Tensor, video_mask: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor
    ) -> DETROutput:
        b, t, _ = video.shape
        q = self.config.num_queries
        peak, k = video[..., 0].max(dim=1)  # (b,)
        spans = torch.full((b, q, 2), 0.05)
        spans[:, :, 0] = torch.linspace(0.1, 0.9, q)
        spans[:, 0, 0] = (k.float() + 0.5) / t
        spans[:, 0, 1] = 1.0 / t
        logits = torch.zeros(b, q, 2)
        logits[:, :, 1] = 5.0  # the other queries: background
        logits[:, 0, 0], logits[:, 0, 1] = peak, 0.0
        return DETROutput(logits=logits, spans=spans, saliency=video[..., 0], video_mask=video_mask)


def _marker_predictor() -> MomentDETRPredictor:
    head = MarkerHead(MomentDETRConfig.tiny(video_dim=D, text_dim=D, max_clips=75))
    return MomentDETRPredictor(head, EXTRACTOR, suppress=temporal_nms)


def _features(duration: float, marker: int | None, seed: int = 0) -> ClipFeatures:
    rng = np.random.default_rng(seed)
    feats = rng.normal(0, 0.1, size=(n_clips(duration), D)).astype(np.float32)
    if marker is not None:
        feats[marker, 0] = 5.0
    return ClipFeatures(feats, duration=duration)


def test_window_starts() -> None:
    assert window_starts(5, 75, 0.5).tolist() == [0]
    assert window_starts(75, 75, 0.5).tolist() == [0]
    assert window_starts(76, 75, 0.5).tolist() == [0, 1]
    starts = window_starts(1800, 75, 0.5)
    assert starts[0] == 0 and starts[-1] == 1800 - 75 and set(np.diff(starts[:-1]).tolist()) == {38}
    assert window_starts(300, 75, 0.0).tolist() == [0, 75, 150, 225]


@pytest.mark.parametrize("duration", DURATIONS)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_the_moment_is_found_where_it_is_at_any_length(duration: float, where: str) -> None:
    c = n_clips(duration)
    marker = {"first": 0, "middle": c // 2 + 3 if c > 10 else c // 2, "last": c - 1}[where]
    prediction = _marker_predictor().predict_features(
        _features(duration, marker), np.zeros((1, D), np.float32)
    )
    start, end, score = prediction.windows[0]
    assert (start, end) == pytest.approx(
        (2.0 * marker, min(2.0 * marker + 2.0, duration)), abs=1e-4
    )  # float32 spans
    assert score == pytest.approx(1 / (1 + np.exp(-5.0)), rel=1e-4)  # softmax([5, 0])[0]
    assert prediction.saliency.shape == (c,) and int(prediction.saliency.argmax()) == marker
    assert bool((prediction.windows[:, :2] >= 0).all() and (prediction.windows[:, :2] <= duration).all())
    assert bool((np.diff(prediction.windows[:, 2]) <= 0).all())  # best first


def test_saliency_is_the_mean_over_covering_windows() -> None:
    clips = _features(600.0, marker=None)
    prediction = _marker_predictor().predict_features(clips, np.zeros((1, D), np.float32))
    assert np.allclose(
        prediction.saliency, clips.features[:, 0], atol=1e-6
    )  # every window sees the same value


@pytest.mark.parametrize("arch", ["moment-detr", "qd-detr"])
@pytest.mark.parametrize("duration", DURATIONS)
def test_a_real_head_predicts_in_bounds_at_any_length(arch: str, duration: float) -> None:
    head = build_head(arch, MomentDETRConfig.tiny(video_dim=D, text_dim=D, max_clips=75))
    inference = InferenceConfig(top_k=5)
    predictor = MomentDETRPredictor(head, EXTRACTOR, suppress=temporal_nms, inference=inference)
    out = predictor.predict(_features(duration, None).features[:, :], np.ones((2, D), np.float32))
    windows = np.asarray(out["pred_relevant_windows"])
    assert 1 <= len(windows) <= 5 and windows.shape[1] == 3
    assert bool((windows[:, 0] >= 0).all() and (windows[:, 1] <= 2 * n_clips(duration)).all())
    assert len(out["pred_saliency_scores"]) == n_clips(duration)


def test_from_checkpoint_with_a_library_video_and_a_text_query(tmp_path: Path) -> None:
    encoder = ColorHistEncoder()
    dim = encoder.dim
    head = build_head("qd-detr", MomentDETRConfig.tiny(video_dim=dim, text_dim=dim, max_clips=10))
    extractor = Extractor(encoder=encoder.name, weights_sha256=encoder.weights_sha256, dim=dim)
    save_head(head, extractor, tmp_path / "ckpt")
    predictor = MomentDETRPredictor.from_checkpoint(tmp_path / "ckpt", suppress=temporal_nms, encoder=encoder)  # type: ignore[arg-type]
    with Library.open(tmp_path / "lib", encoder=encoder) as lib:  # type: ignore[arg-type]
        emb = np.random.default_rng(1).normal(size=(45, dim)).astype(np.float32)
        lib.add_features(tmp_path / "v.mp4", np.arange(45, dtype=np.float64), emb, duration=45.0)
        out = predictor.predict(tmp_path / "v.mp4", "red", library=lib)
        assert len(out["pred_saliency_scores"]) == 23 and out["pred_relevant_windows"]
        other = Extractor(encoder="hf:other", weights_sha256="1" * 64, dim=dim)
        mismatched = MomentDETRPredictor(head, other, suppress=temporal_nms, encoder=encoder)  # type: ignore[arg-type]
        with pytest.raises(ExtractorMismatchError, match="hf:other"):
            mismatched.predict(tmp_path / "v.mp4", np.zeros((1, dim), np.float32), library=lib)
