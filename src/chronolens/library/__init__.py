"""The embedded on-disk video library: catalog, embeddings, ANN index, manifest and ingest."""

from chronolens.ingest.local import IngestConfig
from chronolens.library.ann import AnnConfig
from chronolens.library.catalog import VideoRecord
from chronolens.library.library import DEFAULT_LIBRARY, LIBRARY_ENV, Library, default_library_path
from chronolens.library.results import IngestReport, LibraryInfo, SearchResult

__all__ = [
    "DEFAULT_LIBRARY",
    "LIBRARY_ENV",
    "AnnConfig",
    "IngestConfig",
    "IngestReport",
    "Library",
    "LibraryInfo",
    "SearchResult",
    "VideoRecord",
    "default_library_path",
]
