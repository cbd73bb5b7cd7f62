"""Composite queries: split "A and then B" into sub-queries and combine their groundings.

Rule-based default (:class:`RuleDecomposer`), tried in this order on the lower-cased query:

- ``"A and then B"``, ``"A, then B"``, ``"A then B"``: sequential ``[A, B]``;
- ``"A after B"`` / ``"after B, A"``: sequential ``[B, A]`` (the text order is reversed);
- ``"A before B"`` / ``"before B, A"``: sequential ``[A, B]``;
- ``"A while B"`` / ``"while B, A"``: simultaneous ``[A, B]``;
- ``"A and B"``: sequential ``[A, B]`` when ``B`` starts with what reads as a verb (a word ending
  in -s, -ed or -ing that is no determiner: ``"opens the door and sits down"``);
  ``"a red circle and a blue square"`` and ``"a black and gray background"`` stay one query.

Anything else is ``single``. An LLM decomposer plugs in through the :class:`Decomposer` protocol.
Combination follows TFVTG (``llm_prompting.py``): the top proposals of each sub-query are
enumerated, combinations violating the relation are dropped (sequential: each part starts at or
after the previous one ends; simultaneous: all parts overlap), and each remaining combination
becomes the union (sequential) or intersection (simultaneous) of its windows, scored by the mean
of its parts' scores.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from chronolens.timebase import Moment

__all__ = ["Decomposer", "Decomposition", "Relation", "RuleDecomposer", "combine", "decompose"]

Relation = Literal["single", "sequential", "simultaneous"]
RELATIONS: tuple[str, ...] = ("single", "sequential", "simultaneous")
VERB_ENDINGS = ("s", "ed", "ing")  # "A and B" splits only when B's first word ends like a verb
DETERMINERS = frozenset(
    [
        "a",
        "an",
        "the",
        "another",
        "some",
        "two",
        "three",
        "one",
        "his",
        "her",
        "their",
        "its",
        "this",
        "these",
        "those",
    ]
)


@dataclass(frozen=True)
class Decomposition:
    """Sub-queries of a query, in the order their events happen, and how they relate."""

    parts: list[str]  # one entry for a single query
    relation: Relation  # "single", "sequential" (parts in time order) or "simultaneous"

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"Decomposition.relation must be one of {RELATIONS}, got {self.relation!r}")
        if not self.parts or any(not p.strip() for p in self.parts):
            raise ValueError("Decomposition.parts must be non-empty strings")
        if (self.relation == "single") != (len(self.parts) == 1):
            raise ValueError("Decomposition.relation is 'single' exactly when there is one part")


@runtime_checkable
class Decomposer(Protocol):
    """Anything that splits a query: the rule-based default, or an LLM prompted for sub-queries."""

    def __call__(self, query: str) -> Decomposition: ...


def _clean(text: str) -> str:
    return text.strip(" ,.;").strip()


class RuleDecomposer:
    """The rule-based decomposer described in the module docstring."""

    _LEADING = re.compile(r"^(after|before|while)\s+(.+?),\s*(.+)$")
    _INFIX = (
        (re.compile(r"^(.+?),?\s+and then\s+(.+)$"), "sequential", False),
        (re.compile(r"^(.+?),?\s+then\s+(.+)$"), "sequential", False),
        (re.compile(r"^(.+?)\s+after\s+(.+)$"), "sequential", True),
        (re.compile(r"^(.+?)\s+before\s+(.+)$"), "sequential", False),
        (re.compile(r"^(.+?)\s+while\s+(.+)$"), "simultaneous", False),
    )

    def __call__(self, query: str) -> Decomposition:
        """Split ``query`` (see the module docstring)."""
        text = " ".join(query.strip().split())
        lowered = text.lower()
        lead = self._LEADING.match(lowered)
        if lead:
            word = lead.group(1)
            a, b = _clean(text[lead.start(2) : lead.end(2)]), _clean(text[lead.start(3) : lead.end(3)])
            if a and b:
                if word == "after":  # "after B, A": B first
                    return Decomposition([a, b], "sequential")
                if word == "before":  # "before B, A": A first
                    return Decomposition([b, a], "sequential")
                return Decomposition([b, a], "simultaneous")
        for pattern, relation, reverse in self._INFIX:
            m = pattern.match(lowered)
            if m:
                a, b = _clean(text[m.start(1) : m.end(1)]), _clean(text[m.start(2) : m.end(2)])
                if a and b:
                    return Decomposition([b, a] if reverse else [a, b], relation)  # type: ignore[arg-type]
        m = re.match(r"^(.+?)\s+and\s+(.+)$", lowered)
        first = m.group(2).split()[0] if m else ""
        if m and first not in DETERMINERS and first.endswith(VERB_ENDINGS):
            a, b = _clean(text[m.start(1) : m.end(1)]), _clean(text[m.start(2) : m.end(2)])
            if a and b:
                return Decomposition([a, b], "sequential")
        return Decomposition([_clean(text) or text], "single")


def decompose(query: str, decomposer: Decomposer | None = None) -> Decomposition:
    """Split a query into sub-queries and their relation.

    Args:
        query: free text.
        decomposer: the splitter to use (default: :class:`RuleDecomposer`).

    Returns:
        The decomposition (``relation == "single"`` for a plain query).
    """
    return (decomposer or RuleDecomposer())(query)


def combine(
    part_windows: Sequence[Sequence[Moment]], relation: Relation, *, per_part: int = 3
) -> list[Moment]:
    """Combine the proposals of each sub-query into windows of the whole query (TFVTG).

    Args:
        part_windows: per sub-query (in event order), its windows best first.
        relation: ``"sequential"`` or ``"simultaneous"`` (``"single"``: the one part's windows).
        per_part: top proposals of each part enumerated.

    Returns:
        The combined windows, best mean score first (ties: earlier start); empty when no
        combination satisfies the relation.
    """
    if relation == "single":
        return list(part_windows[0]) if part_windows else []
    if per_part < 1:
        raise ValueError(f"per_part must be >= 1, got {per_part}")
    out = []
    for combo in itertools.product(*(list(p)[:per_part] for p in part_windows)):
        if relation == "sequential":
            if any(nxt.start < prev.end for prev, nxt in itertools.pairwise(combo)):
                continue
            start, end = min(m.start for m in combo), max(m.end for m in combo)
        else:
            start, end = max(m.start for m in combo), min(m.end for m in combo)
            if start > end:
                continue
        out.append(Moment(start, end, sum(m.score for m in combo) / len(combo)))
    out.sort(key=lambda m: (-m.score, m.start, m.end))
    return out
