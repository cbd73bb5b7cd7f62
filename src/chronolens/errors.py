"""The error types chronolens raises on purpose.

Every error a user can cause (bad file, unknown model, malformed annotation) is a
``ChronolensError``; the CLI maps it to exit code 1 with a one-line message. Anything else
escaping is a bug and maps to exit code 3.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ChronolensError",
    "DecodeError",
    "EncoderMismatchError",
    "FormatError",
    "LibraryError",
    "MissingDependencyError",
    "ModelNotFoundError",
    "UsageError",
    "closest",
    "did_you_mean",
]

CLOSEST_CUTOFF = 0.5  # difflib similarity a suggestion needs: below it, no "did you mean"


class ChronolensError(Exception):
    """Base class of every error chronolens raises deliberately."""


class DecodeError(ChronolensError):
    """A video file could not be decoded (corrupt, truncated, no video stream, zero frames)."""

    def __init__(self, path: object, cause: str) -> None:
        self.path = str(path)
        self.cause = cause
        super().__init__(f"cannot decode {self.path}: {cause}")


class ModelNotFoundError(ChronolensError):
    """An encoder or model name does not resolve to anything loadable."""


class LibraryError(ChronolensError):
    """The on-disk library is missing, unreadable, or incompatible with the request."""


class EncoderMismatchError(LibraryError):
    """A library built with one encoder was opened with another."""


class FormatError(ChronolensError):
    """An annotation, prediction or config file does not have the expected structure.

    The message names the file, the record (line number or key) and the problem.
    """


class UsageError(ChronolensError):
    """The command line asks for something no run can do (the CLI exits 2, as argparse does)."""


class MissingDependencyError(ChronolensError):
    """An optional dependency is needed for this feature; the message says which extra installs it."""


def missing_dependency(module: str, extra: str, feature: str) -> MissingDependencyError:
    """Build the standard error for a missing optional dependency.

    Args:
        module: import name that failed, e.g. ``"faiss"``.
        extra: the chronolens extra that provides it, e.g. ``"faiss"``.
        feature: what the user asked for that needs it.
    """
    return MissingDependencyError(
        f"{feature} needs the optional dependency '{module}': pip install 'chronolens[{extra}]'"
    )


def closest(word: str, choices: Iterable[str], *, cutoff: float = CLOSEST_CUTOFF) -> str | None:
    """The choice most similar to ``word`` (difflib ratio >= ``cutoff``), or ``None``.

    The one "did you mean" helper: encoder names, recipe keys, finder, split and task names all
    suggest through it.
    """
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close."""
    hint = closest(word, choices)
    return f" (did you mean {hint!r}?)" if hint else ""
