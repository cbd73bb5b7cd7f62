"""``chronolens highlights VIDEO ["query"]``: per-2 s-clip saliency and the top highlight spans."""

from __future__ import annotations

import argparse
import json

from chronolens.cli.ground import add_video_source_arguments
from chronolens.cli.search import positive_int

HELP = "highlights of one video: per-clip saliency, query-based or query-free, and the top spans"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens highlights``."""
    add_video_source_arguments(parser)
    parser.add_argument("query", nargs="?", help="what to look for (omit: what stands out)")
    parser.add_argument("--top-k", type=positive_int, default=5, help="spans printed (default 5)")
    parser.add_argument("--json", action="store_true", help="print windows and pred_saliency_scores as JSON")


def run(args: argparse.Namespace) -> int:
    """Compute and print the highlights."""
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
    for rank, m in enumerate(result.windows, 1):
        print(f"{rank:>3}  {m.start:8.1f} - {m.end:8.1f} s  ({m.score:.3f})")
    return 0
