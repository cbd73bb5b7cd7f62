"""``chronolens keyframes VIDEO --budget N --out DIR``: representative frames written as images."""

from __future__ import annotations

import argparse
import json

from chronolens.cli.search import positive_int
from chronolens.cli.shots import DETECTOR_NAMES
from chronolens.timebase import clock

HELP = "pick N representative frames of a video (one per shot, then by diversity) and write them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens keyframes``."""
    parser.add_argument("video", help="video file")
    parser.add_argument("--budget", type=positive_int, required=True, help="keyframes wanted")
    parser.add_argument(
        "--out",
        required=True,
        help="output directory (new, empty, or one this command wrote; replaced whole)",
    )
    parser.add_argument("--format", dest="fmt", choices=("jpg", "png"), default="jpg", help="image format")
    parser.add_argument(
        "--size", type=positive_int, help="shorter side of the images in pixels (default: native)"
    )
    parser.add_argument(
        "--detector",
        default="histogram",
        help=f"shot detector: {' | '.join(DETECTOR_NAMES)} (default histogram)",
    )
    parser.add_argument("--library", help="library dir (default: $CHRONOLENS_LIBRARY or ./.chronolens)")
    parser.add_argument("--model", help="encoder for a video not in the library (default builtin:synth-clip)")
    parser.add_argument(
        "--no-embeddings",
        dest="use_embeddings",
        action="store_false",
        help="no frame embeddings: each shot's middle frame, then the middles of the longest gaps",
    )
    parser.add_argument("--json", action="store_true", help="print the keyframes.json written")


def run(args: argparse.Namespace) -> int:
    """Choose, write and list the keyframes."""
    from chronolens.tasks.keyframes import write_keyframes
    from chronolens.tasks.shots import get_detector

    get_detector(args.detector)  # an unknown name fails before any decoding, with "did you mean"
    result = write_keyframes(
        args.video,
        args.out,
        args.budget,
        fmt=args.fmt,
        size=args.size,
        detector=args.detector,
        library=args.library,
        model=args.model,
        use_embeddings=args.use_embeddings,
        progress=not args.quiet,
    )
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    print(f"video: {args.video}  {len(result.keyframes)} keyframes -> {result.out}")
    for k in result.keyframes:
        print(f"  {clock(k.time)}  {k.time:9.3f}  shot {k.shot + 1:>3}  {k.reason:<9}  {k.file}")
    return 0
