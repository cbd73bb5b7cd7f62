"""``chronolens models``: the encoder names that can be loaded."""

from __future__ import annotations

import argparse
import json

HELP = "list encoder names (hf:<id or dir>, builtin:<name>, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens models``."""
    parser.add_argument("--json", action="store_true", help='print [{"name", "description", "available"}]')


def run(args: argparse.Namespace) -> int:
    """Print the encoder registry."""
    from chronolens.encoders import list_encoders

    entries = list_encoders()
    if args.json:
        print(
            json.dumps(
                [{"name": e.name, "description": e.description, "available": e.available} for e in entries]
            )
        )
        return 0
    width = max((len(e.name) for e in entries), default=4)
    for entry in entries:
        mark = "" if entry.available else "  (not available here)"
        print(f"{entry.name:<{width}}  {entry.description}{mark}")
    return 0
