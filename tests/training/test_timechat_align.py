"""The recipe's image-text start for the tiny TimeChat: word embeddings and video-token alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chronolens.models.timechat.config import TimeChatConfig
from chronolens.training.recipes.timechat.align import (
    VideoTokenAlignment,
    chunk_weights,
    init_word_embeddings,
    mean_image_embedding,
    space_map,
)


class _Tower:
    """Stands in for FrameFeatures: fixed word vectors; the image embedding is the class token."""

    name = "fake-tower"

    def __init__(self, words: dict[str, torch.Tensor]) -> None:
        self.words = words

    def knows_word(self, word: str) -> bool:
        return word in self.words

    def text_embeddings(self, texts: list[str]) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.stack([self.words[t] for t in texts]), dim=-1)

    def image_embeddings(self, features: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(features[..., 0, :].float(), dim=-1)


def test_space_map_is_the_identity_or_keeps_dot_products() -> None:
    assert torch.equal(space_map(6, 6), torch.eye(6))
    x = torch.randn(5, 6)
    wide = x @ space_map(6, 10, seed=1)
    assert wide.shape == (5, 10)
    assert torch.allclose(wide @ wide.T, x @ x.T, atol=1e-5)  # widening is an isometry
    assert torch.equal(space_map(6, 10, seed=1), space_map(6, 10, seed=1))
    assert space_map(10, 6).shape == (10, 6)


def _config(**overrides: object) -> TimeChatConfig:
    values: dict[str, object] = {"n_frames": 32, "window": 8, "stride": 8, "video_queries": 8}
    return TimeChatConfig.tiny().with_(**{**values, **overrides})


def test_chunk_weights_tie_each_token_to_its_frames() -> None:
    sliding = chunk_weights(_config(), 20)  # 3 windows x 8 tokens; the last window has 4 real frames
    assert sliding.shape == (24, 20)
    for token in range(20):  # Nv = Lw: token k reads frame k
        assert sliding[token].nonzero().flatten().tolist() == [token]
    assert torch.count_nonzero(sliding[20:]) == 0  # tokens of padding frames have no target
    whole = chunk_weights(_config(sliding=False), 32)  # global: 8 tokens over 32 frames
    assert whole.shape == (8, 32)
    assert whole[1].nonzero().flatten().tolist() == [4, 5, 6, 7]
    assert torch.allclose(whole.sum(dim=1), torch.ones(8))
    shared = chunk_weights(_config(video_queries=16), 8)  # Nv > Lw: neighbouring tokens share frames
    assert shared.shape == (16, 8) and torch.allclose(shared.sum(dim=1), torch.ones(16))


def test_alignment_loss_is_zero_on_its_targets_and_trains_the_tokens() -> None:
    config = _config(n_frames=16)
    torch.manual_seed(0)
    features = torch.randn(2, 16, 3, 5)  # (U, T, P, Dv); the fake tower's embedding is features[:, :, 0]
    frame_mask = torch.ones(2, 16, dtype=torch.bool)
    frame_mask[1, 10:] = False
    image_mean = torch.randn(5) * 0.1
    align = VideoTokenAlignment(config, _Tower({}), llm_dim=5, image_mean=image_mean)  # type: ignore[arg-type]
    target, valid = align.targets(features, frame_mask)
    assert target.shape == (2, 16, 5)
    assert valid[0].all() and valid[1, :10].all() and not valid[1, 10:].any()
    expected = torch.nn.functional.normalize(features[0, 3, 0], dim=-1) - image_mean  # token 3 <- frame 3
    assert torch.allclose(target[0, 3], torch.nn.functional.normalize(expected, dim=-1), atol=1e-6)
    token_mask = torch.ones(2, 16, dtype=torch.bool)
    assert align(target * 3.0, token_mask, features, frame_mask).item() == pytest.approx(0.0, abs=1e-6)
    wide = VideoTokenAlignment(config, _Tower({}), llm_dim=9, image_mean=image_mean)  # type: ignore[arg-type]
    free = torch.randn(2, 16, 9) @ (torch.eye(9) - wide.map.T @ wide.map)  # outside the tower's subspace
    on_target = target @ wide.map + free  # the content matches; the other 4 directions hold anything
    assert wide(on_target, token_mask, features, frame_mask).item() == pytest.approx(0.0, abs=1e-5)
    tokens = torch.randn(2, 16, 5, requires_grad=True)
    junk = tokens.detach().clone()
    junk[1, 10:] = 100.0  # tokens without real frames do not count
    assert align(junk, token_mask, features, frame_mask).item() == pytest.approx(
        align(tokens.detach(), token_mask, features, frame_mask).item()
    )
    optimizer = torch.optim.Adam([tokens], lr=0.1)
    before = align(tokens, token_mask, features, frame_mask).item()
    for _ in range(50):
        optimizer.zero_grad()
        align(tokens, token_mask, features, frame_mask).backward()
        optimizer.step()
    assert align(tokens, token_mask, features, frame_mask).item() < 0.5 * before


def test_alignment_target_is_the_mean_over_a_chunks_real_frames() -> None:
    config = _config(n_frames=8, sliding=False, video_queries=2)  # global: 2 tokens x 4 frames
    features = torch.randn(1, 8, 2, 3)
    frame_mask = torch.tensor([[True] * 6 + [False] * 2])  # the second chunk has 2 real frames
    align = VideoTokenAlignment(config, _Tower({}), llm_dim=3, image_mean=torch.zeros(3))  # type: ignore[arg-type]
    target, valid = align.targets(features, frame_mask)
    assert valid.all()
    image = torch.nn.functional.normalize(features[0, :, 0], dim=-1)
    for token, frames in ((0, [0, 1, 2, 3]), (1, [4, 5])):
        expected = torch.nn.functional.normalize(image[frames].mean(0), dim=-1)
        assert torch.allclose(target[0, token], expected, atol=1e-6)


def test_mean_image_embedding_over_all_frames() -> None:
    arrays = [np.ones((2, 3, 4), dtype=np.float32), -np.ones((1, 3, 4), dtype=np.float32)]
    mean = mean_image_embedding(_Tower({}), arrays)  # type: ignore[arg-type]
    assert torch.allclose(mean, torch.full((4,), 0.5 / 3))  # (2 * 0.5 - 0.5) / 3 frames
    with pytest.raises(ValueError, match="at least one frame"):
        mean_image_embedding(_Tower({}), [])  # type: ignore[arg-type]


def test_word_init_sets_known_words_to_centred_text_embeddings() -> None:
    from tests.models.timechat.tiny import tiny_config

    from chronolens.models.timechat import TimeChat

    model = TimeChat.build(
        tiny_config(), corpus=["a red circle spins at 3.5 seconds", "a blue square appears"]
    )
    vocab = model.tokenizer.get_vocab()
    common = torch.tensor([3.0, 0.0, 0.0, 0.0])
    vectors = {
        "red": common + torch.tensor([0.0, 1.0, 0.0, 0.0]),
        "blue": common + torch.tensor([0.0, -1.0, 0.0, 0.0]),
        "circle": common + torch.tensor([0.0, 0.0, 1.0, 0.0]),
        "square": common + torch.tensor([0.0, 0.0, -1.0, 0.0]),
    }
    embedding = model.llm.get_input_embeddings().weight
    before = embedding.detach().clone()
    scale = before.norm(dim=-1).mean()
    assert init_word_embeddings(model, _Tower(vectors), seed=0) == 4  # type: ignore[arg-type]
    rows = {word: embedding[vocab[word]].detach() for word in vectors}
    assert all(row.norm().item() == pytest.approx(scale.item(), rel=1e-5) for row in rows.values())
    cos = torch.nn.functional.cosine_similarity
    # the shared direction is gone: opposite words point opposite ways, unrelated ones are orthogonal
    assert cos(rows["red"], rows["blue"], dim=0).item() < -0.3
    assert abs(cos(rows["red"], rows["circle"], dim=0).item()) < 0.3
    untouched = [i for w, i in vocab.items() if w not in vectors]  # digits, punctuation, unknown words
    assert torch.equal(embedding[untouched].detach(), before[untouched])
