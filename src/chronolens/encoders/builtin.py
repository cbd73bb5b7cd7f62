"""Weights that ship inside chronolens: a table of records, kept apart from architecture code.

Each ``BuiltinModel`` names a transformers-format model directory under
``chronolens/encoders/weights/<name>/`` (config, safetensors weights, tokenizer, preprocessor
config, written by ``save_pretrained``). ``builtin:<name>`` resolves the directory here and loads
it through the same loader as ``hf:<dir>``.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from pathlib import Path

from chronolens.encoders.fingerprint import weight_files
from chronolens.errors import ModelNotFoundError

__all__ = [
    "BUILTIN_MODELS",
    "WEIGHTS_PACKAGE_DIR",
    "BuiltinModel",
    "builtin_directory",
    "get_builtin",
    "is_built",
]

WEIGHTS_PACKAGE_DIR = "weights"  # folder inside chronolens/encoders holding one directory per model
_CONFIG_FILE = "config.json"


@dataclass(frozen=True, kw_only=True)
class BuiltinModel:
    """One packaged model: where its files are and what it is."""

    name: str  # registry name after "builtin:"
    directory: str  # folder under chronolens/encoders/weights/ holding the save_pretrained files
    description: str  # one line for `chronolens models`
    licence: str  # SPDX id of the weights' licence
    card: str  # model card: training data, recipe, intended use, limits
    build_command: str  # how to (re)build the weights

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"name must be non-empty without ':', got {self.name!r}")
        if not self.directory or Path(self.directory).is_absolute():
            raise ValueError(f"directory must be a relative folder name, got {self.directory!r}")


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    model.name: model
    for model in (
        BuiltinModel(
            name="synth-clip",
            directory="synth-clip",
            description="tiny CLIP trained by chronolens on its synthetic benchmark; runs offline anywhere",
            licence="Apache-2.0",
            card=(
                "A small transformers CLIPModel (random init, trained from scratch with InfoNCE) on "
                "chronolens' procedurally rendered synthetic videos and their captions. It knows the "
                "synthetic world's shapes, colours and motions only: use it for offline demos, tests "
                "and end-to-end quality checks, not for real footage."
            ),
            build_command=(
                "chronolens synth /tmp/synth-train5 --videos 1400 --seed 1 --long-fraction 0 && "
                "chronolens train builtin-clip --data /tmp/synth-train5 --out /tmp/run-clip-big --seed 0 && "
                "cp /tmp/run-clip-big/model/* src/chronolens/encoders/weights/synth-clip/"
            ),
        ),
    )
}


def _weights_root() -> Path:
    """``chronolens/encoders/weights`` on disk (the package is installed as plain files)."""
    root = importlib.resources.files("chronolens.encoders").joinpath(WEIGHTS_PACKAGE_DIR)
    return Path(str(root))


def get_builtin(name: str) -> BuiltinModel:
    """The record for ``builtin:<name>``.

    Raises:
        ModelNotFoundError: unknown name; lists the builtin names and the closest one.
    """
    model = BUILTIN_MODELS.get(name)
    if model is not None:
        return model
    from chronolens.errors import closest

    valid = sorted(BUILTIN_MODELS)
    hint = closest(name, valid)
    did_you_mean = f"; did you mean 'builtin:{hint}'?" if hint else ""
    raise ModelNotFoundError(
        f"unknown builtin encoder '{name}'; builtin encoders: {', '.join(valid)}{did_you_mean} "
        f"(or load your own with hf:<hub id or local dir>)"
    )


def is_built(model: BuiltinModel) -> bool:
    """Whether the model's directory holds a config and weights."""
    directory = _weights_root() / model.directory
    return (directory / _CONFIG_FILE).is_file() and bool(weight_files(directory))


def builtin_directory(name: str) -> Path:
    """The packaged directory of ``builtin:<name>``, checked to hold weights.

    Raises:
        ModelNotFoundError: unknown name, or the weights have not been built yet.
    """
    model = get_builtin(name)
    if not is_built(model):
        raise ModelNotFoundError(f"builtin:{name} weights are not built yet; run `{model.build_command}`")
    return _weights_root() / model.directory
