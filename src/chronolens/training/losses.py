"""Contrastive losses for dual encoders (CLIP / VideoCLIP style InfoNCE)."""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LogitScale", "clip_contrastive_loss", "positive_mask_from_keys"]

# CLIP clamps the learned logit scale at ln(100) so the temperature never drops below 0.01.
MAX_LOGIT_SCALE = math.log(100.0)
# CLIP initialises the temperature at 0.07.
INIT_TEMPERATURE = 0.07


class LogitScale(nn.Module):
    """A learnable ``log(1 / temperature)`` clamped to ``[0, max_value]`` when read (as in CLIP).

    Args:
        init_temperature: starting temperature, > 0.
        max_value: upper bound of the log scale (default ln 100, i.e. temperature >= 0.01).
    """

    def __init__(
        self, init_temperature: float = INIT_TEMPERATURE, max_value: float = MAX_LOGIT_SCALE
    ) -> None:
        super().__init__()
        if not init_temperature > 0:
            raise ValueError(f"init_temperature must be > 0, got {init_temperature}")
        self.max_value = max_value
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    def forward(self) -> torch.Tensor:
        """Return the multiplicative scale ``exp(clamp(log_scale))`` as a 0-d tensor."""
        return clamp_logit_scale(self.log_scale, self.max_value).exp()


def clamp_logit_scale(log_scale: torch.Tensor, max_value: float = MAX_LOGIT_SCALE) -> torch.Tensor:
    """Clamp a log logit scale to ``[0, max_value]`` (gradient flows only inside the range)."""
    return log_scale.clamp(0.0, max_value)


def positive_mask_from_keys(keys: Sequence[Hashable]) -> torch.Tensor:
    """Build a ``(B, B)`` bool mask that is true where two samples share a key (e.g. the same caption).

    Args:
        keys: one hashable per sample.

    Returns:
        ``(B, B)`` bool; the diagonal is always true.
    """
    index: dict[Hashable, int] = {}
    ids = torch.tensor([index.setdefault(k, len(index)) for k in keys])
    return ids[:, None] == ids[None, :]


def clip_contrastive_loss(
    image_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    logit_scale: torch.Tensor,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE over a batch of image-text pairs, with multi-positive and hard-negative texts.

    Row ``i`` of the image side is paired with row ``i`` of the text side. Without ``positives``
    this is exactly CLIP's loss: the mean of the image->text and text->image cross-entropies with
    the diagonal as target. With ``positives[i, j]`` true whenever text ``j`` also describes
    image ``i`` (duplicate captions in a batch, several events visible in one frame), each row's
    target is the uniform distribution over its positives (UniCL / SupCon "L_out" form), so a
    duplicate caption is never pushed away from its image. Text->image uses ``positives.T``.

    Texts beyond the ``B`` paired ones are extra candidates of the image->text side only (NegCLIP,
    Yuksekgonul et al. 2023: hard-negative captions, e.g. the caption with one attribute
    swapped); they add no text->image rows.

    Args:
        image_embeds: ``(B, D)`` image embeddings (normalised here; any scale accepted).
        text_embeds: ``(B + M, D)`` text embeddings: the ``B`` paired texts, then ``M >= 0`` extra.
        logit_scale: 0-d tensor, the multiplicative scale ``1 / temperature`` (already clamped).
        positives: optional ``(B, B + M)`` bool mask; true on the diagonal of its first ``B``
            columns. Without it every image's one positive is its paired text.

    Returns:
        0-d tensor, the loss.
    """
    if (
        image_embeds.ndim != 2
        or text_embeds.ndim != 2
        or image_embeds.shape[1] != text_embeds.shape[1]
        or text_embeds.shape[0] < image_embeds.shape[0]
    ):
        raise ValueError(
            f"image_embeds must be (B, D) and text_embeds (B + M, D), got {tuple(image_embeds.shape)} "
            f"and {tuple(text_embeds.shape)}"
        )
    img = F.normalize(image_embeds, dim=-1)
    txt = F.normalize(text_embeds, dim=-1)
    logits = logit_scale * img @ txt.T  # (B, B + M): image i vs text j
    n, m = logits.shape
    if positives is None:
        target = torch.arange(n, device=logits.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits[:, :n].T, target))
    if positives.shape != (n, m):
        raise ValueError(f"positives must be ({n}, {m}), got {tuple(positives.shape)}")
    pos = positives.to(device=logits.device, dtype=torch.bool)
    if not bool(pos[:, :n].diagonal().all()):
        raise ValueError("positives must be true on its diagonal (each pair is its own positive)")
    weights = pos.to(logits.dtype)
    i2t = weights / weights.sum(dim=1, keepdim=True)  # (B, B + M) target distribution per image row
    t2i = weights[:, :n].T / weights[:, :n].T.sum(dim=1, keepdim=True)  # (B, B) per paired text row
    loss_i2t = -(i2t * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    loss_t2i = -(t2i * F.log_softmax(logits[:, :n].T, dim=1)).sum(dim=1).mean()
    return 0.5 * (loss_i2t + loss_t2i)
