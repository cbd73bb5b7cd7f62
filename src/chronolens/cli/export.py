"""``chronolens export "text"``: search a library and write the results as CSV, JSON, an EDL, or clips."""

from __future__ import annotations

import argparse
import sys

from chronolens.cli.search import add_query_arguments, require_query

HELP = "search a library and write the results as csv, json or a CMX 3600 edl (and the moments as mp4 clips)"

_FORMATS = ("csv", "json", "edl")  # chronolens.tasks.export.FORMATS, kept here so --help stays instant


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens export``."""
    add_query_arguments(parser, like="search")
    parser.add_argument(
        "--format",
        choices=_FORMATS,
        default=None,
        help="csv: rank,video,video_score,moment,start,end,moment_score, one row per moment, seconds "
        "(default); json: what `search --json` prints; edl: a CMX 3600 edit decision list, one cut per "
        "moment at the video's frame rate",
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument(
        "--output", metavar="FILE", default="-", help="file to write (atomically); '-' or absent: stdout"
    )
    parser.add_argument(
        "--clips",
        metavar="DIR",
        default=None,
        help="also write each moment as an mp4 (H.264; MPEG-4 where PyAV lacks libx264; no audio) "
        "into DIR, named NN-<video>-<start>-<end>.mp4 (NN: the moment's EDL event number)",
    )


def run(args: argparse.Namespace) -> int:
    """Search, then write the results (and clips)."""
    from chronolens.errors import UsageError

    query = require_query(args.query)
    if args.json and args.format not in (None, "json"):
        raise UsageError(f"--json is --format json; it cannot be combined with --format {args.format}")
    fmt = "json" if args.json else (args.format or "csv")
    import chronolens
    from chronolens.atomic import write_text_atomic
    from chronolens.errors import ChronolensError
    from chronolens.library import Library, default_library_path
    from chronolens.tasks.export import export_clips, frame_rates, render

    with Library.open(args.library or default_library_path(), create=False) as library:
        results = chronolens.search(
            library, query, top_k=args.top_k, moments_per_video=args.moments, decompose=args.decompose
        )
        rates = frame_rates(library) if fmt == "edl" else {}
    text = render(fmt, query, results, rates)
    n_moments = sum(len(r.moments) for r in results)

    def say(line: str) -> None:  # status lines on stderr; -q leaves only errors
        if not args.quiet:
            print(line, file=sys.stderr)

    if not results:
        say("no results (is the library empty? add videos with `chronolens index PATH`)")
    if args.output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            written = write_text_atomic(args.output, text)
        except OSError as exc:
            raise ChronolensError(f"cannot write {args.output}: {exc.strerror or exc}") from exc
        say(f"wrote {len(results)} video(s), {n_moments} moment(s) as {fmt} to {written}")
    if args.clips is not None:
        try:
            clips = export_clips(results, args.clips, progress=not args.quiet)
        except OSError as exc:
            raise ChronolensError(f"cannot write clips into {args.clips}: {exc.strerror or exc}") from exc
        say(f"wrote {len(clips)} clip(s) to {args.clips}")
    return 0
