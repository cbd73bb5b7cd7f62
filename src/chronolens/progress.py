"""Progress reporting: the one helper every long-running step uses, and its one rule.

The rule: a bar is drawn on stderr when the caller asked for progress (the CLI passes
``not args.quiet``) **and** stderr is a terminal; otherwise nothing is drawn (logs and piped
output stay clean). Anything that can take more than a few seconds takes ``progress: bool``
and hands it to :func:`progress_bar`. A bar never passes its total (updates are clamped), and
log lines go through :class:`BarSafeHandler`, which clears the bars, writes the line and redraws
them, so a message never lands glued onto a bar.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["BarSafeHandler", "progress_bar", "show_progress"]


def show_progress(requested: bool = True) -> bool:
    """Whether a bar is drawn: ``requested`` (not ``-q``) and stderr is a terminal."""
    return bool(requested) and sys.stderr.isatty()


@functools.cache
def _bar_class() -> type:
    """``tqdm.auto.tqdm`` whose ``update`` stops at the total (built once, on first use)."""
    from tqdm.auto import tqdm  # lazy: the CLI's --help must not pay for it

    class ClampedBar(tqdm):
        """A tqdm bar whose count never passes ``total``.

        Totals are often estimates in other units (seconds of video, rounded) while updates
        are exact; past the total tqdm warns ``clamping frac to range [0, 1]`` and shows a
        negative time left.
        """

        def update(self, n: float | None = 1) -> bool | None:
            if self.total is not None and n is not None and n > 0:
                n = min(n, max(self.total - self.n, 0))
            return super().update(n)

    return ClampedBar


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
        total: the bar's total (``len(iterable)`` when omitted and it has one); ``update`` never
            counts past it.
        desc: label shown before the bar.
        unit: what one step counts.
        enabled: the caller's request (``progress`` argument); the TTY check is added here.
        **options: further tqdm options (``initial``, ``bar_format``, ``postfix``, ...).

    Returns:
        A ``tqdm`` instance (usable as an iterator and as a context manager).
    """
    return _bar_class()(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        dynamic_ncols=True,
        disable=not show_progress(enabled),
        **options,
    )


class BarSafeHandler(logging.Handler):
    """A logging handler for stderr that never breaks a progress bar.

    Each record is written with ``tqdm.write`` (clear the bars, write the line, redraw them), the
    equivalent of ``tqdm.contrib.logging.logging_redirect_tqdm`` for the whole run. The stream is
    whatever ``sys.stderr`` is when the record is emitted; before tqdm is imported no bar can
    exist, so the line is written directly and tqdm's import is not paid for.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record on its own line of stderr."""
        try:
            message = self.format(record)
            tqdm_std = sys.modules.get("tqdm.std")
            if tqdm_std is None:
                sys.stderr.write(message + "\n")
            else:
                tqdm_std.tqdm.write(message, file=sys.stderr)
            sys.stderr.flush()
        except RecursionError:  # the stdlib handlers' rule: never swallow this one
            raise
        except Exception:
            self.handleError(record)
