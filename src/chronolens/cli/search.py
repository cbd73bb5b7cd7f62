"""``chronolens search "text"``: the videos and moments of a library that match a query."""

from __future__ import annotations

import argparse
import json

from chronolens.cli.index import add_library_argument
from chronolens.timebase import clock

HELP = "search a library by text: best videos and the moments inside them"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens search``."""
    parser.add_argument("query", help="what to look for, in plain language")
    add_library_argument(parser)
    parser.add_argument("--top-k", type=positive_int, default=10, help="videos returned (default 10)")
    parser.add_argument("--moments", type=positive_int, default=3, help="moments per video (default 3)")
    parser.add_argument(
        "--no-decompose",
        dest="decompose",
        action="store_false",
        help="ground 'A then B' / 'A while B' as one query instead of splitting it (as `ground` does)",
    )
    parser.add_argument(
        "--saliency", action="store_true", help="also return each hit's per-2 s-clip saliency of the query"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"query", "results": [{"video", "score", "duration", "moments": [[start, end, score]]'
        '(, "saliency": [...])}]}',
    )


def run(args: argparse.Namespace) -> int:
    """Search and print the results."""
    import chronolens
    from chronolens.library import default_library_path

    results = chronolens.search(
        args.library or default_library_path(),
        args.query,
        top_k=args.top_k,
        moments_per_video=args.moments,
        decompose=args.decompose,
        saliency=args.saliency,
    )
    if args.json:
        print(json.dumps({"query": args.query, "results": [r.to_json() for r in results]}))
        return 0
    if not results:
        print("no results (is the library empty? add videos with `chronolens index PATH`)")
        return 0
    print(f"{'#':>3}  {'score':>6}  {'duration':>8}  video / moments")
    for rank, result in enumerate(results, 1):
        print(f"{rank:>3}  {result.score:6.3f}  {clock(result.duration):>8}  {result.video}")
        for m in result.moments:
            print(f"{'':>23}  {clock(m.start)} - {clock(m.end)}  ({m.score:.3f})")
    return 0
