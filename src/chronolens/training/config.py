"""Recipe configs: TOML files of ``[section]`` tables plus ``section.key=value`` overrides.

The one loader every training recipe reads its settings through. A recipe names its sections
(each one a frozen, keyword-only dataclass); :func:`read_tables` reads the file and applies the
overrides (each value read as a TOML value), :func:`section_values` checks every key and type
against the section's dataclass, suggesting the closest valid name on a typo
(:func:`chronolens.errors.did_you_mean`). Every problem is a :class:`~chronolens.errors.FormatError`
(a ``ChronolensError``: the CLI exits 1), whichever recipe it is.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
import types
import typing
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from chronolens.errors import FormatError, did_you_mean

__all__ = [
    "check_type",
    "invalid_values",
    "parse_override",
    "read_tables",
    "section_values",
]

DEFAULTS_SOURCE = "defaults"  # what error messages call a config with no file


def check_type(value: Any, hint: Any, where: str) -> Any:
    """``value`` converted to ``hint`` (int -> float, list -> tuple) or a FormatError naming ``where``.

    Args:
        value: a TOML value (from the file or an override).
        hint: the dataclass field's type (``int``, ``float``, ``bool``, ``str``, ``tuple[T, ...]``,
            ``X | None``, ``Any``).
        where: ``"<source>: section.key"`` for the message.

    Raises:
        FormatError: the value does not have the field's type, or the type is not a setting type.
    """
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return check_type(value, option, where)
            except FormatError as exc:
                errors.append(str(exc))
        raise FormatError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            raise FormatError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise FormatError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormatError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise FormatError(f"{where}: expected a string, got {value!r}")
        return value
    raise FormatError(f"{where}: unsupported setting type {hint!r}")


def section_values(
    cls: type,
    table: Mapping[str, Any],
    section: str,
    source: str,
    *,
    exclude: Collection[str] = (),
) -> dict[str, Any]:
    """The keyword arguments for ``cls`` that ``table`` (one ``[section]``) gives, type-checked.

    Args:
        cls: the section's dataclass.
        table: key -> TOML value.
        section: the section's name (for messages).
        source: the config file (for messages).
        exclude: fields of ``cls`` that are not settings of this section (nested configs that
            have a section of their own, run-time switches).

    Raises:
        FormatError: an unknown key (naming the closest valid one) or a value of the wrong type.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.name not in exclude]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in names:
            raise FormatError(
                f"{source}: unknown setting {section}.{key}{did_you_mean(key, names)}; "
                f"[{section}] takes: {', '.join(names)}"
            )
        values[key] = check_type(value, hints[key], f"{source}: {section}.{key}")
    return values


def parse_override(text: str, sections: Collection[str]) -> tuple[str, str, Any]:
    """``"section.key=value"`` -> ``(section, key, value)``; the value is read as a TOML value.

    ``train.steps=200`` gives an int, ``model.sliding=false`` a bool, ``data.tasks=["tvg","dvc"]``
    a list; a value that is not valid TOML (``data.root=/tmp/synth``) is taken as a string.

    Args:
        text: the override.
        sections: the recipe's section names.

    Raises:
        FormatError: no ``=``, or the key is not ``section.key`` with a known section.
    """
    if "=" not in text:
        raise FormatError(f"override {text!r}: expected section.key=value, e.g. train.steps=200")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key.count(".") != 1:
        raise FormatError(f"override {text!r}: the key must be section.key, e.g. train.steps")
    section, name = key.split(".")
    if section not in sections:
        raise FormatError(
            f"override {text!r}: unknown section {section!r}{did_you_mean(section, sections)}; "
            f"sections: {', '.join(sections)}"
        )
    try:
        value: Any = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, name, value


def read_tables(
    path: str | os.PathLike[str] | None,
    overrides: Sequence[str],
    sections: Collection[str],
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Read a config TOML file and apply ``section.key=value`` overrides, in order, after it.

    Args:
        path: the TOML file (``None``: defaults only).
        overrides: ``section.key=value`` strings (the last one of a key wins).
        sections: the recipe's section names; the file may hold only these tables.

    Returns:
        ``(source, tables)``: the name messages use for the config, and section -> key -> raw
        TOML value (only the sections the file or the overrides mention).

    Raises:
        FormatError: unreadable or malformed TOML, an unknown section (naming the closest), a
            top-level key that is not a table, or a malformed override.
    """
    source = str(path) if path is not None else DEFAULTS_SOURCE
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise FormatError(f"{source}: not a readable TOML recipe: {exc}") from exc
    tables: dict[str, dict[str, Any]] = {}
    for section, table in raw.items():
        if section not in sections:
            raise FormatError(
                f"{source}: unknown section [{section}]{did_you_mean(section, sections)}; "
                f"sections: {', '.join(sections)}"
            )
        if not isinstance(table, dict):
            raise FormatError(f"{source}: {section} must be a table ([{section}])")
        tables[section] = dict(table)
    for text in overrides:
        section, name, value = parse_override(text, sections)
        tables.setdefault(section, {})[name] = value
    return source, tables


@contextlib.contextmanager
def invalid_values(source: str) -> Iterator[None]:
    """Turn a config dataclass's ``ValueError``/``TypeError`` into a FormatError naming ``source``."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise FormatError(f"{source}: {exc}") from exc
