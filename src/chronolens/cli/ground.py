"""``chronolens ground VIDEO "query"``: when does something happen in one video."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from chronolens.cli.search import add_snap_argument, positive_int, require_query
from chronolens.timebase import Moment, clock

HELP = "find when a query happens in one video (training-free grounding, composite queries too)"


def add_video_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``VIDEO``, ``--library`` and ``--model`` (shared with ``chronolens highlights``)."""
    parser.add_argument("video", help="video file (its stored embeddings are used when it is in the library)")
    parser.add_argument("--library", help="library dir (default: $CHRONOLENS_LIBRARY or ./.chronolens)")
    parser.add_argument("--model", help="encoder for a video not in the library (default builtin:synth-clip)")


def print_header(video: str, duration: float, query: str | None) -> None:
    """The first line of ``ground`` / ``highlights`` output: which video, how long, which query."""
    shown = query if query is not None else "(none: what stands out)"
    print(f"video: {video}  duration: {clock(duration)}  query: {shown}")


def print_windows(windows: Sequence[Moment]) -> None:
    """One line per window, best first: ``rank  h:mm:ss.s - h:mm:ss.s  (score)``."""
    for rank, m in enumerate(windows, 1):
        print(f"{rank:>3}  {clock(m.start)} - {clock(m.end)}  ({m.score:.3f})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens ground``."""
    add_video_source_arguments(parser)
    parser.add_argument("query", help="what to look for; 'A then B' / 'A while B' are split")
    parser.add_argument("--top-k", type=positive_int, default=5, help="windows printed (default 5)")
    parser.add_argument(
        "--no-decompose", dest="decompose", action="store_false", help="ground the whole query as one"
    )
    add_snap_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the GroundingResult as JSON")


def run(args: argparse.Namespace) -> int:
    """Ground the query and print the windows."""
    require_query(args.query)
    import chronolens
    from chronolens.tasks.ground.decompose import decompose

    result = chronolens.ground(
        args.video,
        args.query,
        library=args.library,
        model=args.model,
        top_k=args.top_k,
        decompose=args.decompose,
    )
    if args.snap == "shots":
        import dataclasses

        from chronolens.tasks.shots import shots_for, snap_to_shots

        shots = shots_for(args.video, library=args.library)
        result = dataclasses.replace(
            result, windows=tuple(snap_to_shots(result.windows, shots, duration=result.duration))
        )
    if args.json:
        print(json.dumps({"video": str(args.video), "query": args.query, **result.to_json()}))
        return 0
    print_header(str(args.video), result.duration, args.query)
    parts = decompose(args.query) if args.decompose else None
    if parts is not None and parts.relation != "single":
        print(f"{parts.relation}: " + " | ".join(parts.parts))
    print_windows(result.windows)
    return 0
