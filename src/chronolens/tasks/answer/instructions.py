"""The instructions TimeChat is asked, in the TimeIT phrasings it was tuned on.

The model answers in the form it learnt for each task, so every question a session asks for a
task is that task's first TimeIT template (:data:`chronolens.data.formats.timeit.INSTRUCTIONS`),
with the query single-quoted as TimeIT writes it.
"""

from __future__ import annotations

from chronolens.data.formats.timeit import INSTRUCTIONS
from chronolens.data.formats.timeit_tasks import DVC, TVG, VHD

__all__ = ["caption_instruction", "grounding_instruction", "highlight_instruction"]


def _with_query(task: str, query: str) -> str:
    return INSTRUCTIONS[task][0].replace("<query>", f"'{query}'")


def caption_instruction() -> str:
    """The TimeIT dense-captioning instruction asked by :func:`~chronolens.tasks.answer.caption`."""
    return INSTRUCTIONS[DVC][0]


def grounding_instruction(query: str) -> str:
    """The TimeIT temporal-grounding instruction for ``query`` (single-quoted, as TimeIT does)."""
    return _with_query(TVG, query)


def highlight_instruction(query: str) -> str:
    """The TimeIT highlight-detection instruction for ``query``."""
    return _with_query(VHD, query)
