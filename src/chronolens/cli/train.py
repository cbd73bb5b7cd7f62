"""``chronolens train RECIPE ...``: run a training recipe (one sub-subcommand per recipe).

Recipes register below as ``name -> (help, add_arguments, run)``: ``builtin-clip`` and
``timechat``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HELP", "RECIPES", "add_arguments", "run"]

HELP = "train a model with one of chronolens' recipes (builtin-clip, timechat)"


@dataclass(frozen=True)
class Recipe:
    """A registered training recipe's CLI surface."""

    help: str  # one line shown in --help
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _builtin_clip_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="directory written by 'chronolens synth'")
    parser.add_argument("--out", type=Path, default=Path("runs/builtin-clip"), help="run directory")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, default=None, help="pairs per step (default: the recipe's)")
    parser.add_argument(
        "--frames-per-video",
        type=int,
        default=None,
        help="frames drawn from each sampled video (default: the recipe's)",
    )
    parser.add_argument(
        "--hard-negative-prob",
        type=float,
        default=None,
        help="P(an event caption brings an attribute-swapped negative caption) (default: the recipe's)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="square model input in pixels, a multiple of the patch size (default: the model's, 96)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of init and batch sampling")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--max-videos", type=int, default=None, help="use only this many train videos")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _builtin_clip_run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from chronolens.errors import ChronolensError
    from chronolens.training.recipes.synth_clip.recipe import BuiltinClipConfig, run_builtin_clip

    if not args.data.is_dir():
        raise ChronolensError(f"--data {args.data} is not a directory (make one with 'chronolens synth')")
    config = BuiltinClipConfig(seed=args.seed, threads=args.threads, progress=not args.no_progress)
    overrides: dict[str, object] = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    if args.max_videos is not None:
        overrides["max_videos"] = args.max_videos
    if args.frames_per_video is not None:
        overrides["frames_per_video"] = args.frames_per_video
    if args.hard_negative_prob is not None:
        overrides["hard_negative_prob"] = args.hard_negative_prob
    try:
        if args.image_size is not None:
            overrides["model"] = replace(config.model, image_size=args.image_size)
        config = replace(config, **overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ChronolensError(str(exc)) from exc
    command = (
        "chronolens " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "chronolens train"
    )
    result = run_builtin_clip(args.data, args.out, config, resume=args.resume, command=command)
    summary = {
        "model_dir": str(result.model_dir),
        "steps": result.train.steps,
        "final_loss": result.train.final_loss,
        "train_wall_s": result.train.wall_s,
        "wall_s": result.wall_s,
        "metrics": result.metrics,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"model written to {result.model_dir}")
        for name, value in sorted(result.metrics.items()):
            print(f"  {name}: {value:.4f}")
        print(f"  training wall time: {result.train.wall_s / 60:.1f} min")
    return 0


def _timechat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="recipe TOML (see configs/timechat/)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="override recipe settings, e.g. train.steps=200 model.sliding=false data.root=DIR",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/timechat"), help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or loss lines")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _timechat_run(args: argparse.Namespace) -> int:
    from chronolens.training.recipes.timechat.recipe import run_timechat
    from chronolens.training.recipes.timechat.settings import load_recipe

    recipe = load_recipe(args.config, args.overrides)
    on_log = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        from chronolens.training.recipes.timechat.tasks import AUX_LOSSES

        def on_log(record: dict[str, object]) -> None:
            aux = "".join(  # auxiliary losses (unweighted) that the loss includes
                f" ({name} {float(record[key]):.4f})"  # type: ignore[arg-type]
                for key, name in AUX_LOSSES
                if key in record
            )
            tqdm.write(
                f"[{record['stage']}] step {record['step']} loss {float(record['loss']):.4f}{aux} "  # type: ignore[arg-type]
                f"{float(record['tokens_per_s']):.0f} tokens/s",  # type: ignore[arg-type]
                file=sys.stderr,
            )

    result = run_timechat(recipe, args.out, resume=args.resume, progress=not args.no_progress, on_log=on_log)
    summary = {
        "model_dir": str(result.model_dir),
        "steps": result.train.steps,
        "final_loss": result.train.final_loss,
        "n_train_samples": result.n_train_samples,
        "n_trainable": result.n_trainable,
        "tokens_per_s": result.tokens_per_s,
        "timings_s": result.timings,
        "metrics": result.metrics,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"model written to {result.model_dir}")
    for name, values in result.metrics.items():
        shown = ", ".join(f"{k} {float(v):.1f}" for k, v in values.items() if k.startswith(("R1", "mIoU")))
        print(f"  grounding {name}: {shown} (unparsed {values.get('parse_failures', 0)})")
    minutes = {k: v / 60 for k, v in result.timings.items()}
    print(f"  training wall time: {minutes['train']:.1f} min (whole run {minutes['total']:.1f} min)")
    return 0


RECIPES: dict[str, Recipe] = {
    "builtin-clip": Recipe(
        help="train the built-in image-text model (builtin:synth-clip) on a synthetic dataset",
        add_arguments=_builtin_clip_arguments,
        run=_builtin_clip_run,
    ),
    "timechat": Recipe(
        help="instruction-tune TimeChat on TimeIT data and score grounding (--config FILE [KEY=VALUE ...])",
        add_arguments=_timechat_arguments,
        run=_timechat_run,
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one sub-subcommand per recipe."""
    sub = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for name, recipe in RECIPES.items():
        recipe.add_arguments(sub.add_parser(name, help=recipe.help, description=recipe.help))


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen recipe."""
    return RECIPES[args.recipe].run(args)
