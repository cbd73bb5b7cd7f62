"""The set-prediction losses of Moment-DETR and QD-DETR (their ``SetCriterion``).

- spans: L1 on matched normalised (centre, width) and ``1 - gIoU`` on the matched windows, each a
  mean over the matched pairs;
- labels: 2-way cross-entropy, matched queries foreground and the rest background, the
  background class weighted ``eos_coef``, averaged over all queries (``reduction="none"`` then
  ``mean``, as the reference does);
- saliency: the hinge ``max(0, margin + s_neg - s_pos)`` over sampled (positive, negative) clip
  pairs, summed and divided by ``B * pairs`` then doubled (Moment-DETR); QD-DETR adds the
  rank-contrastive loss over saliency levels and the negative-pair loss
  ``-log(1 - sigmoid(s))`` on the clips scored against another example's query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from chronolens.models.moment_detr.config import LossConfig
from chronolens.models.moment_detr.matcher import FOREGROUND, Match, hungarian_match
from chronolens.models.moment_detr.model import DETROutput
from chronolens.models.moment_detr.spans import cxw_to_xx, generalized_temporal_iou

__all__ = [
    "Targets",
    "label_loss",
    "negative_pair_loss",
    "rank_contrastive_loss",
    "saliency_margin_loss",
    "set_criterion",
    "span_losses",
]

BACKGROUND = 1 - FOREGROUND
_MASKED_LOGIT = -1e3  # saliency of padded clips inside the rank-contrastive softmax (the reference's value)
_LOG_EPS = 1e-6  # the reference's epsilon inside log-sum and the positive count


@dataclass(frozen=True)
class Targets:
    """True moments and saliency of a batch of windows."""

    spans: Sequence[torch.Tensor]  # B tensors (N_i, 2): normalised (centre, width)
    saliency_pos: torch.Tensor  # (B, P) int64 indices of clips inside the moments
    saliency_neg: torch.Tensor  # (B, P) int64 indices of clips outside them
    saliency_levels: torch.Tensor  # (B, T) float saliency level per clip, 0 = not part of the query


def span_losses(
    spans: torch.Tensor, targets: Sequence[torch.Tensor], matches: Sequence[Match]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L1, 1 - gIoU) of the matched pairs, each averaged (0 when nothing is matched).

    Args:
        spans: (B, Q, 2) predicted normalised (centre, width).
        targets: B tensors (N_i, 2).
        matches: per example (query indices, target indices).
    """
    src = torch.cat([spans[b, q] for b, (q, _) in enumerate(matches)])  # (K, 2)
    tgt = torch.cat([targets[b][t] for b, (_, t) in enumerate(matches)]).to(src)  # (K, 2)
    if src.shape[0] == 0:
        zero = spans.sum() * 0
        return zero, zero
    l1 = F.l1_loss(src, tgt, reduction="none").mean()
    giou = 1 - torch.diag(generalized_temporal_iou(cxw_to_xx(src), cxw_to_xx(tgt)))
    return l1, giou.mean()


def label_loss(logits: torch.Tensor, matches: Sequence[Match], eos_coef: float) -> torch.Tensor:
    """Foreground/background cross-entropy over every query, background weighted ``eos_coef``.

    Args:
        logits: (B, Q, 2).
        matches: per example (query indices, target indices).
        eos_coef: weight of the background class.
    """
    target = torch.full(logits.shape[:2], BACKGROUND, dtype=torch.int64, device=logits.device)  # (B, Q)
    for b, (q, _) in enumerate(matches):
        target[b, q.to(logits.device)] = FOREGROUND
    weight = torch.ones(2, dtype=logits.dtype, device=logits.device)
    weight[BACKGROUND] = eos_coef
    return F.cross_entropy(logits.transpose(1, 2), target, weight, reduction="none").mean()


def saliency_margin_loss(
    saliency: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, margin: float
) -> torch.Tensor:
    """Hinge over (positive, negative) clip pairs: ``sum max(0, margin + s_neg - s_pos) / (B * P) * 2``.

    Args:
        saliency: (B, T) saliency logits.
        pos: (B, P) clip indices inside the moments.
        neg: (B, P) clip indices outside them.
        margin: the hinge margin.
    """
    pos_scores = saliency.gather(1, pos)  # (B, P)
    neg_scores = saliency.gather(1, neg)  # (B, P)
    return (margin + neg_scores - pos_scores).clamp(min=0).sum() / pos.numel() * 2


