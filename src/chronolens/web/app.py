"""``create_app``: the FastAPI application — the API, the page, and JSON errors for everything."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from chronolens.errors import ChronolensError, LibraryError
from chronolens.web.api import ApiState, build_router
from chronolens.web.config import ServeConfig
from chronolens.web.media import PreviewCache
from chronolens.web.worker import LibraryWorker

if TYPE_CHECKING:
    from chronolens import Encoder

__all__ = ["STATIC", "create_app"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"  # the page: index.html, app.js, style.css


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    """``"top_k: Input should be less than or equal to 100"`` from FastAPI's error list."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "body", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def create_app(config: ServeConfig, *, encoder: Encoder | None = None) -> FastAPI:
    """The web app over ``config.library``.

    Args:
        config: the library, the limits and whether indexing is allowed.
        encoder: an already-loaded text encoder (default: the library's own, loaded on first use).

    Raises:
        LibraryError: no library at ``config.library``.
    """
    import chronolens

    if not chronolens.Library.exists(config.library):
        raise LibraryError(
            f"no chronolens library at {config.library}; create one with: "
            f"chronolens index PATH --library {config.library}"
        )
    worker = LibraryWorker(config.library, read_only=not config.allow_index, encoder=encoder)
    state = ApiState(config=config, worker=worker, previews=PreviewCache(config.previews))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            worker.close()

    app = FastAPI(
        title="chronolens",
        version=chronolens.__version__,
        description="Search a video library and play the moments.",
        lifespan=lifespan,
    )
    app.state.chronolens = state
    app.include_router(build_router(state))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(exc))

    @app.exception_handler(ChronolensError)
    async def user_error(request: Request, exc: ChronolensError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error answering %s", request.url.path, exc_info=exc)
        return _error(500, f"internal error ({type(exc).__name__}); the server log has the details")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
