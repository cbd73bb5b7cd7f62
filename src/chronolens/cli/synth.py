"""``chronolens synth OUT``: render the synthetic benchmark (videos + ground truth in all formats)."""

from __future__ import annotations

import argparse
import json

from chronolens.data.split_names import ALL_SPLITS, SPLIT_CHOICES, SPLITS
from chronolens.errors import ChronolensError

HELP = "render the synthetic video benchmark (videos with exactly known events) to a directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens synth``."""
    parser.add_argument("out", help="output directory (created)")
    parser.add_argument("--videos", type=int, default=100, help="number of videos (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; same seed, same data (default 0)")
    parser.add_argument(
        "--min-duration", type=float, default=10.0, help="shortest video in seconds (default 10)"
    )
    parser.add_argument(
        "--max-duration", type=float, default=60.0, help="longest video in seconds (default 60)"
    )
    parser.add_argument(
        "--long-fraction",
        type=float,
        default=0.02,
        help="share of long (10-11 minute) videos (default 0.02; 0 disables)",
    )
    parser.add_argument(
        "--split",
        choices=SPLIT_CHOICES,
        default=ALL_SPLITS,
        help="render one split, or 'all' (70/10/10/10) (default all)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        nargs="+",
        default=None,
        help="frame rates to draw from (default 8 10 12.5 15 24)",
    )
    parser.add_argument(
        "--size", type=int, nargs=2, metavar=("W", "H"), default=(224, 224), help="frame size"
    )
    parser.add_argument("--workers", type=int, default=1, help="rendering processes (default 1)")
    parser.add_argument("--no-formats", action="store_true", help="write only videos and synth.json")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")


def run(args: argparse.Namespace) -> int:
    """Render the dataset and print a summary."""
    from chronolens.data.synth import SynthConfig, generate

    kwargs: dict[str, object] = {}
    if args.fps:
        kwargs["fps_choices"] = tuple(args.fps)
        kwargs["fps_weights"] = ()
    try:
        config = SynthConfig(
            videos=args.videos,
            seed=args.seed,
            split=args.split,
            width=args.size[0],
            height=args.size[1],
            min_duration=args.min_duration,
            max_duration=args.max_duration,
            long_fraction=args.long_fraction,
            formats=not args.no_formats,
            **kwargs,  # type: ignore[arg-type]
        )
    except ValueError as exc:  # a bad setting: a user error (exit 1), as for `chronolens train`
        raise ChronolensError(str(exc)) from exc
    ds = generate(args.out, config, workers=args.workers, progress=not args.quiet)
    counts = {name: len(ds.split(name)) for name in SPLITS}
    summary = {
        "root": ds.root,
        "videos": len(ds),
        "splits": counts,
        "events": sum(len(v.events) for v in ds.videos),
        "hours": round(sum(v.duration for v in ds.videos) / 3600, 3),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        splits = ", ".join(f"{k} {n}" for k, n in counts.items() if n)
        print(f"wrote {summary['videos']} videos ({splits}; {summary['events']} events) to {ds.root}")
    return 0
