"""``chronolens bench``: run a pipeline on a benchmark and score it with chronolens' metrics."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from chronolens.cli.search import positive_int
from chronolens.data.formats.timeit_tasks import BENCH_TASKS  # imports nothing
from chronolens.data.split_names import SPLITS  # imports nothing: --help stays cheap
from chronolens.progress import show_progress  # the one rule, applied here too: some runners draw own bars

HELP = "run chronolens end to end on a benchmark and print its scores next to baselines"

logger = logging.getLogger(__name__)

DEFAULT_BENCH_VIDEOS = 100  # gallery size rendered when no --data is given

# Benchmarks living in their own modules under chronolens.cli (name -> module). Each defines
# ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int`` like a subcommand; a module that is
# not there yet is skipped.
BENCH_MODULES: dict[str, str] = {
    "shots": "bench_shots",
    "qa": "bench_qa",
    "speech": "bench_speech",
}


def _bench_modules() -> dict[str, ModuleType]:
    from chronolens.cli.main import load_subcommand

    found = {name: load_subcommand(module) for name, module in BENCH_MODULES.items()}
    return {name: module for name, module in found.items() if module is not None}


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "bench-synth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens bench``."""
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    synth = sub.add_parser(
        "synth",
        help="index, retrieval, moment retrieval and highlights on a synthetic split",
        description="Score the whole pipeline on a synthetic split (rendered once when --data is absent).",
    )
    synth.add_argument("--data", help="dataset from `chronolens synth` (default: render one into the cache)")
    synth.add_argument(
        "--split",
        default="test",
        choices=SPLITS,
        help="split (default test)",
    )
    synth.add_argument(
        "--model", default="builtin:synth-clip", help="encoder name (default builtin:synth-clip)"
    )
    synth.add_argument("--library", help="library dir for the split (default: DATA/.bench/<model>-<split>)")
    synth.add_argument(
        "--videos", type=int, default=DEFAULT_BENCH_VIDEOS, help="videos to render without --data"
    )
    synth.add_argument(
        "--seed", type=int, default=12345, help="seed of the rendered split and of the baselines"
    )
    synth.add_argument("--fps", type=float, default=1.0, help="indexing sample rate (default 1.0)")
    synth.add_argument("--json", action="store_true", help="print one JSON object")
    _add_qvhighlights(sub)
    _add_charades(sub)
    _add_timechat(sub)
    for name, module in _bench_modules().items():
        bench = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(bench)


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark."""
    plugged = _bench_modules().get(args.benchmark)
    if plugged is not None:
        return int(plugged.run(args))
    if args.benchmark == "timechat":
        return _run_timechat(args)
    if args.benchmark != "synth":
        return _run_real(args)
    from chronolens.evaluation.synth import SynthBenchConfig, format_report, run_synth_bench
    from chronolens.tasks.ground.finders import get_finder, list_finders

    progress = show_progress(not args.quiet)
    data = args.data
    if data is None:
        from chronolens.data.synth import SynthConfig, generate

        data = _cache_dir() / f"{args.split}-seed{args.seed}-n{args.videos}"
        if not (data / "synth.json").exists():
            logger.info("rendering %d %s videos to %s (once; reused later)", args.videos, args.split, data)
            generate(
                data, SynthConfig(videos=args.videos, seed=args.seed, split=args.split), progress=progress
            )
    config = SynthBenchConfig(split=args.split, model=args.model, fps=args.fps, seed=args.seed)
    # Every registered finder, in registration order (grounder, tfvtg-paper, simple): the report's.
    finders = {name: get_finder(name) for name in list_finders()}
    report = run_synth_bench(
        data, config=config, library_dir=args.library, finders=finders, progress=progress
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_report(report))
    return 0


def _common_arguments(parser: argparse.ArgumentParser, annotations_help: str) -> None:
    parser.add_argument("--videos", required=True, help="directory of the dataset's videos (<vid>.<ext>)")
    parser.add_argument("--annotations", required=True, help=annotations_help)
    parser.add_argument("--model", required=True, help="encoder name, e.g. hf:openai/clip-vit-base-patch32")
    parser.add_argument("--library", help="library dir (default: VIDEOS/.chronolens-bench/<model>)")
    parser.add_argument("--out", help="prediction jsonl (default: beside the annotations, *_preds.jsonl)")
    parser.add_argument("--fps", type=float, default=1.0, help="indexing sample rate (default 1.0)")
    parser.add_argument("--composite", action="store_true", help="split composite queries (then/after/while)")
    parser.add_argument("--json", action="store_true", help="print the metrics as one JSON object")


def _add_qvhighlights(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``qvhighlights`` to ``chronolens bench``'s subparsers; returns the new parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "qvhighlights",
        help="moment retrieval + highlights on QVHighlights (native jsonl)",
        description="Index the videos, ground every query, write predictions, run the QVHighlights eval.",
    )
    _common_arguments(parser, "QVHighlights jsonl, e.g. highlight_val_release.jsonl")
    return parser


def _add_charades(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``charades-sta`` to ``chronolens bench``'s subparsers; returns the new parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "charades-sta",
        help="temporal grounding on Charades-STA (native 'vid start end##sentence' txt)",
        description="Index the videos, ground every sentence, write predictions, print R1 and mIoU.",
    )
    _common_arguments(parser, "Charades-STA txt, e.g. charades_sta_test.txt")
    return parser


def _run_real(args: argparse.Namespace) -> int:
    """Run ``qvhighlights`` or ``charades-sta`` from parsed arguments and print the metrics."""
    from chronolens.evaluation.real import run_charades_bench, run_qvhighlights_bench

    kwargs: dict[str, Any] = {
        "model": args.model,
        "library_dir": args.library,
        "out": args.out,
        "fps": args.fps,
        "composite": args.composite,
        "progress": show_progress(not args.quiet),
    }
    if args.benchmark == "qvhighlights":
        metrics = run_qvhighlights_bench(args.videos, args.annotations, **kwargs)
        shown = metrics.get("brief", metrics)
    else:
        metrics = run_charades_bench(args.videos, args.annotations, **kwargs)
        shown = metrics
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in shown.items():
            print(f"{key:<28}{value if value is None else format(value, '.2f')}")
    return 0


def _add_timechat(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``timechat`` to ``chronolens bench``'s subparsers; returns the new parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "timechat",
        help="ask a TimeChat checkpoint every query of a split; grounding, dense captioning or highlights",
        description=(
            "Ask a TimeChat checkpoint every query of a benchmark split (native annotation files), "
            "write its predictions in the native formats and score them with chronolens' metrics."
        ),
    )
    parser.add_argument("--task", required=True, choices=tuple(BENCH_TASKS), help="what to evaluate")
    parser.add_argument("--data", help="dataset dir from `chronolens synth` (annotations/, videos/)")
    parser.add_argument("--checkpoint", required=True, help="TimeChat checkpoint dir")
    parser.add_argument(
        "--split",
        default="test",
        choices=SPLITS,
        help="split whose annotation file is read (default test)",
    )
    parser.add_argument(
        "--limit", type=positive_int, help="only the first N queries (dense captioning: videos)"
    )
    parser.add_argument("--annotations", help="a native annotation file instead of DATA/annotations/'s")
    parser.add_argument("--videos", help="directory of <vid>.<ext> videos (default DATA/videos)")
    parser.add_argument("--out", help="directory for predictions (default DATA/.bench/timechat-<checkpoint>)")
    parser.add_argument(
        "--parser",
        default="default",
        choices=("default", "timechat"),
        help="answer parser: chronolens' or TimeChat's format_tvg/format_dvc (default default)",
    )
    parser.add_argument(
        "--max-new-tokens", type=positive_int, help="cap on generated tokens (default: per task)"
    )
    parser.add_argument("--batch-size", type=positive_int, default=8, help="queries generated together")
    parser.add_argument("--device", help="torch device, e.g. cuda or cpu")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    return parser


def _run_timechat(args: argparse.Namespace) -> int:
    """Run ``bench timechat`` from parsed arguments and print its report."""
    from chronolens.errors import ChronolensError
    from chronolens.evaluation.timechat import format_report, run_timechat_bench

    if args.data is None and args.annotations is None:
        raise ChronolensError("bench timechat needs --data DIR (or --annotations FILE with --videos DIR)")
    report = run_timechat_bench(
        args.data,
        checkpoint=args.checkpoint,
        task=args.task,
        split=args.split,
        limit=args.limit,
        out=args.out,
        annotations=args.annotations,
        videos=args.videos,
        parser=args.parser,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        device=args.device,
        progress=show_progress(not args.quiet),
    )
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(format_report(report))
    return 0
