"""The ``chronolens`` command: ``main(argv) -> int``, one module per subcommand.

Each subcommand module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int``; heavy imports happen inside ``run`` so ``--help`` stays instant.
Errors map to exit codes in one place: 0 ok, 1 user error (one line, no traceback),
2 usage, 130 interrupted, 3 unexpected (a bug: traceback shown).

One output convention for every subcommand: results on stdout (a table, or with ``--json``
exactly one JSON object), everything else on stderr; bars only on a terminal and never with
``-q``; log lines never break a bar; third-party bars and warnings only with ``-v``; times in
human output as ``h:mm:ss.s`` (:func:`chronolens.timebase.clock`). A usage error, wherever it is
found, prints the usage of the (sub)command it belongs to.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

from chronolens.errors import ChronolensError, UsageError, did_you_mean
from chronolens.progress import BarSafeHandler

__all__ = ["THIRD_PARTY_ENV", "entry", "load_subcommand", "main"]

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
    "transcribe": "transcribe",
    "shots": "shots",
    "keyframes": "keyframes",
    "classify": "classify",
    "serve": "serve",
    "info": "info",
    "remove": "remove",
    "export": "export",
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

# Read by huggingface_hub / transformers when they are imported (after logging is configured):
# without -v their download/loading/"Writing model shards" bars and advisory warnings stay off.
THIRD_PARTY_ENV: dict[str, str] = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def load_subcommand(module: str) -> ModuleType | None:
    """``chronolens.cli.<module>``, or None when that module does not exist (not built yet)."""
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
        module = load_subcommand(module_name)
        if module is None:
            continue
        sub = subparsers.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        modules[name] = module
    for leaf in _leaves(parser):
        _accept_global_options(leaf)
    return parser, modules


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    """The parser's subcommand action, if it has one (argparse keeps it among its actions)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def _leaves(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser under ``parser`` that has no subcommands of its own (``search``, ``bench synth``)."""
    action = _subparsers(parser)
    if action is None:
        return [parser]
    return [leaf for child in dict.fromkeys(action.choices.values()) for leaf in _leaves(child)]


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Let ``-v`` / ``-q`` follow the subcommand too (``chronolens search q -q``); hidden in its help."""
    parser.add_argument("-v", "--verbose", dest="sub_verbose", action="count", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("-q", "--quiet", dest="sub_quiet", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)  # fmt: skip


def _chosen_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The deepest (sub)parser the parsed ``args`` went through: the one whose usage applies."""
    while (action := _subparsers(parser)) is not None:
        name = getattr(args, action.dest, None)
        if name is None or name not in action.choices:
            break
        parser = action.choices[name]
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse ``argv`` like ``parse_args``, but report each usage error with the right usage.

    argparse hands arguments a subcommand does not know back to the top-level parser, which
    then prints *its* usage ("chronolens [-h] ... COMMAND"); here they are reported by the
    subcommand's parser. An unknown command gets "did you mean". Exits (``SystemExit``) as
    argparse does.
    """
    action = _subparsers(parser)
    # The top-level options take no values, so the first bare word is the command.
    command = next((token for token in argv if not token.startswith("-")), None)
    if action is not None and command is not None and command not in action.choices:
        parser.error(f"unknown command {command!r}{did_you_mean(command, action.choices)}")
    args, extras = parser.parse_known_args(argv)
    if extras:
        _chosen_parser(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    args.verbose += vars(args).pop("sub_verbose", 0)
    args.quiet = args.quiet or vars(args).pop("sub_quiet", False)
    return args


def _configure_logging(verbose: int, quiet: bool) -> None:
    # Quiet by default: progress bars and the command's own output say what is happening;
    # -v shows what chronolens is doing, -vv everything.
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = BarSafeHandler()  # log lines are written between bar redraws, never onto a bar
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("chronolens")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # Third-party warnings (FutureWarning from peft/transformers, TqdmWarning, ...) are logged as
    # "py.warnings" and shown only with -v: chronolens itself reports through logging.
    warnings.showwarning = _log_warning
    py_warnings = logging.getLogger("py.warnings")
    py_warnings.handlers[:] = [handler]
    py_warnings.setLevel(logging.WARNING if verbose and not quiet else logging.ERROR)
    py_warnings.propagate = False
    if verbose < 2:
        # Third-party chatter (transformers, PyAV) stays quiet unless debugging.
        logging.getLogger("libav").setLevel(logging.ERROR)
    if quiet or not verbose:
        _silence_third_party_bars()


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` replacement: one "py.warnings" log record per warning."""
    text = warnings.formatwarning(message, category, filename, lineno, "").rstrip()  # one line: no source
    logging.getLogger("py.warnings").warning("%s", text)


def _silence_third_party_bars() -> None:
    """Turn off huggingface_hub / transformers progress bars and advisory logs (unless -v).

    They read :data:`THIRD_PARTY_ENV` when imported, which in a CLI run is after this (user
    settings win: ``setdefault``); when transformers is already imported the switch is flipped
    directly. Importing transformers here would cost every command a second.
    """
    for name, value in THIRD_PARTY_ENV.items():
        os.environ.setdefault(name, value)
    if "transformers" in sys.modules:
        import transformers

        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    parser, modules = build_parser()
    try:
        args = _parse(parser, list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    saved_env = {name: os.environ.get(name) for name in THIRD_PARTY_ENV}
    saved_showwarning = warnings.showwarning
    _configure_logging(args.verbose, args.quiet)
    try:
        return _run(modules[args.command], args)
    finally:
        # In-process callers (tests, notebooks) get their warnings hook and environment back.
        warnings.showwarning = saved_showwarning
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(module: ModuleType, args: argparse.Namespace) -> int:
    """Run one subcommand, mapping what escapes it to an exit code (the one error handler)."""
    try:
        return int(module.run(args))
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
