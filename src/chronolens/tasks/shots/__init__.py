"""Shots of one video: detect them (``histogram``, ``embedding``, ``transnetv2``), store, snap.

::

    from chronolens.tasks.shots import detect_shots, snap_to_shots

    result = detect_shots("talk.mp4", detector="histogram")   # ShotResult
    for shot in result.shots:                                 # Span [start, end) seconds
        ...
    windows = snap_to_shots(grounding.windows, result)        # edges moved onto cuts

A video in the library whose shots were stored at index time (``chronolens index --shots``)
is answered from the shots table; otherwise the detector runs now (nothing is written).
Boundaries are PTS-exact (see ``base``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chronolens.errors import ChronolensError
from chronolens.library.catalog import VideoRecord
from chronolens.library.library import Library, default_library_path
from chronolens.library.shots import load_shots, shots_catalog
from chronolens.tasks.shots import embedding, histogram, transnetv2  # noqa: F401  (registers the detectors)
from chronolens.tasks.shots.base import (
    CutRule,
    ShotDetector,
    ShotResult,
    UnknownDetectorError,
    get_detector,
    list_detectors,
    shots_from_cuts,
)
from chronolens.tasks.shots.embedding import EmbeddingConfig
from chronolens.tasks.shots.histogram import HistogramConfig
from chronolens.tasks.shots.snap import SNAP_TOLERANCE_S, snap_to_shots
from chronolens.tasks.shots.transnetv2 import TransNetV2Config
from chronolens.timebase import Span

__all__ = [
    "DEFAULT_DETECTOR",
    "SNAP_TOLERANCE_S",
    "CutRule",
    "EmbeddingConfig",
    "HistogramConfig",
    "ShotDetector",
    "ShotResult",
    "TransNetV2Config",
    "UnknownDetectorError",
    "detect_shots",
    "get_detector",
    "library_shots",
    "list_detectors",
    "shots_for",
    "shots_from_cuts",
    "snap_to_shots",
]

DEFAULT_DETECTOR = "histogram"  # needs nothing extra and reads every frame


def _from_stored(record: VideoRecord, library: Library, detector: str | None) -> ShotResult | None:
    catalog = shots_catalog(library)
    stored = load_shots(catalog, record.id, detector=detector, content_hash=record.content_hash)
    if stored is None:
        return None
    spans = tuple(Span(s, e) for s, e, _ in stored.rows)
    return ShotResult(
        video=record.path,
        detector=stored.detector,
        duration=stored.duration,
        shots=spans,
        cut_scores=tuple(score for _, _, score in stored.rows[1:]),
        n_frames=record.n_frames,
        stored=True,
    )


def _run(
    name: str, record: VideoRecord | None, library: Library | None, path: Path, config: Any, progress: bool
) -> ShotResult:
    detector = get_detector(name, config)
    if name != "embedding":
        return detector(str(path), duration=record.duration if record else None, progress=progress)
    if record is not None and library is not None and record.status == "indexed" and record.n_frames:
        emb, ts = library.frame_embeddings(record.path)
        return detector(str(path), embeddings=emb, timestamps=ts, duration=record.duration)
    from chronolens.tasks.video import video_embeddings  # decodes and embeds a video outside the library

    source = video_embeddings(path, library=library)
    return detector(
        str(path), embeddings=source.embeddings, timestamps=source.timestamps, duration=source.duration
    )


def detect_shots(
    video: str | os.PathLike[str],
    detector: str = DEFAULT_DETECTOR,
    *,
    library: Library | str | os.PathLike[str] | None = None,
    config: Any = None,
    stored: bool = True,
    progress: bool = False,
) -> ShotResult:
    """The shots of one video.

    Args:
        video: a video file.
        detector: ``"histogram"`` (default), ``"embedding"`` (the library's frame embeddings; a
            video outside the library is embedded now at 1 fps) or ``"transnetv2"`` (needs
            ``pip install 'chronolens[shots]'``).
        library: where to look the video up (default: the default library, when it exists).
        config: the detector's config (``HistogramConfig``, ``EmbeddingConfig``,
            ``TransNetV2Config``); a custom config always runs the detector.
        stored: answer from the library's shots table when it holds this detector's shots for
            the video's current content.
        progress: show a bar over the decoded frames (on a terminal only).

    Raises:
        UnknownDetectorError: ``detector`` is not registered (with the closest name).
        ChronolensError: the file does not exist; ``DecodeError`` when it has no decodable frame;
            ``MissingDependencyError`` for ``transnetv2`` without its package.
    """
    if detector not in list_detectors():
        get_detector(detector)  # raises with "did you mean"
    path = Path(video).expanduser().absolute()
    if not path.is_file():
        raise ChronolensError(f"no such video file: {path.resolve()}")
    lib, opened = _library(library)
    try:
        record = lib.lookup(path) if lib is not None else None
        if record is not None and record.status != "indexed":
            record = None
        if stored and config is None and record is not None and lib is not None:
            found = _from_stored(record, lib, detector)
            if found is not None:
                return found
        return _run(detector, record, lib, path, config, progress)
    finally:
        if opened and lib is not None:
            lib.close()


def library_shots(library: Library, video: str | os.PathLike[str]) -> ShotResult:
    """Shots of an indexed video without decoding: stored ones (any detector), else ``embedding``'s.

    For snapping search and grounding results (``--snap shots``).

    Raises:
        LibraryError: the video is not indexed in ``library``.
    """
    record = library.record(video)
    found = _from_stored(record, library, None)
    if found is not None:
        return found
    emb, ts = library.frame_embeddings(record.path)
    return get_detector("embedding")(record.path, embeddings=emb, timestamps=ts, duration=record.duration)


def shots_for(
    video: str | os.PathLike[str], *, library: Library | str | os.PathLike[str] | None = None
) -> ShotResult:
    """Shots to snap one video's moments to (``--snap shots``), decoding only when unavoidable.

    A video indexed in ``library``: :func:`library_shots` (stored shots, else the ``embedding``
    detector on its stored embeddings). Any other video: the ``histogram`` detector.
    """
    lib, opened = _library(library)
    try:
        record = lib.lookup(video) if lib is not None else None
        if lib is not None and record is not None and record.status == "indexed" and record.n_frames:
            return library_shots(lib, record.path)
        return detect_shots(video, DEFAULT_DETECTOR, library=lib, stored=False)
    finally:
        if opened and lib is not None:
            lib.close()


def _library(library: Library | str | os.PathLike[str] | None) -> tuple[Library | None, bool]:
    """The library to look videos up in, and whether this call opened it (and must close it)."""
    if isinstance(library, Library):
        return library, False
    root = Path(library) if library is not None else default_library_path()
    if not Library.exists(root):
        return None, False
    return Library.open(root, create=False, read_only=True), True
