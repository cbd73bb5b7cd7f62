"""Hungarian matching of predicted moments to true ones (moment_detr ``matcher.HungarianMatcher``).

The cost of giving query ``q`` the true span ``t`` is
``cost_span * L1((c, w)_q, (c, w)_t) - cost_giou * gIoU(q, t) - cost_class * p_q(foreground)``,
and ``scipy.optimize.linear_sum_assignment`` picks, per example, the one-to-one assignment of
least total cost (``min(Q, N)`` pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from chronolens.models.moment_detr.config import MatcherConfig
from chronolens.models.moment_detr.spans import cxw_to_xx, generalized_temporal_iou

__all__ = ["FOREGROUND", "Match", "hungarian_match", "match_cost"]

FOREGROUND = 0  # class index of "a moment" (moment_detr's foreground_label); 1 is background

# (query indices (K,), target indices (K,)) of one example, int64, ordered by query index.
Match = tuple[torch.Tensor, torch.Tensor]


def match_cost(
    logits: torch.Tensor, spans: torch.Tensor, targets: torch.Tensor, costs: MatcherConfig
) -> torch.Tensor:
    """The matching cost of every query of one example against every true span.

    Args:
        logits: (Q, 2) class logits (index ``FOREGROUND`` is a moment).
        spans: (Q, 2) predicted normalised (centre, width).
        targets: (N, 2) true normalised (centre, width).
        costs: the weights.

    Returns:
        (Q, N) float cost.
    """
    prob = logits.softmax(-1)[:, FOREGROUND]  # (Q,)
    cost_span = torch.cdist(spans, targets, p=1)  # (Q, N)
    cost_giou = -generalized_temporal_iou(cxw_to_xx(spans), cxw_to_xx(targets))  # (Q, N)
    return costs.cost_span * cost_span + costs.cost_giou * cost_giou - costs.cost_class * prob[:, None]


@torch.no_grad()
def hungarian_match(
    logits: torch.Tensor, spans: torch.Tensor, targets: Sequence[torch.Tensor], costs: MatcherConfig
) -> list[Match]:
    """The least-cost one-to-one assignment of queries to true spans, per example.

    Args:
        logits: (B, Q, 2) class logits.
        spans: (B, Q, 2) predicted normalised (centre, width).
        targets: B tensors (N_i, 2) of true normalised (centre, width); N_i may be 0.
        costs: the weights.

    Returns:
        B pairs ``(query indices, target indices)``, each (min(Q, N_i),) int64.
    """
    if len(targets) != logits.shape[0]:
        raise ValueError(f"got {len(targets)} target sets for a batch of {logits.shape[0]}")
    out: list[Match] = []
    for b, target in enumerate(targets):
        if target.shape[0] == 0:
            empty = torch.zeros(0, dtype=torch.int64)
            out.append((empty, empty))
            continue
        cost = match_cost(logits[b].float(), spans[b].float(), target.float(), costs)
        rows, cols = linear_sum_assignment(cost.cpu().numpy())
        out.append(
            (
                torch.as_tensor(np.asarray(rows), dtype=torch.int64),
                torch.as_tensor(np.asarray(cols), dtype=torch.int64),
            )
        )
    return out
