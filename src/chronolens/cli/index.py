"""``chronolens index PATH...``: add videos (files or folders, recursed) to a library."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "index video files and folders into a library (incremental: unchanged files are skipped)"


def positive_float(text: str) -> float:
    """argparse type: a float > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_library_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--library DIR`` option shared by the library subcommands."""
    parser.add_argument(
        "--library",
        metavar="DIR",
        default=None,
        help="library directory (default: $CHRONOLENS_LIBRARY, else ./.chronolens)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens index``."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="video files and/or folders")
    add_library_argument(parser)
    parser.add_argument(
        "--model",
        default=None,
        help="encoder name, see `chronolens models` (new library: default builtin:synth-clip; "
        "existing library: its own encoder)",
    )
    parser.add_argument(
        "--fps", type=positive_float, default=None, help="frames sampled per second (new library: default 1)"
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="re-index an existing library with a new --model / --fps (or new weights): built beside it "
        "from the videos it holds (plus any PATH), swapped in when complete; the old one stays searchable",
    )
    parser.add_argument("--json", action="store_true", help="print the ingest report as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Index the paths and print a summary."""
    import chronolens
    from chronolens.encoders import DEFAULT_ENCODER
    from chronolens.errors import UsageError
    from chronolens.ingest import rebuild
    from chronolens.library import default_library_path

    root = Path(args.library or default_library_path())
    exists = chronolens.Library.exists(root)
    if not args.paths and not (args.rebuild and exists):
        raise UsageError("name at least one video file or folder to index (PATH ...)")
    model = args.model if args.model is not None or exists else DEFAULT_ENCODER
    sampling = chronolens.FixedFps(fps=args.fps) if args.fps is not None else None
    if args.rebuild and exists:
        report = rebuild(root, model=model, sampling=sampling, paths=args.paths, progress=not args.quiet)
    else:
        with chronolens.Library.open(root, model=model, sampling=sampling) as library:
            report = chronolens.index(library, args.paths, progress=not args.quiet)
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    extra = "".join(
        f", {name} {len(entries)}"
        for name, entries in (("partial", report.partial), ("skipped", report.skipped))
        if entries
    )  # shown only when non-zero, so the usual summary line stays as it was
    print(
        f"indexed {len(report.indexed)}, unchanged {len(report.unchanged)}, failed {len(report.failed)}, "
        f"missing {len(report.missing)}{extra} ({report.n_frames} frames, {report.seconds:.1f} s) "
        f"-> {root.absolute()}"
    )
    for path, error in report.failed.items():
        print(f"  failed: {path}: {error}", file=sys.stderr)
    for path, warning in report.partial.items():
        print(f"  partial: {path}: {warning}", file=sys.stderr)
    for path, reason in report.skipped.items():
        print(f"  skipped: {path}: {reason}", file=sys.stderr)
    return 0
