"""``chronolens classify VIDEO|DIR --labels "a,b,c"``: zero-shot labels with prompt ensembles.

A shell over :func:`chronolens.tasks.classify.classify`: each label is written into several
CLIP-style templates whose text embeddings are averaged; the video (and each window or shot)
is the mean of its frame embeddings. Videos in the library use their stored embeddings.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from chronolens.cli.search import positive_int
from chronolens.timebase import Span, clock

HELP = "zero-shot labels for videos, windows or shots (CLIP-style prompt ensembles, top-k with scores)"

PER_CHOICES = (
    "video",
    "window",
    "shot",
)  # chronolens.tasks.classify.PER_CHOICES (literal: --help stays light)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens classify``."""
    parser.add_argument("paths", nargs="+", metavar="VIDEO|DIR", help="video files or folders of videos")
    labels = parser.add_mutually_exclusive_group(required=True)
    labels.add_argument("--labels", help="comma-separated labels, e.g. 'a dog runs,a car drives'")
    labels.add_argument("--labels-file", type=Path, help="text file with one label per line")
    parser.add_argument("--library", help="library dir (default: $CHRONOLENS_LIBRARY or ./.chronolens)")
    parser.add_argument(
        "--model",
        help="encoder for videos outside the library (e.g. hf:... ; default builtin:synth-clip)",
    )
    parser.add_argument(
        "--per",
        choices=PER_CHOICES,
        default="video",
        help="also label each window or shot (default: video only)",
    )
    parser.add_argument("--window", type=_positive_float, default=4.0, help="seconds per window (default 4)")
    parser.add_argument("--top-k", type=positive_int, default=5, help="labels shown per segment (default 5)")
    parser.add_argument(
        "--template",
        action="append",
        dest="templates",
        help="prompt template holding {} (repeatable; default: the built-in ensemble)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Classify every video and print its top labels."""
    from chronolens.errors import ChronolensError
    from chronolens.ingest.discover import discover
    from chronolens.progress import progress_bar
    from chronolens.tasks.classify import DEFAULT_TEMPLATES, classify, parse_labels, read_labels_file

    labels = read_labels_file(args.labels_file) if args.labels_file is not None else parse_labels(args.labels)
    missing = [p for p in args.paths if not Path(p).expanduser().exists()]
    if missing:
        raise ChronolensError(f"no such file or directory: {missing[0]}")
    files, _ = discover(args.paths)
    if not files:
        raise ChronolensError(f"no video files in {', '.join(args.paths)}")
    shots = None
    if args.per == "shot":
        from chronolens.tasks.shots import shots_for

        def shots(video: str) -> Sequence[Span]:
            return shots_for(video, library=args.library).shots

    bar = progress_bar(
        total=len(files), desc="classify", unit="video", enabled=not args.quiet and len(files) > 1
    )
    try:
        results = classify(
            files,
            labels,
            library=args.library,
            model=args.model,
            per=args.per,
            window=args.window,
            shots=shots,
            top_k=args.top_k,
            templates=tuple(args.templates) if args.templates else DEFAULT_TEMPLATES,
            on_video=lambda _: bar.update(1),
        )
    finally:
        bar.close()
    if args.json:
        print(json.dumps({"labels": labels, "videos": [r.to_json() for r in results]}))
        return 0
    for result in results:
        print(f"video: {result.video}  duration: {clock(result.duration)}  model: {result.model}")
        for rank, top in enumerate(result.video_top, 1):
            print(f"{rank:>3}  {top.label}  ({top.score:.3f}, p={top.prob:.2f})")
        for seg in result.segments:
            shown = ", ".join(f"{t.label} ({t.score:.3f})" for t in seg.top)
            print(f"     {clock(seg.span.start)} - {clock(seg.span.end)}  {shown}")
    return 0
