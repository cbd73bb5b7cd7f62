"""Running the app on uvicorn: bind first (so the URL printed is the one that works), then serve."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from chronolens.errors import ChronolensError

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["bind", "is_loopback", "serve", "url_of"]

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port).

    Raises:
        ChronolensError: the address is in use or cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family in (socket.AF_INET, socket.AF_INET6):  # small JSON answers: no Nagle delay (Linux: inherited)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ChronolensError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (try --port)") from exc
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port/`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve(app: FastAPI, sock: socket.socket, *, on_ready: Callable[[], None] | None = None) -> None:
    """Serve ``app`` on ``sock`` until interrupted.

    On Ctrl-C uvicorn shuts down gracefully, then re-raises the signal: ``KeyboardInterrupt``
    reaches the caller (the CLI maps it to exit 130).

    Args:
        app: the app from :func:`chronolens.web.create_app`.
        sock: from :func:`bind`.
        on_ready: called once the server accepts connections.
    """
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    if on_ready is not None:
        startup = server.startup

        async def started(sockets: list[socket.socket] | None = None) -> None:
            await startup(sockets=sockets)
            on_ready()

        server.startup = started  # type: ignore[method-assign]
    server.run(sockets=[sock])
    if server.should_exit:
        # uvicorn re-raises the signal it caught, but not when it arrives while it is already
        # shutting down (or on every version): the server only stops on a signal, so say so.
        raise KeyboardInterrupt
