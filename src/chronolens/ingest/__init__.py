"""Writing videos into a library: decode -> embed -> commit, one video at a time.

``index(library, paths)`` is the one entry point (``chronolens index`` and ``chronolens.index``);
``rebuild(root, model=..., sampling=...)`` re-indexes a library into another encoder or sampling
beside the old one and swaps it in whole (``chronolens index --rebuild``);
``embed_file`` decodes and embeds one video the same way without storing anything (grounding a
video that is not in a library). The library stores; this package is its only writer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from chronolens.ingest.discover import VIDEO_EXTENSIONS, VIDEO_SUFFIXES, discover
from chronolens.ingest.local import IngestConfig, embed_file, ingest
from chronolens.ingest.rebuild import rebuild
from chronolens.ingest.report import IngestReport
from chronolens.library.library import Library

__all__ = [
    "VIDEO_EXTENSIONS",
    "VIDEO_SUFFIXES",
    "IngestConfig",
    "IngestReport",
    "discover",
    "embed_file",
    "index",
    "rebuild",
]


def index(
    library: Library,
    paths: Iterable[str | os.PathLike[str]],
    *,
    config: IngestConfig | None = None,
    progress: bool = True,
) -> IngestReport:
    """Index video files and directories (recursed for video extensions) into ``library``.

    Incremental: unchanged files are skipped, changed ones re-indexed (so are files whose stored
    embeddings are missing or damaged), catalogued files under the given paths that vanished are
    marked missing, undecodable ones recorded as failed, ones that decode only in part indexed and
    reported as partial; entries that are not regular files (dangling symlinks, symlink loops,
    FIFOs, devices) are skipped with a reason, never opened; files in folders without a video
    extension are counted (``report.non_video``). Each video is committed on its own after its
    embeddings are on disk, so a kill loses at most the video in flight. A run with nothing new
    loads no model and reads no embeddings file (``chronolens.ingest.plan``).

    Args:
        library: an open, writable library.
        paths: files and/or directories.
        config: decode/embed batching settings (default ``IngestConfig()``).
        progress: show a progress bar on stderr (drawn only when it is a terminal).

    Returns:
        What was indexed (and which of those are partial), unchanged, failed, skipped and marked
        missing.

    Raises:
        LibraryError: the library is read-only or another process is indexing it.
    """
    paths = list(paths)
    with library.writing() as (catalog, store):
        before = catalog.generation()
        report = ingest(
            paths,
            catalog=catalog,
            store=store,
            encoder=lambda: library.encoder,  # loaded only if some video needs embedding
            sampling=library.sampling,
            decode_size=library.manifest.decode_size,
            config=config if config is not None else IngestConfig(),
            progress=progress,
        )
        # A run that wrote nothing to the catalog (a no-op re-index) leaves the manifest, the
        # frame table and the index as they were: not even read.
        if catalog.generation() != before:
            library.touch()
            library.search_view()  # the frame table (and index) now, so the first search is fast
    return report
