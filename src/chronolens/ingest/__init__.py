"""Writing videos into a library: decode -> embed -> commit, one video at a time.

``index(library, paths)`` is the one entry point (``chronolens index`` and ``chronolens.index``);
``rebuild(root, model=..., sampling=...)`` re-indexes a library into another encoder or sampling
beside the old one and swaps it in whole (``chronolens index --rebuild``);
``embed_file`` decodes and embeds one video the same way without storing anything (grounding a
video that is not in a library). The library stores; this package is its only writer.
``index(..., ray=RayConfig(...))`` decodes and embeds on a Ray cluster instead of in this process
(``chronolens index --ray``, ``chronolens.ingest.ray_pipeline``) and builds the same library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace

from chronolens.errors import ChronolensError
from chronolens.ingest.discover import VIDEO_EXTENSIONS, VIDEO_SUFFIXES, discover
from chronolens.ingest.local import IngestConfig, embed_file, ingest
from chronolens.ingest.ray_pipeline import CLIPS_NOT_SUPPORTED, EncoderLoader, RayConfig, ingest_ray
from chronolens.ingest.rebuild import rebuild
from chronolens.ingest.report import IngestReport
from chronolens.library.library import Library
from chronolens.library.manifest import ENGINE_LOCAL, ENGINE_RAY

__all__ = [
    "VIDEO_EXTENSIONS",
    "VIDEO_SUFFIXES",
    "IngestConfig",
    "IngestReport",
    "RayConfig",
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
    ray: RayConfig | None = None,
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
        ray: decode and embed on a Ray cluster (``chronolens[ray]``) as ``ray`` says, committing
            here; the library is the same as without it (its manifest names the engine). Each
            embed actor loads the library's encoder by name.

    Returns:
        What was indexed (and which of those are partial), unchanged, failed, skipped and marked
        missing.

    Raises:
        LibraryError: the library is read-only or another process is indexing it.
        MissingDependencyError: ``ray`` is given and Ray is not installed.
        ChronolensError: ``ray`` is given and the library embeds clips (not supported on Ray yet).
    """
    paths = list(paths)
    config = config if config is not None else IngestConfig()
    manifest = library.manifest
    if ray is not None and manifest.clips is not None:
        raise ChronolensError(CLIPS_NOT_SUPPORTED)
    with library.writing() as (catalog, store):
        before = catalog.generation()
        if ray is None:
            report = ingest(
                paths,
                catalog=catalog,
                store=store,
                encoder=lambda: library.encoder,  # loaded only if some video needs embedding
                sampling=library.sampling,
                decode_size=manifest.decode_size,
                config=config,
                progress=progress,
            )
        else:
            report = ingest_ray(
                paths,
                catalog=catalog,
                store=store,
                encoder=EncoderLoader(manifest.encoder, manifest.dim, manifest.weights_sha256),
                dim=manifest.dim,
                sampling=library.sampling,
                decode_size=manifest.decode_size,
                config=config,
                ray_config=ray,
                progress=progress,
            )
        # A run that wrote nothing to the catalog (a no-op re-index) leaves the manifest, the
        # frame table and the index as they were: not even read.
        if catalog.generation() != before:
            library.manifest = replace(library.manifest, engine=ENGINE_LOCAL if ray is None else ENGINE_RAY)
            library.touch()
            library.search_view()  # the frame table (and index) now, so the first search is fast
    return report
