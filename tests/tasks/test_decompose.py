"""Composite queries: rule-based splitting and TFVTG-style combination."""

from __future__ import annotations

import numpy as np
import pytest

from chronolens.tasks.ground.decompose import Decomposer, Decomposition, RuleDecomposer, combine, decompose
from chronolens.tasks.ground.tfvtg import ground_query
from chronolens.timebase import Moment


@pytest.mark.parametrize(
    ("query", "parts", "relation"),
    [
        ("the man opens the door and then sits down", ["the man opens the door", "sits down"], "sequential"),
        ("person opens the door, then sits down.", ["person opens the door", "sits down"], "sequential"),
        (
            "a woman sits down after she opens the door",
            ["she opens the door", "a woman sits down"],
            "sequential",
        ),
        ("after the ball falls, the dog runs", ["the ball falls", "the dog runs"], "sequential"),
        ("he eats before he leaves", ["he eats", "he leaves"], "sequential"),
        ("before he leaves, he eats", ["he eats", "he leaves"], "sequential"),
        ("a man talks while a woman walks", ["a man talks", "a woman walks"], "simultaneous"),
        ("The person opens a box and eats", ["The person opens a box", "eats"], "sequential"),
        ("a red circle and a blue square move left", ["a red circle and a blue square move left"], "single"),
        ("a large striped red circle moves left", ["a large striped red circle moves left"], "single"),
        # "and" joining two colours inside a noun phrase is no second event.
        ("the scene cuts to a black and gray shaded background", None, "single"),
        ("a box appears and then a ring spins", ["a box appears", "a ring spins"], "sequential"),
        ("a ring spins after a box appears", ["a box appears", "a ring spins"], "sequential"),
    ],
)
def test_rule_decomposer(query: str, parts: list[str] | None, relation: str) -> None:
    d = decompose(query)
    assert d.parts == (parts or [query])
    assert d.relation == relation


def test_decomposer_hook_and_validation() -> None:
    class Fixed:
        def __call__(self, query: str) -> Decomposition:
            return Decomposition(["x", "y"], "simultaneous")

    assert isinstance(RuleDecomposer(), Decomposer)
    assert decompose("anything", Fixed()).parts == ["x", "y"]
    with pytest.raises(ValueError, match="relation"):
        Decomposition(["a"], "sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="single"):
        Decomposition(["a", "b"], "single")


def test_combine_sequential_drops_out_of_order_and_takes_union() -> None:
    first = [Moment(10, 15, 0.9), Moment(30, 35, 0.5)]
    second = [Moment(5, 8, 0.95), Moment(20, 25, 0.7)]
    out = combine([first, second], "sequential")
    # (10-15, 5-8) violates the order; best valid is (10-15, 20-25) -> union 10-25.
    assert out[0] == Moment(10, 25, pytest.approx(0.8))
    assert all(m.start <= m.end for m in out)
    assert (out[0].start, out[0].end) != (5, 15)


def test_combine_simultaneous_takes_intersection() -> None:
    out = combine([[Moment(10, 20, 0.8)], [Moment(15, 30, 0.6), Moment(40, 50, 0.9)]], "simultaneous")
    assert len(out) == 1 and (out[0].start, out[0].end) == (15, 20)


def test_ground_query_composite_spans_both_events() -> None:
    rng = np.random.default_rng(0)
    t, dim = 80, 16
    qa, qb = np.eye(dim)[0], np.eye(dim)[1]
    frames = rng.normal(0, 0.2, size=(t, dim))
    frames[:, :2] = 0
    frames[20:26] += 2 * qa
    frames[40:47] += 2 * qb
    frames[60:65] += 2 * qa  # qa again later: only (20-26, 40-47) is in order
    frames /= np.linalg.norm(frames, axis=1, keepdims=True)
    ts = np.arange(t) + 0.5
    result = ground_query(frames, ts, float(t), [qa, qb], relation="sequential", top_k=5)
    best = result.windows[0]
    # The dynamic phase starts where the smoothed rise starts (up to 2 samples early at 1 fps).
    assert 17.0 <= best.start <= 20.0 and best.end == 47.0
    scores = [m.score for m in result.windows]
    assert scores == sorted(scores, reverse=True)
