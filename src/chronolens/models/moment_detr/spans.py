"""Span arithmetic of the DETR heads in torch: (centre, width) <-> (start, end), generalized IoU.

Spans here are normalised to the window (``[0, 1]``). The temporal IoU chronolens reports and
evaluates with is ``chronolens.metrics.temporal.temporal_iou`` (numpy); this module holds only
the differentiable *generalized* IoU the matcher and the span loss need (moment_detr
``span_utils.generalized_temporal_iou``); where two windows overlap their hull is their union
and the value equals ``temporal_iou`` (tested).
"""

from __future__ import annotations

import torch

__all__ = ["cxw_to_xx", "generalized_temporal_iou", "xx_to_cxw"]


def cxw_to_xx(spans: torch.Tensor) -> torch.Tensor:
    """``(..., 2)`` (centre, width) -> ``(..., 2)`` (start, end)."""
    half = spans[..., 1] / 2
    return torch.stack([spans[..., 0] - half, spans[..., 0] + half], dim=-1)


def xx_to_cxw(spans: torch.Tensor) -> torch.Tensor:
    """``(..., 2)`` (start, end) -> ``(..., 2)`` (centre, width)."""
    return torch.stack([(spans[..., 0] + spans[..., 1]) / 2, spans[..., 1] - spans[..., 0]], dim=-1)


def generalized_temporal_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise generalized IoU of 1-D windows: ``IoU - (hull - union) / hull``.

    Args:
        a: (N, 2) ``[start, end]`` with ``end >= start``.
        b: (M, 2) ``[start, end]``.

    Returns:
        (N, M) values in ``[-1, 1]``; 1 for identical windows.
    """
    len_a = a[:, 1] - a[:, 0]  # (N,)
    len_b = b[:, 1] - b[:, 0]  # (M,)
    left = torch.maximum(a[:, None, 0], b[None, :, 0])  # (N, M)
    right = torch.minimum(a[:, None, 1], b[None, :, 1])  # (N, M)
    inter = (right - left).clamp(min=0)  # (N, M)
    union = len_a[:, None] + len_b[None, :] - inter  # (N, M)
    iou = inter / union
    hull = torch.maximum(a[:, None, 1], b[None, :, 1]) - torch.minimum(a[:, None, 0], b[None, :, 0])  # (N, M)
    return iou - (hull - union) / hull
