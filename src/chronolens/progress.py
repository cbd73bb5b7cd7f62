"""Progress reporting: the one helper every long-running step uses, and its one rule.

The rule: a bar is drawn on stderr when the caller asked for progress (the CLI passes
``not args.quiet``) **and** stderr is a terminal; otherwise nothing is drawn (logs and piped
output stay clean). Anything that can take more than a few seconds takes ``progress: bool``
and hands it to :func:`progress_bar`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["progress_bar", "show_progress"]


def show_progress(requested: bool = True) -> bool:
    """Whether a bar is drawn: ``requested`` (not ``-q``) and stderr is a terminal."""
    return bool(requested) and sys.stderr.isatty()


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: float | None = None,
    desc: str,
    unit: str = "it",
    enabled: bool = True,
    **options: Any,
) -> Any:
    """A tqdm bar on stderr that follows :func:`show_progress` (a disabled bar costs nothing).

    Args:
        iterable: what to iterate (optional; use ``update`` otherwise).
        total: the bar's total (``len(iterable)`` when omitted and it has one).
        desc: label shown before the bar.
        unit: what one step counts.
        enabled: the caller's request (``progress`` argument); the TTY check is added here.
        **options: further tqdm options (``initial``, ``bar_format``, ``postfix``, ...).

    Returns:
        A ``tqdm`` instance (usable as an iterator and as a context manager).
    """
    from tqdm.auto import tqdm  # lazy: the CLI's --help must not pay for it

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        disable=not show_progress(enabled),
        **options,
    )
