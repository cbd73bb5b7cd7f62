"""``chronolens bench``: run a pipeline on a benchmark and score it with chronolens' metrics."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

HELP = "run chronolens end to end on a benchmark and print its scores next to baselines"

logger = logging.getLogger(__name__)

DEFAULT_BENCH_VIDEOS = 100  # gallery size rendered when no --data is given


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "bench-synth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens bench``."""
    from chronolens.bench.real import add_arguments_charades, add_arguments_qvhighlights

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
        choices=("train", "val", "test", "compositional"),
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
    add_arguments_qvhighlights(sub)
    add_arguments_charades(sub)


def run(args: argparse.Namespace) -> int:
    """Run the chosen benchmark."""
    if args.benchmark != "synth":
        return int(args.bench_run(args))
    from chronolens.bench.synth import SynthBenchConfig, format_report, run_synth_bench
    from chronolens.tasks.grounding import tfvtg_finder
    from chronolens.tasks.moments import find_moments

    progress = not args.quiet and sys.stderr.isatty()
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
    finders = {
        "tfvtg": tfvtg_finder,
        "simple": lambda s, t, d, k: find_moments(s, t, d, top_k=k),
    }
    report = run_synth_bench(
        data, config=config, library_dir=args.library, finders=finders, progress=progress
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(format_report(report))
    return 0
