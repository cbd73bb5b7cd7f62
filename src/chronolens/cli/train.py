"""``chronolens train RECIPE ...``: run a training recipe (one sub-subcommand per recipe).

The recipes, their configs and their run functions live in the registry
(``chronolens.training.recipes``: ``list_recipes``, ``get_recipe``); this module only adds each
one's command-line surface and prints its result. Every recipe takes ``--config FILE`` and
``section.key=value`` overrides, validated by the one recipe config loader (a bad config is a
user error: exit 1).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["HELP", "add_arguments", "run"]

HELP = "train a model with one of chronolens' recipes (builtin-clip, timechat, moment-detr)"

OVERRIDES_METAVAR = "KEY=VALUE"


def _builtin_clip_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="directory written by 'chronolens synth'")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="recipe TOML with [model] and [train] (default: the recipe's settings)",
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar=OVERRIDES_METAVAR,
        help="override recipe settings (after --config and the flags), e.g. train.lr=1e-4 model.patch_size=4",
    )
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
    # seed and threads default to the recipe's (0 and 2, what these flags defaulted to before)
    parser.add_argument("--seed", type=int, default=None, help="seed of init and batch sampling")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--max-videos", type=int, default=None, help="use only this many train videos")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


# builtin-clip flag -> the config key it sets (a flag is a shortcut for an override)
_BUILTIN_CLIP_FLAGS = {
    "steps": "train.steps",
    "batch_size": "train.batch_size",
    "max_videos": "train.max_videos",
    "frames_per_video": "train.frames_per_video",
    "hard_negative_prob": "train.hard_negative_prob",
    "image_size": "model.image_size",
    "seed": "train.seed",
    "threads": "train.threads",
}


def _builtin_clip_overrides(args: argparse.Namespace) -> list[str]:
    from chronolens.errors import ChronolensError

    if not args.data.is_dir():
        raise ChronolensError(f"--data {args.data} is not a directory (make one with 'chronolens synth')")
    given = {key: getattr(args, dest) for dest, key in _BUILTIN_CLIP_FLAGS.items()}
    return [f"{key}={value!r}" for key, value in given.items() if value is not None]


def _builtin_clip_report(result: Any, as_json: bool) -> None:
    summary = {
        "model_dir": str(result.model_dir),
        "steps": result.train.steps,
        "final_loss": result.train.final_loss,
        "train_wall_s": result.train.wall_s,
        "wall_s": result.wall_s,
        "metrics": result.metrics,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(f"model written to {result.model_dir}")
    for name, value in sorted(result.metrics.items()):
        print(f"  {name}: {value:.4f}")
    print(f"  training wall time: {result.train.wall_s / 60:.1f} min")


def _timechat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="recipe TOML (see configs/timechat/)")
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar=OVERRIDES_METAVAR,
        help="override recipe settings, e.g. train.steps=200 model.sliding=false data.root=DIR",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/timechat"), help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or loss lines")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _timechat_report(result: Any, as_json: bool) -> None:
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
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    print(f"model written to {result.model_dir}")
    for name, values in result.metrics.items():
        shown = ", ".join(f"{k} {float(v):.1f}" for k, v in values.items() if k.startswith(("R1", "mIoU")))
        print(f"  grounding {name}: {shown} (unparsed {values.get('parse_failures', 0)})")
    minutes = {k: v / 60 for k, v in result.timings.items()}
    print(f"  training wall time: {minutes['train']:.1f} min (whole run {minutes['total']:.1f} min)")


def _moment_detr_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, type=Path, help="dataset with annotations/qvhighlights_<split>.jsonl"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="recipe TOML (see configs/moment_detr/; default: tiny)"
    )
    parser.add_argument(
        "overrides", nargs="*", metavar=OVERRIDES_METAVAR, help="override recipe settings, e.g. train.lr=1e-4"
    )
    parser.add_argument(
        "--arch", choices=("moment-detr", "qd-detr"), default=None, help="the head (train.arch)"
    )
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the recipe's)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="windows per step (default: the recipe's)"
    )
    parser.add_argument("--seed", type=int, default=None, help="training seed (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=Path("runs/moment-detr"), help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _moment_detr_overrides(args: argparse.Namespace) -> list[str]:
    flags = {
        "arch": "train.arch",
        "steps": "train.steps",
        "batch_size": "train.batch_size",
        "seed": "train.seed",
    }
    return [f"{key}={getattr(args, flag)}" for flag, key in flags.items() if getattr(args, flag) is not None]


def _moment_detr_report(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"model_dir": str(result.model_dir), "metrics": result.metrics}, indent=2))
        return
    print(f"model written to {result.model_dir}")
    if result.metrics:
        keys = (
            "MR-full-R1@0.5",
            "MR-full-R1@0.7",
            "MR-full-mAP",
            "HL-min-VeryGood-mAP",
            "HL-min-VeryGood-Hit1",
        )
        shown = ", ".join(f"{k} {float(result.metrics[k]):.1f}" for k in keys if k in result.metrics)
        print(f"  val: {shown}")


def _generic_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """The surface of a recipe with no flags of its own."""
    parser.add_argument("--config", type=Path, default=None, help="recipe TOML (default: the recipe's)")
    parser.add_argument("overrides", nargs="*", metavar=OVERRIDES_METAVAR, help="override recipe settings")
    parser.add_argument("--out", type=Path, default=Path("runs") / name, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or loss lines")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _generic_report(result: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"model_dir": str(result.model_dir), "metrics": result.metrics}, indent=2))
    else:
        print(f"model written to {result.model_dir}")


# The command-line surface of each recipe: (add_arguments, flags -> overrides, print the result).
_Surface = tuple[
    Callable[[argparse.ArgumentParser], None],
    Callable[[argparse.Namespace], list[str]],
    Callable[[Any, bool], None],
]
_SURFACES: dict[str, _Surface] = {
    "builtin-clip": (_builtin_clip_arguments, _builtin_clip_overrides, _builtin_clip_report),
    "timechat": (_timechat_arguments, lambda args: [], _timechat_report),
    "moment-detr": (_moment_detr_arguments, _moment_detr_overrides, _moment_detr_report),
}


def _print_log(record: dict[str, Any]) -> None:
    """One loss line per logged training record, above the progress bar."""
    from tqdm.auto import tqdm

    aux = "".join(f" ({name} {float(value):.4f})" for name, value in record.get("aux_losses", {}).items())
    tqdm.write(
        f"[{record['stage']}] step {record['step']} loss {float(record['loss']):.4f}{aux} "
        f"{float(record['tokens_per_s']):.0f} tokens/s",
        file=sys.stderr,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add one sub-subcommand per registered recipe."""
    from chronolens.training.recipes import list_recipes

    sub = parser.add_subparsers(dest="recipe", metavar="RECIPE", required=True)
    for recipe in list_recipes():
        recipe_parser = sub.add_parser(recipe.name, help=recipe.help, description=recipe.help)
        surface = _SURFACES.get(recipe.name)
        if surface is None:
            _generic_arguments(recipe_parser, recipe.name)
        else:
            surface[0](recipe_parser)


def run(args: argparse.Namespace) -> int:
    """Load the chosen recipe's config (file, flags, overrides), run it and print the result."""
    from chronolens.training.recipes import get_recipe

    recipe = get_recipe(args.recipe)
    _, flag_overrides, report = _SURFACES.get(recipe.name, (None, lambda a: [], _generic_report))
    config = recipe.load_config(args.config, [*flag_overrides(args), *args.overrides])
    command = (
        "chronolens " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "chronolens train"
    )
    # bars and loss lines unless --no-progress or the global -q (bars only on a terminal)
    progress = not (args.no_progress or getattr(args, "quiet", False))
    result = recipe.run(
        config,
        args.out,
        resume=args.resume,
        progress=progress,
        on_log=_print_log if progress else None,
        data_dir=getattr(args, "data", None) if recipe.needs_data else None,
        command=command,
    )
    report(result, args.json)
    return 0
