"""``chronolens eval TASK --pred FILE --gt FILE``: score predictions with reference-exact metrics.

Prints a readable two-column table, or with ``--json`` exactly one JSON object on stdout.
Values are unrounded (x100 where the reference scales them) unless ``--round N`` is given;
``--round 2`` reproduces the figures moment_detr's and TimeChat's scripts print.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

from chronolens.errors import ChronolensError

__all__ = ["HELP", "TASKS", "add_arguments", "run"]

HELP = "score predictions against ground truth (QVHighlights, Charades-STA, captioning, ...)"

# task name -> module under chronolens.metrics providing evaluate_files(pred, gt, ...).
TASKS: dict[str, str] = {
    "qvhighlights": "qvhighlights",
    "charades-sta": "grounding",
    "dense-captioning": "dense_captioning",
    "captioning": "captioning",
    "retrieval": "retrieval",
    "qa": "qa",
}
# Decimals shown in the table when --round is not given.
TABLE_DECIMALS = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``eval`` arguments."""
    parser.add_argument("task", choices=list(TASKS), help="benchmark / metric family")
    parser.add_argument("--pred", required=True, metavar="FILE", help="predictions file")
    parser.add_argument("--gt", required=True, metavar="FILE", help="ground-truth file")
    parser.add_argument(
        "--parser",
        choices=["default", "timechat"],
        default="default",
        help="charades-sta, dense-captioning: how answers become spans (timechat: TimeChat's exact parser)",
    )
    parser.add_argument(
        "--tokenizer",
        choices=["ptb", "none"],
        default="ptb",
        help="captioning: PTB tokenisation as pycocoevalcap, or raw whitespace tokens",
    )
    parser.add_argument("--round", type=int, default=None, metavar="N", help="round values to N decimals")
    parser.add_argument("--json", action="store_true", help="print one JSON object and nothing else")


def _evaluator(task: str) -> Callable[..., dict[str, Any]]:
    module_name = f"chronolens.metrics.{TASKS[task]}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ChronolensError(f"evaluation of '{task}' is not available in this build") from None
        raise
    evaluate: Callable[..., dict[str, Any]] = module.evaluate_files
    return evaluate


def _clean(value: Any, ndigits: int | None) -> Any:
    """JSON-safe copy: non-finite floats become null, floats rounded when asked."""
    if isinstance(value, dict):
        return {str(k): _clean(v, ndigits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v, ndigits) for v in value]
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{ndigits}f}") if ndigits is not None else value
    return value


def _rows(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _rows(sub, f"{prefix}/{key}" if prefix else str(key))
    else:
        yield prefix, value


def _format(value: Any, ndigits: int) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{ndigits}f}"
    if isinstance(value, list):
        return ", ".join(_format(v, ndigits) for v in value)
    return str(value)


def format_table(results: dict[str, Any], ndigits: int = TABLE_DECIMALS) -> str:
    """Render nested results as aligned ``name  value`` lines (nested keys joined with ``/``)."""
    rows = [(name, _format(value, ndigits)) for name, value in _rows(results)]
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n"


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; FormatError and friends propagate to the dispatcher (exit 1)."""
    evaluate = _evaluator(args.task)
    kwargs: dict[str, Any] = {}
    if args.task in ("charades-sta", "dense-captioning"):
        kwargs["parser"] = args.parser
    elif args.task == "captioning":
        kwargs["tokenizer"] = args.tokenizer
    results = evaluate(args.pred, args.gt, **kwargs)
    if args.round is not None and args.round < 0:
        raise ChronolensError(f"--round must be >= 0, got {args.round}")
    cleaned = _clean(results, args.round)
    if args.json:
        sys.stdout.write(json.dumps(cleaned, ensure_ascii=False) + "\n")
    else:
        ndigits = args.round if args.round is not None else TABLE_DECIMALS
        sys.stdout.write(f"{args.task}: {args.pred} vs {args.gt}\n")
        sys.stdout.write(format_table(cleaned, ndigits))
    return 0
