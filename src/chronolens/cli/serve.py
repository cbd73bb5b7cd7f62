"""``chronolens serve``: a local web page to search a library and play the moments."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from chronolens.cli.index import add_library_argument
from chronolens.errors import MissingDependencyError

HELP = "a local web page over a library: search, play the moments, chart the query, browse videos"


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port`` and ``--open`` (shared with ``chronolens demo --serve``)."""
    from chronolens.web.config import DEFAULT_HOST, DEFAULT_PORT

    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free port)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser when it is up")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens serve``."""
    add_library_argument(parser)
    add_serve_arguments(parser)
    parser.add_argument(
        "--allow-index",
        action="store_true",
        help="enable POST /api/index, which adds videos to the library (default: read-only)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"url", "library", "allow_index"} as one JSON line once the server listens',
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        default=None,
        help="transcoded previews (default ~/.cache/chronolens/previews)",
    )


def serve_library(
    library: str | os.PathLike[str],
    *,
    host: str,
    port: int,
    allow_index: bool = False,
    cache: str | None = None,
    open_browser: bool = False,
    out: TextIO | None = None,
    as_json: bool = False,
) -> int:
    """Serve ``library`` until Ctrl-C (``KeyboardInterrupt`` propagates: exit 130).

    Prints the URL on stdout once the server listens, and a warning on stderr when ``host``
    accepts connections from other machines.

    Args:
        library: the library directory.
        host: address to listen on.
        port: port (0: any free one).
        allow_index: enable ``POST /api/index``.
        cache: preview cache directory (default ``~/.cache/chronolens/previews``).
        open_browser: open the page with :mod:`webbrowser` once it is up.
        out: where the URL line goes (default stdout; ``demo --json`` sends it to stderr).
        as_json: print ``{"url", "library", "allow_index"}`` instead of the human line.
    """
    try:
        from chronolens.web import ServeConfig, create_app, is_loopback
        from chronolens.web.server import bind, serve, url_of
    except ImportError as exc:
        raise MissingDependencyError(
            f"chronolens serve needs FastAPI and uvicorn ({exc.name} is missing): "
            "pip install 'chronolens[web]'"
        ) from exc

    config = ServeConfig(
        library=Path(library).expanduser().absolute(),
        allow_index=allow_index,
        cache_dir=None if cache is None else Path(cache),
    )
    app = create_app(config)
    if not is_loopback(host):
        print(
            f"chronolens serve: warning: listening on {host}: anyone who can reach this machine can "
            "search the library and watch its videos",
            file=sys.stderr,
        )
    sock = bind(host, port)
    url = url_of(sock)

    def ready() -> None:
        line = f"chronolens serve: {url}  (library {config.library}; Ctrl-C to stop)"
        if as_json:
            line = json.dumps({"url": url, "library": str(config.library), "allow_index": allow_index})
        print(line, file=out or sys.stdout, flush=True)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    serve(app, sock, on_ready=ready)
    return 0


def run(args: argparse.Namespace) -> int:
    """Serve the library until interrupted."""
    from chronolens.library import default_library_path

    return serve_library(
        args.library or default_library_path(),
        host=args.host,
        port=args.port,
        allow_index=args.allow_index,
        cache=args.cache,
        open_browser=args.open,
        as_json=args.json,
    )
