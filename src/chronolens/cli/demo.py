"""``chronolens demo``: the main job — render, index, search and report in one command."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from chronolens.cli.serve import add_serve_arguments
from chronolens.errors import ChronolensError, UsageError

if TYPE_CHECKING:
    from chronolens.demo.run import DemoResult, DemoRow
    from chronolens.demo.timechat import TimeChatDemoResult
    from chronolens.tasks.search import SearchResult

HELP = (
    "see chronolens work end to end: index a synthetic world (or PATH) and search it; "
    "--timechat trains a tiny video LLM for a few minutes and captions and asks with it"
)
TIMECHAT_DIR = "timechat"  # under --out: the TimeChat demo's world, feature cache and run

SCALE_NOTE = "scores: cosine similarity of query and frames (a video's: the mean of its 5 best frames)"


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
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the synthetic set and of the queries shown (default 7)",
    )
    parser.add_argument("--videos", type=int, default=None, help="synthetic videos to render (default 40)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument(
        "--timechat",
        action="store_true",
        help="train a tiny TimeChat on a small synthetic world, then run caption and ask with it",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="--timechat: training budget on 2 free CPU cores (default 3)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="then serve the demo library as a web page (`chronolens serve`) until Ctrl-C",
    )
    add_serve_arguments(parser)


def _stage_line(message: str) -> None:
    """A stage of the demo, on its own line of stderr (terminal or not)."""
    print(message, file=sys.stderr, flush=True)


def _fmt(spans: list[tuple[float, float]]) -> str:
    from chronolens.timebase import clock

    return ", ".join(f"{clock(a)}–{clock(b)}" for a, b in spans) or "—"


def _hit_line(n: int | None, hit: SearchResult, row: DemoRow) -> str:
    from chronolens.demo.run import MOMENT_IOU

    if row.kind == "moment":  # its own video: the mark says whether the top moment is right
        correct = row.top_iou is not None and row.top_iou >= MOMENT_IOU
    else:  # the mark says which listed video is the true one
        correct = row.true_video is not None and str(Path(hit.video).resolve()) == row.true_video
    mark = "✓" if correct else " "
    moments = _fmt([(m.start, m.end) for m in hit.moments])
    rank = "in" if n is None else f"{n}."
    return f"  {mark} {rank} {Path(hit.video).name}  score {hit.score:.3f}  found {moments}"


def _print_rows(result: DemoResult) -> None:
    for row in result.rows:
        print(f"\n“{row.query}”")
        if row.kind == "moment" and row.true_video is not None:
            truth = _fmt([(s.start, s.end) for s in row.truth])
            print(f"  when? true: {truth}  (top moment IoU {row.top_iou or 0.0:.2f})")
            for hit in row.results:
                print(_hit_line(None, hit, row))
            continue
        if row.true_video is not None:
            print(f"  which video? true: {Path(row.true_video).name}  (ranked {row.true_video_rank})")
        for i, hit in enumerate(row.results):
            print(_hit_line(i + 1, hit, row))
        if row.true_result is not None:
            print(_hit_line(row.true_video_rank, row.true_result, row))


def _print_timechat(result: TimeChatDemoResult) -> None:
    from chronolens.timebase import clock

    print(textwrap.fill(result.honesty[0].upper() + result.honesty[1:] + ".", width=100))
    scores = result.metrics.get("timechat")
    if scores:
        base = result.metrics.get("uniform-window", {})
        print(
            f"held-out grounding: R1@0.5 {float(scores['R1@0.5']):.1f} on {int(scores['n'])} queries "
            f"(uniform windows {float(base.get('R1@0.5', 0.0)):.1f}; "
            f"no span in {int(scores.get('parse_failures', 0))} answers)"
        )
    print(f"\nheld-out video: {result.video}  ({clock(result.duration)})")
    print("  true events:")
    for span, text in result.true_events:
        print(f"    {clock(span.start)} - {clock(span.end)}  {text}")
    print("  chronolens caption:")
    for span, text in result.caption.events:
        print(f"    {clock(span.start)} - {clock(span.end)}  {text}")
    if not result.caption.events:
        print(f"    {result.caption.text!r}" if result.caption.text else "    (no text)")
        if result.caption.note:
            print(f"    note: {result.caption.note}")
    truth = result.question_truth
    print(f"  chronolens ask: {result.question}")
    answer = result.answer.text or "(no text)"
    print(f"    answer: {answer}  (true: {truth.start:.1f} - {truth.end:.1f} seconds)")
    if result.answer.note:
        print(f"    note: {result.answer.note}")
    print("\ntry next (any video of this world; train longer for better answers):")
    for command in result.commands:
        print(f"  {command}")


def _run_timechat(args: argparse.Namespace) -> int:
    """``chronolens demo --timechat``."""
    from chronolens.demo.timechat import TimeChatDemoConfig, run_timechat_demo

    if args.path is not None or args.query:
        raise UsageError("--timechat renders its own world: drop PATH and --query")
    given = (("minutes", args.minutes), ("seed", args.seed), ("videos", args.videos))
    try:
        config = TimeChatDemoConfig(**{k: v for k, v in given if v is not None})
    except ValueError as exc:
        raise ChronolensError(str(exc)) from exc
    result = run_timechat_demo(
        Path(args.out) / TIMECHAT_DIR,
        config=config,
        progress=not args.quiet,
        on_stage=None if args.quiet else _stage_line,
    )
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_timechat(result)
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the demo and print what it found."""
    from chronolens.demo.run import DemoConfig, run_demo

    if args.timechat:
        if args.serve:
            raise UsageError("--serve shows the search demo's library: drop --timechat")
        return _run_timechat(args)
    if args.minutes is not None:
        raise UsageError("--minutes is the --timechat demo's training budget: add --timechat")

    overrides = {k: v for k, v in (("seed", args.seed), ("videos", args.videos)) if v is not None}
    result = run_demo(
        args.out,
        folder=args.path,
        queries=args.query,
        config=DemoConfig(model=args.model, **overrides),
        progress=not args.quiet,
        on_stage=None if args.quiet else _stage_line,
    )
    if args.json:
        payload = {
            "report": str(result.report),
            "library": str(result.library),
            "scores": None if result.scores is None else result.scores.to_json(),
            "seconds": result.seconds,
            "queries": [row.to_json() for row in result.rows],
        }
        print(json.dumps(payload, indent=2))
        return _serve(args, result.library)
    print(textwrap.fill(result.intro, width=100))
    print(SCALE_NOTE)
    _print_rows(result)
    if result.scores is not None:
        print()
        for line in result.scores.lines():
            print(line)
    print(f"\nreport: {result.report.resolve()}")
    return _serve(args, result.library)


def _serve(args: argparse.Namespace, library: Path) -> int:
    """``--serve``: the demo's library as a web page until Ctrl-C (else nothing)."""
    if not args.serve:
        return 0
    from chronolens.cli.serve import serve_library

    return serve_library(
        library,
        host=args.host,
        port=args.port,
        open_browser=args.open,
        out=sys.stderr if args.json else None,  # stdout holds exactly the one JSON object
    )
