"""Golden values of the Moment-DETR / QD-DETR matcher and losses on hand-computed cases."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from chronolens.metrics.temporal import temporal_iou
from chronolens.models.moment_detr.config import LossConfig, MatcherConfig
from chronolens.models.moment_detr.losses import (
    label_loss,
    negative_pair_loss,
    rank_contrastive_loss,
    saliency_margin_loss,
    span_losses,
)
from chronolens.models.moment_detr.matcher import hungarian_match, match_cost
from chronolens.models.moment_detr.spans import cxw_to_xx, generalized_temporal_iou, xx_to_cxw

# Two queries: p(foreground) 0.5 and 0.75; spans [0.4, 0.6] and [0.2, 0.4]; one true span [0.3, 0.7].
LOGITS = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])
SPANS = torch.tensor([[[0.5, 0.2], [0.3, 0.2]]])
TARGET = torch.tensor([[0.5, 0.4]])


def test_span_conversions_round_trip() -> None:
    xx = torch.tensor([[0.2, 0.6], [0.0, 1.0]])
    assert torch.allclose(cxw_to_xx(xx_to_cxw(xx)), xx)
    assert torch.allclose(xx_to_cxw(xx), torch.tensor([[0.4, 0.4], [0.5, 1.0]]))


def test_generalized_iou_by_hand() -> None:
    a = torch.tensor([[0.4, 0.6], [0.2, 0.4], [0.0, 0.1]])
    b = torch.tensor([[0.3, 0.7], [0.3, 0.5]])
    g = generalized_temporal_iou(a, b)
    # [0.4,0.6] in [0.3,0.7]: IoU 0.2/0.4; [0.2,0.4] v [0.3,0.7]: 0.1/0.5; [0,0.1] v [0.3,0.5]: 0 - 0.2/0.5.
    assert g[0, 0].item() == pytest.approx(0.5)
    assert g[1, 0].item() == pytest.approx(0.2)
    assert g[2, 1].item() == pytest.approx(-0.4)
    assert generalized_temporal_iou(b, b).diag().tolist() == pytest.approx([1.0, 1.0])


def test_generalized_iou_equals_the_metric_iou_where_windows_overlap() -> None:
    rng = np.random.default_rng(0)
    starts = rng.uniform(0, 0.5, size=(20, 1))
    a = np.hstack([starts, starts + rng.uniform(0.3, 0.5, size=(20, 1))])
    b = np.hstack([starts + 0.1, starts + 0.35])  # overlaps its row's window
    g = generalized_temporal_iou(torch.as_tensor(a), torch.as_tensor(b)).diag().numpy()
    assert np.allclose(g, np.diag(temporal_iou(a, b)))


def test_match_cost_by_hand() -> None:
    cost = match_cost(LOGITS[0], SPANS[0], TARGET, MatcherConfig())
    # q0: 10 * 0.2 - 0.5 - 4 * 0.5 = -0.5; q1: 10 * 0.4 - 0.2 - 4 * 0.75 = 0.8
    assert cost[:, 0].tolist() == pytest.approx([-0.5, 0.8])
    ((q, t),) = hungarian_match(LOGITS, SPANS, [TARGET], MatcherConfig())
    assert q.tolist() == [0] and t.tolist() == [0]


def test_hungarian_is_the_least_total_cost_not_greedy() -> None:
    torch.manual_seed(3)
    logits, spans = torch.randn(1, 4, 2), torch.rand(1, 4, 2) * 0.5 + 0.1
    targets = torch.tensor([[0.2, 0.1], [0.5, 0.3], [0.8, 0.2]])
    ((q, t),) = hungarian_match(logits, spans, [targets], MatcherConfig())
    cost = match_cost(logits[0], spans[0], targets, MatcherConfig())
    best = min(sum(cost[p[j], j].item() for j in range(3)) for p in itertools.permutations(range(4), 3))
    assert sum(cost[qi, ti].item() for qi, ti in zip(q.tolist(), t.tolist(), strict=True)) == pytest.approx(
        best
    )
    assert sorted(t.tolist()) == [0, 1, 2]


def test_no_target_matches_nothing() -> None:
    ((q, t),) = hungarian_match(LOGITS, SPANS, [torch.zeros(0, 2)], MatcherConfig())
    assert q.numel() == 0 and t.numel() == 0
    l1, giou = span_losses(SPANS, [torch.zeros(0, 2)], [(q, t)])
    assert l1.item() == 0.0 and giou.item() == 0.0


def test_span_losses_by_hand() -> None:
    matches = hungarian_match(LOGITS, SPANS, [TARGET], MatcherConfig())
    l1, giou = span_losses(SPANS, [TARGET], matches)
    assert l1.item() == pytest.approx(0.1)  # mean(|0.5 - 0.5|, |0.2 - 0.4|)
    assert giou.item() == pytest.approx(0.5)  # 1 - gIoU 0.5


def test_label_loss_by_hand() -> None:
    matches = hungarian_match(LOGITS, SPANS, [TARGET], MatcherConfig())
    loss = label_loss(LOGITS, matches, eos_coef=0.1)
    # q0 foreground: -log 0.5; q1 background p = 0.25, weighted 0.1; mean over the 2 queries.
    assert loss.item() == pytest.approx((-math.log(0.5) + 0.1 * -math.log(0.25)) / 2)


def test_saliency_margin_by_hand() -> None:
    saliency = torch.tensor([[1.0, 0.5, 0.0, 0.9]])
    loss = saliency_margin_loss(saliency, torch.tensor([[0, 1]]), torch.tensor([[2, 3]]), margin=0.2)
    # pairs: max(0, 0.2 + 0.0 - 1.0) = 0, max(0, 0.2 + 0.9 - 0.5) = 0.6; / (1 * 2) * 2
    assert loss.item() == pytest.approx(0.6)


def test_negative_pair_loss_by_hand() -> None:
    loss = negative_pair_loss(torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[True, False]]))
    assert loss.item() == pytest.approx(math.log(2.0))  # -log(1 - sigmoid(0)); the padded clip is ignored


def test_rank_contrastive_by_hand() -> None:
    loss = rank_contrastive_loss(
        torch.tensor([[2.0, 0.0]]),
        torch.tensor([[1.0, 0.0]]),
        torch.tensor([[True, True]]),
        tau=0.5,
        n_levels=2,
    )
    # one level: logits [4, 0] - 4; -log p(clip 0) = log(1 + e^-4 + 1e-6); divided by n_levels = 2
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-4) + 1e-6) / (1 + 1e-6) / 2, rel=1e-5)


def test_rank_contrastive_with_negative_pairs_counts_them_as_level_zero() -> None:
    sal, neg = torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 5.0]])
    loss = rank_contrastive_loss(
        sal, torch.tensor([[1.0, 0.0]]), torch.tensor([[True, True]]), saliency_neg=neg, tau=1.0, n_levels=2
    )
    logits = torch.tensor([2.0, 0.0, 1.0, 5.0])
    expected = (
        -(logits[0] - logits.max() - torch.log((logits - logits.max()).exp().sum() + 1e-6)) / (1 + 1e-6) / 2
    )
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_qd_detr_loss_config_adds_its_terms() -> None:
    assert not LossConfig().rank_contrastive and not LossConfig().negative_pairs
    qd = LossConfig.qd_detr()
    assert qd.rank_contrastive and qd.negative_pairs and qd.span_l1 == 10.0 and qd.saliency_margin == 0.2
    with pytest.raises(ValueError, match="eos_coef"):
        LossConfig(eos_coef=-1.0)