def rank_contrastive_loss(
    saliency: torch.Tensor,
    levels: torch.Tensor,
    video_mask: torch.Tensor,
    *,
    saliency_neg: torch.Tensor | None = None,
    tau: float = 0.5,
    n_levels: int = 12,
) -> torch.Tensor:
    """QD-DETR's rank-contrastive saliency loss.

    For each level ``r = 1 .. n_levels - 1``, clips at level >= r are positives and a softmax over
    all clips (and, when given, the same clips scored with another query, all level 0) at
    temperature ``tau`` should put its mass on them; the mean negative log-probability of the
    positives is averaged over examples with a positive, summed over levels and divided by
    ``n_levels`` (the reference's loop).

    Args:
        saliency: (B, T) saliency logits.
        levels: (B, T) saliency level per clip (QVHighlights: the annotators' scores summed).
        video_mask: (B, T) bool, True on valid clips.
        saliency_neg: (B, T) saliency with mismatched queries, or None.
        tau: softmax temperature.
        n_levels: levels visited are ``1 .. n_levels - 1``.
    """
    mask = video_mask.to(saliency.dtype)
    scores, labels = saliency, levels
    if saliency_neg is not None:
        scores = torch.cat([saliency, saliency_neg], dim=1)  # (B, 2T)
        labels = torch.cat([levels, torch.zeros_like(levels)], dim=1)
        mask = mask.repeat(1, 2)
    scores = mask * scores + (1 - mask) * _MASKED_LOGIT
    total = scores.sum() * 0
    for r in range(1, n_levels):
        positive = (labels >= r).to(scores.dtype)  # (B, T')
        if positive.sum() == 0:
            continue
        has_positive = (positive.sum(dim=1) > 0).to(scores.dtype)  # (B,)
        logits = scores / tau
        logits = logits - logits.max(dim=1, keepdim=True).values
        log_prob = logits - torch.log(logits.exp().sum(1, keepdim=True) + _LOG_EPS)
        mean_pos = (positive * log_prob * mask).sum(1) / (positive.sum(1) + _LOG_EPS)  # (B,)
        total = total + (-mean_pos * has_positive).mean()
    return total / n_levels


def negative_pair_loss(saliency_neg: torch.Tensor, video_mask: torch.Tensor) -> torch.Tensor:
    """QD-DETR's negative-pair loss: ``-log(1 - sigmoid(s))`` summed over valid clips, averaged over examples.

    Args:
        saliency_neg: (B, T) saliency of each video scored with another example's query.
        video_mask: (B, T) bool.
    """
    # softplus(s) == -log(1 - sigmoid(s)), without the log of a rounded-to-zero difference.
    return (F.softplus(saliency_neg) * video_mask.to(saliency_neg.dtype)).sum(dim=1).mean()


def set_criterion(output: DETROutput, targets: Targets, config: LossConfig) -> dict[str, torch.Tensor]:
    """Every loss term of a batch, weighted, and their sum under ``"loss"``.

    Span and label terms are computed on the last decoder layer and, for each earlier layer in
    ``output.aux``, with that layer's own matching (keys suffixed ``_0``, ``_1``, ...); saliency
    only on the encoder output.

    Returns:
        ``{"loss", "loss_span", "loss_giou", "loss_label", "loss_saliency", ...}`` (unweighted
        terms; ``"loss"`` is the weighted sum).
    """
    terms: dict[str, torch.Tensor] = {}
    weighted = []
    layers = [("", output.logits, output.spans)] + [
        (f"_{k}", lg, sp) for k, (lg, sp) in enumerate(output.aux)
    ]
    for suffix, logits, spans in layers:
        matches = hungarian_match(logits, spans, targets.spans, config.matcher)
        l1, giou = span_losses(spans, targets.spans, matches)
        label = label_loss(logits, matches, config.eos_coef)
        terms |= {f"loss_span{suffix}": l1, f"loss_giou{suffix}": giou, f"loss_label{suffix}": label}
        weighted += [config.span_l1 * l1, config.span_giou * giou, config.label * label]
    saliency = saliency_margin_loss(
        output.saliency, targets.saliency_pos, targets.saliency_neg, config.saliency_margin
    )
    use_neg = config.negative_pairs and output.saliency_neg is not None
    if config.rank_contrastive:
        saliency = saliency + rank_contrastive_loss(
            output.saliency,
            targets.saliency_levels.to(output.saliency),
            output.video_mask,
            saliency_neg=output.saliency_neg if use_neg else None,
            tau=config.rank_tau,
            n_levels=config.rank_levels,
        )
    if use_neg:
        assert output.saliency_neg is not None
        saliency = saliency + negative_pair_loss(output.saliency_neg, output.video_mask)
    terms["loss_saliency"] = saliency
    weighted.append(config.saliency * saliency)
    terms["loss"] = torch.stack(weighted).sum()
    return terms
