"""chronolens.metrics: every metric once, with parity to the reference scripts.

Submodules (imported on first attribute access, so ``import chronolens.metrics`` stays cheap):
``temporal`` (IoU, Recall@k), ``qvhighlights`` (moment_detr MR/HL), ``retrieval`` (CLIP4Clip),
``qa`` (exact match, VQA accuracy), ``classification`` (top-k), ``captioning`` (pycocoevalcap),
``grounding`` (TimeChat Charades-STA), ``dense_captioning`` (TimeChat DVC), ``io`` (file readers).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "evaluate_captions",
    "evaluate_qa",
    "evaluate_qvhighlights",
    "recall_at_k",
    "retrieval_metrics",
    "temporal_iou",
    "topk_accuracy",
]

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "evaluate_captions": "captioning",
    "evaluate_qa": "qa",
    "evaluate_qvhighlights": "qvhighlights",
    "recall_at_k": "temporal",
    "retrieval_metrics": "retrieval",
    "temporal_iou": "temporal",
    "topk_accuracy": "classification",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"chronolens.metrics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'chronolens.metrics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
