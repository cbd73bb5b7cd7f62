"""COCO caption evaluation: tokenise, then Bleu_1..4, ROUGE_L, CIDEr (CIDEr-D) and METEOR.

Reproduces ``pycocoevalcap.eval.COCOEvalCap.evaluate`` (without SPICE) on plain dictionaries:
``gts`` maps an id to its reference captions, ``res`` maps the same ids to one hypothesis.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chronolens.errors import ChronolensError, FormatError
from chronolens.metrics.captioning.bleu import bleu
from chronolens.metrics.captioning.cider import cider_d
from chronolens.metrics.captioning.meteor import meteor, meteor_unavailable_reason
from chronolens.metrics.captioning.records import read_predictions, read_references
from chronolens.metrics.captioning.rouge import rouge_l
from chronolens.metrics.captioning.tokenizer import ptb_tokenize, whitespace_tokenize
from chronolens.metrics.io import InputChecks, check_corpus_words, load_json

__all__ = ["TOKENIZERS", "evaluate_captions", "evaluate_files"]

logger = logging.getLogger(__name__)

TOKENIZERS = ("ptb", "none")  # "ptb": COCO PTB pipeline re-implemented; "none": raw whitespace tokens
BLEU_ORDER = 4  # Bleu_1..Bleu_4, as COCOEvalCap


def evaluate_captions(
    gts_raw: Mapping[str, Sequence[str]],
    res_raw: Mapping[str, Sequence[str]],
    *,
    tokenizer: str = "ptb",
    use_meteor: bool = True,
) -> dict[str, Any]:
    """Score captions like pycocoevalcap's COCOEvalCap (minus SPICE).

    Args:
        gts_raw: id -> raw reference captions (at least one per id).
        res_raw: id -> a one-element list with the raw hypothesis; same ids as ``gts_raw``.
        tokenizer: ``"ptb"`` (PTB tokenisation + punctuation removal, as COCO) or ``"none"``.
        use_meteor: set False to skip METEOR even when Java and the jar are available.

    Returns:
        ``{"Bleu_1": .., "Bleu_2": .., "Bleu_3": .., "Bleu_4": .., "ROUGE_L": .., "CIDEr": ..}``
        plus ``"METEOR"`` when it ran; when it did not, a ``"notes"`` list says why.

    Raises:
        ValueError: for an unknown tokenizer or inputs that break the scorer contract.
    """
    if tokenizer not in TOKENIZERS:
        raise ValueError(f"tokenizer must be one of {TOKENIZERS}, got {tokenizer!r}")
    tokenize = ptb_tokenize if tokenizer == "ptb" else whitespace_tokenize
    gts = tokenize(gts_raw)
    res = tokenize(res_raw)
    out: dict[str, Any] = {}
    bleu_scores, _ = bleu(gts, res, n=BLEU_ORDER)
    for k, score in enumerate(bleu_scores):
        out[f"Bleu_{k + 1}"] = float(score)
    notes: list[str] = []
    if use_meteor:
        reason = meteor_unavailable_reason()
        if reason is None:
            try:
                result = meteor(gts, res)
            except ChronolensError as error:
                result = None
                reason = f"METEOR skipped: {error}"
            if result is not None:
                out["METEOR"] = result[0]
        if reason is not None:
            notes.append(reason)
    else:
        notes.append("METEOR skipped: disabled by the caller")
    out["ROUGE_L"] = rouge_l(gts, res)[0]
    out["CIDEr"] = cider_d(gts, res)[0]
    if notes:
        out["notes"] = notes
    return out


def evaluate_files(
    pred_path: str | Path,
    gt_path: str | Path,
    *,
    tokenizer: str = "ptb",
    checks: InputChecks | None = None,
) -> dict[str, Any]:
    """Score a prediction file against a reference file (the ``chronolens eval captioning`` path).

    Args:
        pred_path: JSON ``{id: [hypothesis]}`` or a COCO result list ``[{"image_id", "caption"}]``.
        gt_path: JSON ``{id: [reference, ...]}`` or COCO caption annotations
            ``{"annotations": [{"image_id", "caption"}, ...]}`` grouped by id, as pycocoevalcap
            reads them (see :mod:`chronolens.metrics.captioning.records`).
        tokenizer: ``"ptb"`` or ``"none"`` (see ``evaluate_captions``).
        checks: carries the bound on corpus words (``max_words``), checked before tokenising.

    Returns:
        The ``evaluate_captions`` dictionary (JSON-serialisable).

    Raises:
        FormatError: when a file is malformed or the ids of the two files differ.
    """
    pred_file, gt_file = str(pred_path), str(gt_path)
    res_raw = read_predictions(load_json(pred_path), pred_file)
    gts_raw = read_references(load_json(gt_path), gt_file)
    missing = [key for key in gts_raw if key not in res_raw]
    if missing:
        raise FormatError(
            f"{pred_file}: no prediction for {len(missing)} id(s) of {gt_file}, e.g. {missing[0]!r}"
        )
    extra = [key for key in res_raw if key not in gts_raw]
    if extra:
        raise FormatError(f"{pred_file}: record {extra[0]!r}: id not in {gt_file}")
    res_ordered = {key: res_raw[key] for key in gts_raw}
    check_corpus_words(
        [c for refs in gts_raw.values() for c in refs] + [c for hyps in res_ordered.values() for c in hyps],
        file=f"{pred_file}, {gt_file}",
        limit=(checks or InputChecks()).max_words,
    )
    return evaluate_captions(gts_raw, res_ordered, tokenizer=tokenizer)
