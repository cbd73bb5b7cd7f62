"""The ``chronolens`` command: ``main(argv) -> int``, one module per subcommand.

Each subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen inside ``run`` so ``--help`` stays instant.
Errors map to exit codes in one place: 0 ok, 1 user error (one line, no traceback),
2 usage, 130 interrupted, 3 unexpected (a bug: traceback shown).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from chronolens.errors import ChronolensError, UsageError

__all__ = ["entry", "main"]

logger = logging.getLogger("chronolens")

# name -> module under chronolens.cli; order is the order shown in --help.
SUBCOMMANDS: dict[str, str] = {
    "demo": "demo",
    "index": "index",
    "search": "search",
    "ground": "ground",
    "highlights": "highlights",
    "caption": "caption",
    "ask": "ask",
    "info": "info",
    "models": "models",
    "eval": "evaluate",
    "synth": "synth",
    "train": "train",
    "bench": "bench",
}

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130


def _load(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"chronolens.cli.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"chronolens.cli.{module}":
            return None  # subcommand not built yet
        raise


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """Build the argument parser with every available subcommand."""
    from chronolens import __version__

    parser = argparse.ArgumentParser(prog="chronolens", description="Find when things happen in video.")
    parser.add_argument("--version", action="version", version=f"chronolens {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log what happens (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, ModuleType] = {}
    for name, module_name in SUBCOMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        modules[name] = module
    return parser, modules


def _configure_logging(verbose: int, quiet: bool) -> None:
    # Quiet by default: progress bars and the command's own output say what is happening;
    # -v shows what chronolens is doing, -vv everything.
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("chronolens")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    if verbose < 2:
        # Third-party chatter (transformers, PyAV) stays quiet unless debugging.
        logging.getLogger("libav").setLevel(logging.ERROR)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser, modules = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(modules[args.command].run(args))
    except UsageError as exc:
        print(f"chronolens {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ChronolensError as exc:
        print(f"chronolens: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("chronolens: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        logger.exception("unexpected error (this is a bug; please report it with the traceback)")
        return EXIT_UNEXPECTED


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
