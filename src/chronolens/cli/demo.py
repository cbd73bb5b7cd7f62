"""``chronolens demo``: the main job — render, index, search and report in one command."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chronolens.demo.run import DemoRow

HELP = "see chronolens work end to end: index a small synthetic set (or PATH) and search it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens demo``."""
    parser.add_argument("path", nargs="?", help="your own video folder (default: render a synthetic set)")
    parser.add_argument("--model", default="builtin:synth-clip", help="encoder (default builtin:synth-clip)")
    parser.add_argument(
        "--query", action="append", default=[], help="query to run on PATH (repeatable; required with PATH)"
    )
    parser.add_argument(
        "--out", default="chronolens-demo", help="working directory (default ./chronolens-demo)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def _fmt(spans: list[tuple[float, float]]) -> str:
    return ", ".join(f"{a:.1f}–{b:.1f}s" for a, b in spans) or "—"


def _top_moment_iou(row: DemoRow) -> float:
    """IoU of the true video's best moment with the nearest true span (0 when not found)."""
    from pathlib import Path

    from chronolens.metrics.temporal import temporal_iou

    for hit in row.results:
        if row.true_video is not None and str(Path(hit.video).resolve()) == row.true_video and hit.moments:
            best = hit.moments[0]
            iou = temporal_iou([[best.start, best.end]], [[s.start, s.end] for s in row.truth])
            return float(np.nan_to_num(iou).max())
    return 0.0


def run(args: argparse.Namespace) -> int:
    """Run the demo and print what it found."""
    from pathlib import Path

    from chronolens.demo.run import DemoConfig, run_demo

    progress = not args.quiet and sys.stderr.isatty()
    result = run_demo(
        args.out, folder=args.path, queries=args.query, config=DemoConfig(model=args.model), progress=progress
    )
    if args.json:
        payload = {
            "report": str(result.report),
            "library": str(result.library),
            "queries": [row.to_json() for row in result.rows],
        }
        print(json.dumps(payload, indent=2))
        return 0
    for row in result.rows:
        print(f"\n“{row.query}”")
        if row.true_video is not None:
            truth = _fmt([(s.start, s.end) for s in row.truth])
            rank = row.true_video_rank or f">{len(row.results)}"
            print(f"  true: {Path(row.true_video).name} at {truth}  (video ranked {rank})")
        for i, hit in enumerate(row.results):
            correct = row.true_video is not None and str(Path(hit.video).resolve()) == row.true_video
            moments = _fmt([(m.start, m.end) for m in hit.moments])
            mark = "✓" if correct else " "
            print(f"  {mark} {i + 1}. {Path(hit.video).name}  score {hit.score:.3f}  found {moments}")
    known = [row for row in result.rows if row.true_video is not None]
    if known:
        first = sum(row.true_video_rank == 1 for row in known)
        hits = sum(_top_moment_iou(row) >= 0.5 for row in known)
        print(
            f"\ntrue video ranked first for {first} of {len(known)} queries; "
            f"its top moment overlaps the truth (IoU >= 0.5) for {hits} of {len(known)}"
        )
    print(f"\nreport: {result.report.resolve()}")
    return 0
