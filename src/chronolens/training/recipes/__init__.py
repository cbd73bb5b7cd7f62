"""The training recipes, one package each, and their registry.

Each recipe registers under its CLI name with a one-line help, its default config, a config
loader (a TOML file plus ``section.key=value`` overrides, read through
``chronolens.training.config``) and a run function with one signature::

    recipe = get_recipe("timechat")
    config = recipe.load_config("configs/timechat/tiny-cpu.toml", ["train.steps=200"])
    result = recipe.run(config, "runs/timechat", resume=False, progress=True)

The entries import their recipe lazily, so listing recipes (``chronolens train --help``) loads
no torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chronolens.errors import ChronolensError, did_you_mean

__all__ = ["Recipe", "get_recipe", "list_recipes", "register"]

ConfigPath = str | os.PathLike[str] | None
LogCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A registered training recipe."""

    name: str  # the CLI name: ``chronolens train NAME``
    help: str  # one line shown in --help
    default_config: Callable[[], Any]  # the recipe's config with every default
    load_config: Callable[[ConfigPath, Sequence[str]], Any]  # (TOML file or None, overrides) -> config
    # run(config, out_dir, *, resume, progress, on_log, data_dir, command) -> the recipe's result
    # (``model_dir``, ``train``, ``metrics`` and recipe-specific fields)
    run: Callable[..., Any]
    needs_data: bool = False  # run() needs ``data_dir`` (the dataset is not part of the config)


_REGISTRY: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to the registry (a name registers once)."""
    if recipe.name in _REGISTRY:
        raise ValueError(f"recipe {recipe.name!r} is already registered")
    _REGISTRY[recipe.name] = recipe
    return recipe


def list_recipes() -> list[Recipe]:
    """The registered recipes, in registration order (the order ``--help`` shows)."""
    return list(_REGISTRY.values())


def get_recipe(name: str) -> Recipe:
    """The recipe registered as ``name``.

    Raises:
        ChronolensError: no such recipe (the message names the closest and lists them all).
    """
    found = _REGISTRY.get(name)
    if found is None:
        raise ChronolensError(
            f"unknown recipe {name!r}{did_you_mean(name, _REGISTRY)}; recipes: {', '.join(_REGISTRY)}"
        )
    return found


# ---------------------------------------------------------------------------------------------
# builtin-clip: chronolens.training.recipes.synth_clip
# ---------------------------------------------------------------------------------------------


def _synth_clip_defaults() -> Any:
    from chronolens.training.recipes.synth_clip.recipe import BuiltinClipConfig

    return BuiltinClipConfig()


def _synth_clip_load(path: ConfigPath, overrides: Sequence[str] = ()) -> Any:
    from chronolens.training.recipes.synth_clip.recipe import load_config

    return load_config(path, overrides)


def _synth_clip_run(
    config: Any,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: LogCallback | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str = "",
) -> Any:
    from dataclasses import replace

    from chronolens.training.recipes.synth_clip.recipe import run_builtin_clip

    del on_log  # the loop's own log lines are the recipe's only ones
    if data_dir is None:
        raise ChronolensError("the builtin-clip recipe needs a dataset directory (--data)")
    config = replace(config, progress=config.progress and progress)
    return run_builtin_clip(data_dir, out_dir, config, resume=resume, command=command)


register(
    Recipe(
        name="builtin-clip",
        help="train the built-in image-text model (builtin:synth-clip) on a synthetic dataset",
        default_config=_synth_clip_defaults,
        load_config=_synth_clip_load,
        run=_synth_clip_run,
        needs_data=True,
    )
)


# ---------------------------------------------------------------------------------------------
# timechat: chronolens.training.recipes.timechat
# ---------------------------------------------------------------------------------------------


def _timechat_defaults() -> Any:
    from chronolens.training.recipes.timechat.settings import TimeChatRecipe

    return TimeChatRecipe()


def _timechat_load(path: ConfigPath, overrides: Sequence[str] = ()) -> Any:
    from chronolens.training.recipes.timechat.settings import load_recipe

    return load_recipe(path, overrides)


def _timechat_run(
    config: Any,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: LogCallback | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str = "",
) -> Any:
    from chronolens.training.recipes.timechat.recipe import run_timechat

    del command  # the run records its resolved recipe (recipe.json) instead
    if data_dir is not None:
        raise ChronolensError("the timechat recipe reads its data from the config (data.root=DIR)")
    return run_timechat(config, out_dir, resume=resume, progress=progress, on_log=on_log)


register(
    Recipe(
        name="timechat",
        help="instruction-tune TimeChat on TimeIT data and score grounding (--config FILE [KEY=VALUE ...])",
        default_config=_timechat_defaults,
        load_config=_timechat_load,
        run=_timechat_run,
    )
)
