"""The served library, owned by one thread.

A ``Library`` holds a SQLite connection, which may only be used from the thread that opened it,
and its in-memory caches are not locked. So the library is opened inside a single worker thread
and every call that touches it runs there (requests queue for it, in order); the event loop stays
free to stream media and answer other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from chronolens import Encoder, Library

__all__ = ["LibraryWorker"]

T = TypeVar("T")


class LibraryWorker:
    """Runs functions of the library on the one thread that owns it."""

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool, encoder: Encoder | None = None
    ) -> None:
        """
        Args:
            path: the library directory (it must exist).
            read_only: open it without writing (``Library.open(read_only=...)``).
            encoder: an already-loaded encoder (default: the library's own, loaded on first use).
        """
        self.path = Path(path)
        self.read_only = read_only
        self._encoder = encoder
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chronolens-library")
        self._library: Library | None = None

    def _open(self) -> Library:
        if self._library is None:
            import chronolens

            self._library = chronolens.Library.open(
                self.path, create=False, read_only=self.read_only, encoder=self._encoder
            )
        return self._library

    def call_sync(self, fn: Callable[[Library], T]) -> T:
        """``fn(library)`` on the library's thread, waited for (for code outside the event loop)."""
        return self._pool.submit(lambda: fn(self._open())).result()

    async def call(self, fn: Callable[[Library], T]) -> T:
        """``fn(library)`` on the library's thread, awaited."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(self._open()))

    def close(self) -> None:
        """Close the library (on its thread) and stop the thread."""

        def shut() -> None:
            if self._library is not None:
                self._library.close()
                self._library = None

        self._pool.submit(shut).result()
        self._pool.shutdown(wait=True)
