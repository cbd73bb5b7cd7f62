"""The training recipes, one package each, and their registry.

Each recipe registers under its CLI name with a one-line help and the module that implements
it. That module defines three functions with one signature across recipes: ``default_config()``,
``load_config(path, overrides)`` (a TOML file plus ``section.key=value`` overrides, read through
``chronolens.training.config``) and ``run_recipe(config, out_dir, *, resume, progress, on_log,
data_dir, command)``::

    recipe = get_recipe("timechat")
    config = recipe.load_config("configs/timechat/tiny-cpu.toml", ["train.steps=200"])
    result = recipe.run(config, "runs/timechat", resume=False, progress=True)

The module is imported on first use, so listing recipes (``chronolens train --help``) loads no
torch.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from chronolens.errors import ChronolensError, did_you_mean

__all__ = ["Recipe", "get_recipe", "list_recipes", "register"]

ConfigPath = str | os.PathLike[str] | None
LogCallback = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A registered training recipe: its name, its help and the module that implements it."""

    name: str  # the CLI name: ``chronolens train NAME``
    help: str  # one line shown in --help
    module: str  # defines default_config(), load_config(path, overrides), run_recipe(...)
    needs_data: bool = False  # run() needs ``data_dir`` (the dataset is not part of the config)

    def _module(self) -> ModuleType:
        return importlib.import_module(self.module)

    def default_config(self) -> Any:
        """The recipe's config with every default."""
        return self._module().default_config()

    def load_config(self, path: ConfigPath, overrides: Sequence[str] = ()) -> Any:
        """The config read from ``path`` (``None``: defaults) with ``overrides`` applied in order.

        Raises:
            FormatError: unreadable file, unknown section or key, a value of the wrong type.
        """
        return self._module().load_config(path, overrides)

    def run(
        self,
        config: Any,
        out_dir: str | os.PathLike[str],
        *,
        resume: bool = False,
        progress: bool = True,
        on_log: LogCallback | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        command: str = "",
    ) -> Any:
        """Train with ``config`` into ``out_dir``; the result has ``model_dir``, ``train``, ``metrics``."""
        return self._module().run_recipe(
            config,
            out_dir,
            resume=resume,
            progress=progress,
            on_log=on_log,
            data_dir=data_dir,
            command=command,
        )


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


register(
    Recipe(
        name="builtin-clip",
        help="train the built-in image-text model (builtin:synth-clip) on a synthetic dataset",
        module="chronolens.training.recipes.synth_clip.recipe",
        needs_data=True,
    )
)
register(
    Recipe(
        name="timechat",
        help="instruction-tune TimeChat on TimeIT data and score grounding (--config FILE [KEY=VALUE ...])",
        module="chronolens.training.recipes.timechat.recipe",
    )
)
register(
    Recipe(
        name="moment-detr",
        help="train a Moment-DETR / QD-DETR grounding head on QVHighlights-format jsonl (--data DIR)",
        module="chronolens.training.recipes.moment_detr.recipe",
        needs_data=True,
    )
)
