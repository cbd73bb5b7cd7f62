"""``ServeConfig``: what the web app serves and the bounds it puts on every request."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "ServeConfig", "default_cache_dir"]

DEFAULT_HOST = "127.0.0.1"  # loopback only: the library's videos are private by default
DEFAULT_PORT = 8765


def default_cache_dir() -> Path:
    """Where transcoded previews go: ``$XDG_CACHE_HOME/chronolens/previews`` (never the library)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "previews"


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """One served library and the limits of its API."""

    library: Path  # library directory
    allow_index: bool = False  # enable POST /api/index (opens the library writable)
    cache_dir: Path | None = None  # transcoded previews (None: default_cache_dir())
    max_query_chars: int = 500  # longest query text accepted, in characters
    max_top_k: int = 100  # most videos (or windows) one request may ask for
    max_moments: int = 10  # most moments per video in /api/search
    max_preview_seconds: float = 120.0  # longest span /api/preview transcodes
    thumbnail_size: int = 180  # shorter side of thumbnails, in pixels

    def __post_init__(self) -> None:
        for name in ("max_query_chars", "max_top_k", "max_moments", "thumbnail_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"ServeConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.max_preview_seconds > 0:
            raise ValueError(f"ServeConfig.max_preview_seconds must be > 0, got {self.max_preview_seconds}")

    @property
    def previews(self) -> Path:
        """The preview cache directory in use."""
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()
