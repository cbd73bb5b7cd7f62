"""The embedded on-disk video library: catalog, embeddings, ANN candidates and manifest (storage only)."""

from chronolens.library.ann import AnnConfig
from chronolens.library.catalog import VideoRecord
from chronolens.library.library import DEFAULT_LIBRARY, LIBRARY_ENV, Library, default_library_path
from chronolens.library.results import LibraryInfo

__all__ = [
    "DEFAULT_LIBRARY",
    "LIBRARY_ENV",
    "AnnConfig",
    "Library",
    "LibraryInfo",
    "VideoRecord",
    "default_library_path",
]
