"""``chronolens shots VIDEO``: the shots of one video, as spans in seconds (PTS-exact)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from chronolens.timebase import clock

HELP = "split one video into shots (histogram, embedding or TransNetV2 cut detection)"

DETECTOR_NAMES = ("histogram", "embedding", "transnetv2")  # for --help; the registry validates


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens shots``."""
    parser.add_argument("video", help="video file")
    parser.add_argument(
        "--detector",
        default="histogram",
        help=f"{' | '.join(DETECTOR_NAMES)} (default histogram; transnetv2 needs "
        "pip install 'chronolens[shots]'; embedding reads the library's frame embeddings)",
    )
    parser.add_argument("--library", help="library dir (default: $CHRONOLENS_LIBRARY or ./.chronolens)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="cut threshold (histogram: colour distance 0-1, default 0.2; embedding: 1 - cosine, "
        "default 0.5; transnetv2: probability, default 0.5)",
    )
    parser.add_argument(
        "--recompute", action="store_true", help="run the detector even when the library has stored shots"
    )
    parser.add_argument("--json", action="store_true", help='print {"video", "shots": [[start, end]], ...}')


def detector_config(name: str, threshold: float | None) -> Any:
    """The detector's default config with ``threshold`` applied (``None``: no override)."""
    if threshold is None:
        return None
    from chronolens.tasks.shots import EmbeddingConfig, HistogramConfig, TransNetV2Config

    if name == "transnetv2":
        return TransNetV2Config(threshold=threshold)
    config = HistogramConfig() if name == "histogram" else EmbeddingConfig()
    return dataclasses.replace(config, rule=dataclasses.replace(config.rule, threshold=threshold))


def run(args: argparse.Namespace) -> int:
    """Detect and print the shots."""
    from chronolens.tasks.shots import detect_shots, get_detector

    get_detector(args.detector)  # an unknown name fails before any decoding, with "did you mean"
    result = detect_shots(
        args.video,
        args.detector,
        library=args.library,
        config=detector_config(args.detector, args.threshold),
        stored=not args.recompute,
        progress=not args.quiet,
    )
    if args.json:
        print(json.dumps(result.to_json()))
        return 0
    origin = "stored in the library" if result.stored else f"{result.n_frames} frames"
    print(
        f"video: {args.video}  duration: {clock(result.duration)}  detector: {result.detector} "
        f"({len(result.shots)} shots, {origin})"
    )
    print(f"{'#':>4}  {'start':>10}  {'end':>10}  {'start s':>9}  {'cut score':>9}")
    scores = (None, *result.cut_scores)
    for i, (shot, score) in enumerate(zip(result.shots, scores, strict=True), 1):
        shown = "" if score is None else f"{score:9.3f}"
        print(f"{i:>4}  {clock(shot.start):>10}  {clock(shot.end):>10}  {shot.start:9.3f}  {shown:>9}")
    return 0
