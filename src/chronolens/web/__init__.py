"""``chronolens serve``: a local web page over a library, and the JSON API it reads.

The page (``static/``: plain HTML, CSS and JS shipped inside the package, no CDN) searches the
library, plays each moment from the video served with HTTP Range requests, and charts a query's
similarity curve and per-clip saliency. Every number it shows comes from ``/api/``, whose JSON is
what the CLI's ``--json`` prints (the results' own ``to_json``). The library is opened read-only
unless ``allow_index`` is set. Build the app with :func:`create_app`; :func:`serve` runs it.

Names load on first use: ``chronolens.web.config`` needs no FastAPI (the CLI's ``--help`` reads
its defaults), the app does (``pip install 'chronolens[web]'``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chronolens.web.app import create_app
    from chronolens.web.config import ServeConfig
    from chronolens.web.server import is_loopback, serve

_HOMES = {"create_app": "app", "ServeConfig": "config", "is_loopback": "server", "serve": "server"}

__all__ = ["ServeConfig", "create_app", "is_loopback", "serve"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'chronolens.web' has no attribute {name!r}")
    return getattr(importlib.import_module(f"chronolens.web.{home}"), name)
