"""``chronolens remove PATH...``: take videos (files, or everything under folders) out of a library."""

from __future__ import annotations

import argparse
import json
import sys

from chronolens.cli.index import add_library_argument

HELP = "remove videos (files, or every video under a folder) and their embeddings from a library"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens remove``."""
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="video files and/or folders as given to `index` (they need not exist any more)",
    )
    add_library_argument(parser)
    parser.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
    parser.add_argument(
        "--json", action="store_true", help='print {"removed", "not_found", "n_frames", "dry_run"}'
    )


def run(args: argparse.Namespace) -> int:
    """Remove the videos and print what went (exit 1 when nothing matched)."""
    from chronolens.errors import LibraryError
    from chronolens.ingest.remove import remove
    from chronolens.library import Library, default_library_path

    with Library.open(args.library or default_library_path(), create=False) as library:
        report = remove(library, args.paths, dry_run=args.dry_run)
        root = library.root
    status = 1 if report.not_found and not report.removed else 0
    if args.json:
        print(json.dumps(report.to_json()))
        return status
    if not report.removed:
        names = ", ".join(report.not_found)
        raise LibraryError(f"not in library {root} (see `chronolens info --videos`): {names}")
    verb = "would remove" if report.dry_run else "removed"
    for path in report.removed:
        print(f"{verb} {path}")
    print(
        f"{verb} {len(report.removed)} video(s), {report.n_frames} frames, from {root}"
        + (" (dry run: nothing changed)" if report.dry_run else "")
    )
    for path in report.not_found:
        print(f"chronolens remove: warning: not in library {root}: {path}", file=sys.stderr)
    return status
