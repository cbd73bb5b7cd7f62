"""InfoNCE loss: equals a naive computation (single and multi-positive); temperature learned and clamped."""

from __future__ import annotations

import math

import pytest
import torch

from chronolens.training.losses import (
    MAX_LOGIT_SCALE,
    LogitScale,
    clamp_logit_scale,
    clip_contrastive_loss,
    positive_mask_from_keys,
)


def _naive(img: torch.Tensor, txt: torch.Tensor, scale: float, pos: list[list[bool]]) -> float:
    """Loop-by-loop reference: mean over rows of the mean -log p over each row's positives."""
    n = img.shape[0]
    img = img / img.norm(dim=1, keepdim=True)
    txt = txt / txt.norm(dim=1, keepdim=True)
    sims = [[scale * float(img[i] @ txt[j]) for j in range(n)] for i in range(n)]

    def side(mat: list[list[float]], mask: list[list[bool]]) -> float:
        total = 0.0
        for i in range(n):
            log_z = math.log(sum(math.exp(s) for s in mat[i]))
            positives = [j for j in range(n) if mask[i][j]]
            total += sum(log_z - mat[i][j] for j in positives) / len(positives)
        return total / n

    sims_t = [[sims[j][i] for j in range(n)] for i in range(n)]
    pos_t = [[pos[j][i] for j in range(n)] for i in range(n)]
    return 0.5 * (side(sims, pos) + side(sims_t, pos_t))


def test_single_positive_matches_naive_and_cross_entropy() -> None:
    g = torch.Generator().manual_seed(1)
    img, txt = torch.randn(6, 8, generator=g), torch.randn(6, 8, generator=g)
    scale = torch.tensor(7.5)
    eye = [[i == j for j in range(6)] for i in range(6)]
    got = clip_contrastive_loss(img, txt, scale)
    assert float(got) == pytest.approx(_naive(img, txt, 7.5, eye), rel=1e-5)
    # Passing the identity as the positive mask is the same loss.
    assert float(clip_contrastive_loss(img, txt, scale, torch.eye(6, dtype=torch.bool))) == pytest.approx(
        float(got), rel=1e-6
    )


def test_multi_positive_matches_naive() -> None:
    g = torch.Generator().manual_seed(2)
    img, txt = torch.randn(5, 4, generator=g), torch.randn(5, 4, generator=g)
    # Samples 0 and 3 share a caption; image 1 is also described by text 4 (asymmetric).
    mask = torch.eye(5, dtype=torch.bool)
    mask[0, 3] = mask[3, 0] = True
    mask[1, 4] = True
    got = float(clip_contrastive_loss(img, txt, torch.tensor(3.0), mask))
    assert got == pytest.approx(_naive(img, txt, 3.0, mask.tolist()), rel=1e-5)
    single = float(clip_contrastive_loss(img, txt, torch.tensor(3.0)))
    assert got != pytest.approx(single, rel=1e-3)


def test_extra_texts_are_image_to_text_negatives_only() -> None:
    g = torch.Generator().manual_seed(4)
    img, txt = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    extra = torch.randn(3, 6, generator=g)
    scale = torch.tensor(5.0)
    got = float(clip_contrastive_loss(img, torch.cat([txt, extra]), scale))
    # naive: image i's softmax runs over all 7 texts; text j's over the 4 images only
    imgn, alltxt = img / img.norm(dim=1, keepdim=True), torch.cat([txt, extra])
    alltxt = alltxt / alltxt.norm(dim=1, keepdim=True)
    sims = scale * imgn @ alltxt.T
    i2t = sum(float(torch.logsumexp(sims[i], 0) - sims[i, i]) for i in range(4)) / 4
    t2i = sum(float(torch.logsumexp(sims[:, j], 0) - sims[j, j]) for j in range(4)) / 4
    assert got == pytest.approx(0.5 * (i2t + t2i), rel=1e-5)
    # a hard negative close to image 0 raises the loss; the same mask form gives the same value
    near = torch.cat([txt, img[:1] * 3.0])
    mask = torch.zeros(4, 5, dtype=torch.bool)
    mask[:, :4] = torch.eye(4, dtype=torch.bool)
    assert float(clip_contrastive_loss(img, near, scale, mask)) == pytest.approx(
        float(clip_contrastive_loss(img, near, scale)), rel=1e-6
    )
    assert float(clip_contrastive_loss(img, near, scale)) > float(clip_contrastive_loss(img, txt, scale))
    # an extra text marked positive for image 1 takes half of that row's target
    mask[1, 4] = True
    assert float(clip_contrastive_loss(img, near, scale, mask)) != pytest.approx(
        float(clip_contrastive_loss(img, near, scale)), rel=1e-3
    )


def test_duplicate_caption_target_is_split_between_duplicates() -> None:
    # Rows 0 and 1 are one caption twice. Multi-positive: each duplicate gets half the target mass,
    # so the loss at perfect alignment is exactly log 2 on those rows and 0 on row 2.
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    loss = float(
        clip_contrastive_loss(emb, emb.clone(), torch.tensor(100.0), positive_mask_from_keys(["a", "a", "b"]))
    )
    assert loss == pytest.approx(2 * math.log(2) / 3, rel=1e-4)


def test_positive_mask_from_keys() -> None:
    mask = positive_mask_from_keys(["x", "y", "x", 3])
    expected = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)


def test_bad_inputs_raise() -> None:
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match="diagonal"):
        clip_contrastive_loss(x, x, torch.tensor(1.0), torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="positives"):
        clip_contrastive_loss(x, x, torch.tensor(1.0), torch.ones(2, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(B, D\)"):
        clip_contrastive_loss(x, torch.randn(3, 5), torch.tensor(1.0))
    with pytest.raises(ValueError, match=r"\(B \+ M, D\)"):
        clip_contrastive_loss(x, torch.randn(2, 4), torch.tensor(1.0))


def test_temperature_is_learned() -> None:
    g = torch.Generator().manual_seed(3)
    base = torch.randn(8, 16, generator=g)
    img, txt = base + 0.1 * torch.randn(8, 16, generator=g), base  # well aligned pairs
    scale = LogitScale()
    assert float(scale().detach()) == pytest.approx(1 / 0.07, rel=1e-5)
    opt = torch.optim.SGD(scale.parameters(), lr=0.5)
    before = float(scale.log_scale.detach())
    for _ in range(5):
        opt.zero_grad()
        clip_contrastive_loss(img, txt, scale()).backward()
        opt.step()
    # Aligned pairs reward sharper logits: the temperature falls (the scale rises).
    assert float(scale.log_scale.detach()) > before


def test_temperature_is_clamped() -> None:
    scale = LogitScale()
    with torch.no_grad():
        scale.log_scale.fill_(10.0)
    assert float(scale().detach()) == pytest.approx(100.0, rel=1e-5)
    clip_contrastive_loss(torch.randn(4, 3), torch.randn(4, 3), scale()).backward()
    assert scale.log_scale.grad is not None and float(scale.log_scale.grad) == 0.0  # no push past the clamp
    assert float(clamp_logit_scale(torch.tensor(-1.0))) == 0.0
    assert float(clamp_logit_scale(torch.tensor(9.0))) == pytest.approx(MAX_LOGIT_SCALE)
    with pytest.raises(ValueError, match="init_temperature"):
        LogitScale(init_temperature=0.0)
