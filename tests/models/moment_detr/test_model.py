"""Shapes of the Moment-DETR / QD-DETR heads and an overfit of 8 synthetic windows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chronolens.metrics.temporal import temporal_iou
from chronolens.models.moment_detr.config import LossConfig, MomentDETRConfig
from chronolens.models.moment_detr.losses import set_criterion
from chronolens.models.moment_detr.model import QDDETR, MomentDETR, build_head, temporal_endpoint_features
from chronolens.models.moment_detr.spans import cxw_to_xx
from chronolens.models.moment_detr.targets import make_targets

D = 16


def _batch(lengths: list[int], text_len: int = 3) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    t_max = max(lengths)
    video = torch.randn(len(lengths), t_max, D)
    video_mask = torch.arange(t_max)[None] < torch.tensor(lengths)[:, None]
    text = torch.randn(len(lengths), text_len, D)
    text_mask = torch.ones(len(lengths), text_len, dtype=torch.bool)
    text_mask[0, -1] = False
    return video, video_mask, text, text_mask


@pytest.mark.parametrize("arch", ["moment-detr", "qd-detr"])
def test_output_shapes(arch: str) -> None:
    config = MomentDETRConfig.tiny(video_dim=D, text_dim=D)
    head = build_head(arch, config)
    out = head(*_batch([10, 7, 3]))
    assert out.logits.shape == (3, config.num_queries, 2)
    assert out.spans.shape == (3, config.num_queries, 2)
    assert bool(((out.spans >= 0) & (out.spans <= 1)).all())
    assert out.saliency.shape == (3, 10)
    assert len(out.aux) == config.dec_layers - 1
    if arch == "qd-detr":
        assert out.saliency_neg is not None and out.saliency_neg.shape == (3, 10)
        head.eval()
        assert head(*_batch([10, 7, 3])).saliency_neg is None
    else:
        assert out.saliency_neg is None


def test_padding_does_not_change_a_window() -> None:
    head = build_head("moment-detr", MomentDETRConfig.tiny(video_dim=D, text_dim=D)).eval()
    video, video_mask, text, text_mask = _batch([10, 6])
    with torch.no_grad():
        both = head(video, video_mask, text, text_mask)
        alone = head(video[1:, :6], video_mask[1:, :6], text[1:], text_mask[1:])
    assert torch.allclose(both.spans[1], alone.spans[0], atol=1e-5)
    assert torch.allclose(both.saliency[1, :6], alone.saliency[0], atol=1e-5)


def test_paper_defaults_and_class_names() -> None:
    config = MomentDETRConfig()
    assert (config.hidden_dim, config.enc_layers, config.dec_layers, config.heads) == (256, 2, 2, 8)
    assert (config.num_queries, config.dropout, config.max_clips) == (10, 0.1, 75)
    assert "moment_detr.model.MomentDETR" in (MomentDETR.__doc__ or "")
    assert "qd_detr.model.QDDETR" in (QDDETR.__doc__ or "")
    with pytest.raises(ValueError, match="heads"):
        MomentDETRConfig(hidden_dim=30, heads=8)
    with pytest.raises(ValueError, match="unknown arch"):
        build_head("cg-detr", config)


def test_temporal_endpoint_features() -> None:
    tef = temporal_endpoint_features(torch.tensor([[True, True, False, False]]))
    assert tef[0].tolist() == [[0.0, 0.5], [0.5, 1.0], [0.0, 0.0], [0.0, 0.0]]


def _synthetic(n: int = 8, t: int = 16, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """``n`` windows of ``t`` clips: the query's direction is added to the clips of one moment."""
    rng = np.random.default_rng(seed)
    video = rng.normal(0, 1, size=(n, t, D))
    text = rng.normal(0, 1, size=(n, 1, D))
    moments = []
    for i in range(n):
        start = int(rng.integers(0, t - 4))
        end = int(rng.integers(start + 2, min(t, start + 8) + 1))
        video[i, start:end] += 3 * text[i, 0]
        moments.append((start, end))
    return (
        torch.as_tensor(video, dtype=torch.float32),
        torch.as_tensor(text, dtype=torch.float32),
        torch.tensor(moments, dtype=torch.float32),
    )


@pytest.mark.parametrize("arch", ["moment-detr", "qd-detr"])
def test_overfits_eight_windows(arch: str) -> None:
    torch.manual_seed(0)
    t = 16
    video, text, moments = _synthetic(t=t)
    n = video.shape[0]
    video_mask = torch.ones(n, t, dtype=torch.bool)
    text_mask = torch.ones(n, 1, dtype=torch.bool)
    levels = [np.where((np.arange(t) >= s) & (np.arange(t) < e), 1.0, 0.0) for s, e in moments.tolist()]
    loss_config = LossConfig.qd_detr() if arch == "qd-detr" else LossConfig()
    head = build_head(arch, MomentDETRConfig.tiny(video_dim=D, text_dim=D, max_clips=t), seed=0)
    optimizer = torch.optim.AdamW(head.parameters(), lr=2e-3, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    first = last = 0.0
    for step in range(100):  # ~2 s on 2 cores; the top-1 mean IoU is ~0.9 by then (0.2 at init)
        targets = make_targets([[m] for m in moments.tolist()], levels, [float(t)] * n, rng=rng)
        loss = set_criterion(head(video, video_mask, text, text_mask), targets, loss_config)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        first = loss.item() if step == 0 else first
        last = loss.item()
    assert last < first / 4, (first, last)
    head.eval()
    with torch.no_grad():
        out = head(video, video_mask, text, text_mask)
    best = out.logits.softmax(-1)[..., 0].argmax(dim=1)  # (n,) top query
    top = cxw_to_xx(out.spans[torch.arange(n), best]).numpy() * t  # (n, 2) clips
    iou = np.diag(temporal_iou(top, moments.numpy()))
    assert iou.mean() > 0.7, iou
    inside = torch.stack(
        [out.saliency[i, int(s) : int(e)].mean() for i, (s, e) in enumerate(moments.tolist())]
    )
    assert bool((inside > out.saliency.mean(dim=1)).all())
