"""MovieChat memory: the most similar adjacent pair merges first, memory sizes, spans."""

from __future__ import annotations

import itertools

import pytest
import torch

from chronolens.models.layers import MovieChatConfig, MovieChatMemory, merge_most_similar


def test_defaults_and_counts() -> None:
    config = MovieChatConfig()
    assert (config.short_term, config.long_term) == (18, 256)
    assert config.output_tokens(8) == 8 * 32  # nothing flushed yet: all in short-term memory
    assert config.output_tokens(600) == 32 * (256 + 600 % 18)
    assert MovieChatConfig.tiny().memory_frames(10) == 6 + 2


def test_merges_the_most_similar_adjacent_pair_first() -> None:
    slots = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[0.1, 1.0]], [[1.0, 1.0]]])  # (4, 1, 2)
    spans = torch.tensor([[0, 0], [1, 1], [2, 2], [3, 3]])
    merged, merged_spans = merge_most_similar(slots, spans, 3)
    # Slots 1 and 2 are the closest neighbours (1 and 3 would be closer than 0 and 1, but adjacency rules).
    assert merged_spans.tolist() == [[0, 0], [1, 2], [3, 3]]
    assert merged[1, 0].tolist() == pytest.approx([0.05, 1.0])
    merged, merged_spans = merge_most_similar(merged, merged_spans, 1)
    assert merged_spans.tolist() == [[0, 3]]


def test_stream_keeps_long_term_fixed_and_short_term_remainder() -> None:
    config = MovieChatConfig.tiny()  # S = 4, long-term 6
    memory = MovieChatMemory(config)
    units = torch.randn(2, 10, 3, 5, generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[True] * 10, [True] * 3 + [False] * 7])
    out = memory(units, mask)
    assert out.tokens.shape == (2, 3 * 8, 5)
    assert (
        out.mask.sum(dim=1).tolist() == [config.output_tokens(10, 3), config.output_tokens(3, 3)] == [24, 9]
    )
    spans = out.spans[0, ::3].tolist()  # one per slot
    assert spans[0][0] == 0 and spans[5][1] == 7 and spans[6:] == [[8, 8], [9, 9]]  # time order kept
    assert all(a[1] + 1 == b[0] for a, b in itertools.pairwise(spans))
    assert torch.equal(out.tokens[1, :9], units[1, :3].reshape(9, 5))  # nothing flushed: unchanged
    assert out.spans[1, 9:].eq(-1).all()


def test_gradients_flow_through_merges() -> None:
    units = torch.randn(1, 8, 2, 3, requires_grad=True)
    out = MovieChatMemory(MovieChatConfig(short_term=4, long_term=2))(
        units, torch.ones(1, 8, dtype=torch.bool)
    )
    assert out.tokens.shape == (1, 4, 3)
    out.tokens.sum().backward()
    assert units.grad is not None and bool((units.grad != 0).all())


def test_bad_config_is_named() -> None:
    with pytest.raises(ValueError, match=r"MovieChatConfig\.short_term"):
        MovieChatConfig(short_term=0)
