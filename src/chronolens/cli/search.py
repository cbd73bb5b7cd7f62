"""``chronolens search "text"``: the videos and moments of a library that match a query."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING

from chronolens.cli.index import add_library_argument
from chronolens.errors import UsageError
from chronolens.timebase import clock

if TYPE_CHECKING:
    from chronolens.tasks.search import SearchResult

HELP = "search a library by text: best videos and the moments inside them"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def require_query(query: str, *, hint: str = "") -> str:
    """The query with surrounding whitespace removed; an empty one is a usage error (exit 2).

    An empty query matches everything equally, so its "results" would be noise ranked as if
    they meant something (shared with ``ground`` and ``highlights``).

    Args:
        query: the query as typed.
        hint: what to do instead, appended to the message.
    """
    text = query.strip()
    if not text:
        raise UsageError(f"the query is empty: say what to look for, e.g. 'a red circle'{hint}")
    return text


def add_query_arguments(parser: argparse.ArgumentParser, *, like: str) -> None:
    """The query, library and result-size options shared by ``search`` and ``export``.

    Args:
        parser: the subcommand's parser.
        like: the command whose query splitting this matches, named in ``--no-decompose``'s help.
    """
    parser.add_argument("query", help="what to look for, in plain language")
    add_library_argument(parser)
    parser.add_argument("--top-k", type=positive_int, default=10, help="videos returned (default 10)")
    parser.add_argument("--moments", type=positive_int, default=3, help="moments per video (default 3)")
    parser.add_argument(
        "--no-decompose",
        dest="decompose",
        action="store_false",
        help=f"ground 'A then B' / 'A while B' as one query instead of splitting it (as `{like}` does)",
    )


def add_snap_argument(parser: argparse.ArgumentParser) -> None:
    """``--snap shots`` (shared with ``ground``): moment edges moved onto shot boundaries."""
    parser.add_argument(
        "--snap",
        choices=("shots",),
        default=None,
        help="move each moment's edges onto the nearest shot boundary within 1 s (the library's stored "
        "shots, else cuts found in its frame embeddings; see `chronolens shots`)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens search``."""
    add_query_arguments(parser, like="ground")
    parser.add_argument(
        "--saliency", action="store_true", help="also return each hit's per-2 s-clip saliency of the query"
    )
    add_snap_argument(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"query", "results": [{"video", "score", "duration", "moments": [[start, end, score]]'
        '(, "saliency": [...])}]}',
    )


def run(args: argparse.Namespace) -> int:
    """Search and print the results."""
    require_query(args.query)
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
    if args.snap == "shots" and results:
        results = _snapped(args.library or default_library_path(), results)
    if args.json:
        print(json.dumps({"query": args.query, "results": [r.to_json() for r in results]}))
        return 0
    if not results:
        print("no results (is the library empty? add videos with `chronolens index PATH`)")
        return 0
    width = max(len("duration"), *(len(clock(r.duration)) for r in results))
    print(f"{'#':>3}  {'score':>6}  {'duration':>{width}}  video / moments")
    for rank, result in enumerate(results, 1):
        print(f"{rank:>3}  {result.score:6.3f}  {clock(result.duration):>{width}}  {result.video}")
        for m in result.moments:
            print(f"{'':>{13 + width}}  {clock(m.start)} - {clock(m.end)}  ({m.score:.3f})")
    return 0


def _snapped(library: str | os.PathLike[str], results: list[SearchResult]) -> list[SearchResult]:
    """``results`` with every moment's edges on the shot boundaries of its video (``--snap shots``)."""
    import dataclasses

    import chronolens
    from chronolens.tasks.shots import library_shots, snap_to_shots

    with chronolens.Library.open(library, create=False, read_only=True) as lib:
        return [
            dataclasses.replace(
                r, moments=snap_to_shots(r.moments, library_shots(lib, r.video), duration=r.duration)
            )
            for r in results
        ]
