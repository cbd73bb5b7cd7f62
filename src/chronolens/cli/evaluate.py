"""``chronolens eval TASK --pred FILE --gt FILE``: score predictions with reference-exact metrics.

Prints a readable two-column table, or with ``--json`` exactly one JSON object on stdout.
Values are unrounded (x100 where the reference scales them) unless ``--round N`` is given;
``--round 2`` reproduces the figures moment_detr's and TimeChat's scripts print.

Inputs are checked strictly (spans finite, ordered and inside the video, no duplicate
ground-truth records); ``--lenient`` lets through, and counts, what the reference scripts accept
(the JSON gets a ``"lenient"`` object, stderr one line). ``--subset`` scores the ids present in
both files, as TimeChat's scripts do, and reports what it left out under ``"subset"``.
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
from chronolens.metrics.io import MAX_CORPUS_WORDS, InputChecks

__all__ = ["FORMATS", "HELP", "TASKS", "add_arguments", "formats_epilog", "run"]

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
# Tasks whose files carry spans or ground-truth records that --lenient can let through.
LENIENT_TASKS = ("qvhighlights", "charades-sta", "dense-captioning")
# Tasks where --subset applies (the TimeChat scripts that score an intersection).
SUBSET_TASKS = ("qvhighlights", "charades-sta", "dense-captioning")
# Tasks that score captions (bounded by --max-words).
CAPTION_TASKS = ("captioning", "dense-captioning")

# task -> the reference it matches and its two file formats, shown by --help (laid out as written).
FORMATS: dict[str, str] = {
    "qvhighlights": """\
  qvhighlights  moment_detr standalone_eval/eval.py (MR-mAP, MR-R1, HL-mAP, HL-Hit1)
    --pred  JSON lines (or a JSON array), one query each: {"qid",
            "pred_relevant_windows": [[s, e, score], ...], "pred_saliency_scores": [per 2 s clip]}
    --gt    QVHighlights JSON lines: {"qid", "duration", "relevant_windows": [[s, e], ...],
            "relevant_clip_ids": [...], "saliency_scores": [[a, b, c], ...]}""",
    "charades-sta": """\
  charades-sta  TimeChat utils/format_tvg.py + metrics/tvg/eval_tvg.py (R1@0.3/0.5/0.7, mIoU)
    --pred  raw answers [{"id", "vname", "query", "generated_cap": "<answer>"}] read by
            --parser, or format_tvg.py output {"<id>": {"timestamp": [[s, e]]}}
    --gt    {"annotations": [{"id", "image_id", "caption", "timestamp": [s, e]}]}""",
    "dense-captioning": """\
  dense-captioning  TimeChat metrics/dvc/eval_dvc.py on TimeIT files (P/R/F1, CIDEr, METEOR,
                    SODA_c, Para_*)
    --pred  {"<video>": [{"timestamp": [s, e], "caption"}, ...]}, or raw answers
            [{"vname", "generated_cap"}] read by --parser (timechat: utils/format_dvc.py)
    --gt    {"annotations": [{"image_id", "duration", "segments": [[s, e], ...],
            "pure_cap" or "caption": one sentence per segment}]}""",
    "captioning": """\
  captioning  pycocoevalcap COCOEvalCap (Bleu_1-4, METEOR, ROUGE_L, CIDEr; no SPICE)
    --pred  COCO results [{"image_id", "caption"}], or {"<id>": ["caption"]}
    --gt    COCO captions {"annotations": [{"image_id", "id", "caption"}, ...], ...} grouped
            by image_id (video_id, or id, where there is no image_id), or {"<id>": [refs]}""",
    "retrieval": """\
  retrieval  CLIP4Clip metrics.py compute_metrics (R1, R5, R10, MedianR, MeanR)
    --pred  (queries, items) similarity as .npy or {"similarity": [[...], ...]}, or ranked
            lists {"<query>": ["<item>", ...]} (best first)
    --gt    for a matrix: [target column per row], {"targets": [...]} or "diagonal";
            for ranked lists: {"<query>": "<item>"}""",
    "qa": """\
  qa  VQA answer normalisation and accuracy of the official vqaEval.py (exact_match,
      vqa_accuracy, vqa_accuracy_official)
    --pred  [{"question_id", "answer"}] (JSON array or JSON lines)
    --gt    [{"question_id", "answer"}] or [{"question_id", "answers": ["...", ...]}]""",
}


def formats_epilog(task: str | None = None) -> str:
    """The ``--help`` epilog: the file formats of ``task``, or of every task when None."""
    tasks = list(TASKS) if task is None else [task]
    blocks = "\n".join(FORMATS[name] for name in tasks)
    more = "Metric definitions and the reference quirks kept: docs/metrics.md."
    if task is not None:
        more += "\nEvery task's formats: chronolens eval --help."
    return f"file formats (--pred / --gt; JSON unless said):\n{blocks}\n\n{more}"


class _TaskChoice(argparse.Action):
    """Store the task, and narrow the help's file formats to it (``chronolens eval qa --help``).

    argparse reads a positional before the ``--help`` that follows it, so the epilog is set by
    the time help is printed.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        parser.epilog = formats_epilog(values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``eval`` arguments, and the file formats of every task as the help's epilog."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = formats_epilog()
    parser.add_argument("task", choices=list(TASKS), action=_TaskChoice, help="benchmark / metric family")
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
    parser.add_argument(
        "--lenient",
        action="store_true",
        help=f"{', '.join(LENIENT_TASKS)}: accept what the reference scripts accept (reversed, negative or "
        "out-of-video spans, duplicate ground truth) and report how many of each",
    )
    parser.add_argument(
        "--subset",
        action="store_true",
        help=f"{', '.join(SUBSET_TASKS)}: score only the ids/videos in both files, as TimeChat's "
        "eval_vhd.py / eval_tvg.py --sample do, and report how many were left out",
    )
    parser.add_argument(
        "--max-words",
        type=int,
        default=MAX_CORPUS_WORDS,
        metavar="N",
        help=f"{', '.join(CAPTION_TASKS)}: refuse caption corpora over N words "
        f"(default {MAX_CORPUS_WORDS:,})",
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


def _report(checks: InputChecks) -> dict[str, Any]:
    """The ``"lenient"`` / ``"subset"`` entries of the output, each also said on stderr."""
    out: dict[str, Any] = {}
    if checks.lenient:
        out["lenient"] = dict(sorted(checks.let_through.items()))
        said = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in out["lenient"].items()) or "nothing"
        sys.stderr.write(f"lenient: let through {said}\n")
    if checks.subset:
        out["subset"] = dict(checks.left_out)
        left = checks.left_out
        sys.stderr.write(
            f"subset: left out {left.get('gt_without_prediction', 0)} ground-truth ids without a prediction "
            f"and {left.get('prediction_without_gt', 0)} predictions without ground truth\n"
        )
    return out


def run(args: argparse.Namespace) -> int:
    """Evaluate and print; FormatError and friends propagate to the dispatcher (exit 1)."""
    if args.round is not None and args.round < 0:
        raise ChronolensError(f"--round must be >= 0, got {args.round}")
    if args.max_words < 1:
        raise ChronolensError(f"--max-words must be >= 1, got {args.max_words}")
    for flag, tasks in (("lenient", LENIENT_TASKS), ("subset", SUBSET_TASKS)):
        if getattr(args, flag) and args.task not in tasks:
            raise ChronolensError(f"--{flag} applies to {', '.join(tasks)}, not {args.task}")
    evaluate = _evaluator(args.task)
    kwargs: dict[str, Any] = {}
    checks = InputChecks(lenient=args.lenient, subset=args.subset, max_words=args.max_words)
    if args.task in ("charades-sta", "dense-captioning"):
        kwargs["parser"] = args.parser
    elif args.task == "captioning":
        kwargs["tokenizer"] = args.tokenizer
    if args.task in LENIENT_TASKS or args.task in CAPTION_TASKS:
        kwargs["checks"] = checks
    results = evaluate(args.pred, args.gt, **kwargs)
    results = {**results, **_report(checks)}
    cleaned = _clean(results, args.round)
    if args.json:
        sys.stdout.write(json.dumps(cleaned, ensure_ascii=False) + "\n")
    else:
        ndigits = args.round if args.round is not None else TABLE_DECIMALS
        sys.stdout.write(f"{args.task}: {args.pred} vs {args.gt}\n")
        sys.stdout.write(format_table(cleaned, ndigits))
    return 0
