"""``chronolens highlights VIDEO ["query"]``: per-2 s-clip saliency and the top highlight spans."""

from __future__ import annotations

import argparse
import json

from chronolens.cli.ground import add_video_source_arguments, print_header, print_windows
from chronolens.cli.search import positive_int, require_query

HELP = "highlights of one video: per-clip saliency, query-based or query-free, and the top spans"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens highlights``."""
    add_video_source_arguments(parser)
    parser.add_argument("query", nargs="?", help="what to look for (omit: what stands out)")
    parser.add_argument("--top-k", type=positive_int, default=5, help="spans printed (default 5)")
    parser.add_argument("--json", action="store_true", help="print windows and pred_saliency_scores as JSON")


def run(args: argparse.Namespace) -> int:
    """Compute and print the highlights."""
    if args.query is not None:  # omitted: query-free; given, it must say something
        require_query(args.query, hint=" (or omit it for what stands out)")
    import chronolens

    result = chronolens.highlights(
        args.video,
        args.query,
        library=args.library,
        model=args.model,
        config=chronolens.HighlightConfig(top_k=args.top_k),
    )
    if args.json:
        print(json.dumps({"video": str(args.video), "query": args.query, **result.to_json()}))
        return 0
    print_header(str(args.video), result.duration, args.query)
    print_windows(result.windows)
    return 0
