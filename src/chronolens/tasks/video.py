"""Questions about one video file: where a query happens in it, and what stands out.

A video already in the library is answered from its stored embeddings; any other video is
decoded and embedded now with the named encoder (nothing is written). ``chronolens ground`` and
``chronolens highlights`` are thin shells over :func:`ground_video` and :func:`video_highlights`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import ChronolensError
from chronolens.library.library import Library, default_library_path
from chronolens.tasks.ground.decompose import decompose as split_query
from chronolens.tasks.ground.tfvtg import DEFAULT_TOP_K, GroundingConfig, ground_query
from chronolens.tasks.highlights import HighlightConfig, highlights
from chronolens.tasks.results import GroundingResult

__all__ = ["VideoEmbeddings", "ground_video", "video_embeddings", "video_highlights"]


@dataclass(frozen=True, kw_only=True)
class VideoEmbeddings:
    """One video's frame embeddings with their times, and the encoder that made them."""

    path: str  # the video file, resolved
    embeddings: np.ndarray  # (T, D) float32, L2-normalised
    timestamps: np.ndarray  # (T,) float64 seconds (decoder PTS)
    duration: float  # seconds
    encoder: Encoder  # encodes the query text into the same space


def video_embeddings(
    video: str | os.PathLike[str],
    *,
    library: Library | str | os.PathLike[str] | None = None,
    model: str | None = None,
) -> VideoEmbeddings:
    """The frame embeddings of ``video``: stored ones when it is in the library, else made now.

    Args:
        video: a video file.
        library: a library (or its path) to look the video up in (default: the default library,
            when it exists).
        model: encoder for a video outside the library; naming one skips the library lookup
            (default ``DEFAULT_ENCODER``).

    Raises:
        ChronolensError: the file does not exist; ``DecodeError`` when it cannot be decoded.
    """
    path = Path(video).expanduser().absolute()
    if not path.is_file():
        raise ChronolensError(f"no such video file: {path.resolve()}")
    if model is None:
        stored = _stored(path, library)
        if stored is not None:
            return stored
    # Imported only for a video that has to be decoded (a stored one needs neither).
    from chronolens.encoders import DEFAULT_ENCODER, load_encoder
    from chronolens.ingest import embed_file
    from chronolens.video.sampling import FixedFps

    path = path.resolve()
    encoder = load_encoder(model or DEFAULT_ENCODER)
    embeddings, timestamps, duration = embed_file(path, encoder=encoder, sampling=FixedFps(fps=1.0))
    return VideoEmbeddings(
        path=str(path), embeddings=embeddings, timestamps=timestamps, duration=duration, encoder=encoder
    )


def _stored(path: Path, library: Library | str | os.PathLike[str] | None) -> VideoEmbeddings | None:
    if isinstance(library, Library):
        return _lookup(path, library)
    root = Path(library) if library is not None else default_library_path()
    if not Library.exists(root):
        return None
    with Library.open(root, create=False) as lib:
        return _lookup(path, lib)


def _lookup(path: Path, lib: Library) -> VideoEmbeddings | None:
    record = lib.lookup(path)
    if record is None or record.status != "indexed" or record.n_frames == 0:
        return None
    emb, ts = lib.frame_embeddings(record.path)
    return VideoEmbeddings(
        path=str(path.resolve()),
        embeddings=emb.copy(),
        timestamps=ts.copy(),
        duration=float(record.duration),
        encoder=lib.encoder,
    )


def ground_video(
    video: str | os.PathLike[str] | VideoEmbeddings,
    query: str,
    *,
    library: Library | str | os.PathLike[str] | None = None,
    model: str | None = None,
    top_k: int = DEFAULT_TOP_K,
    decompose: bool = True,
    config: GroundingConfig | None = None,
) -> GroundingResult:
    """Where ``query`` happens in one video (training-free grounding).

    Args:
        video: a video file, or embeddings already made by :func:`video_embeddings`.
        query: free text; "A then B" / "A while B" are split and their parts combined unless
            ``decompose`` is false (the same rule as ``chronolens.search``).
        library: where to look the video up (see :func:`video_embeddings`).
        model: encoder for a video outside the library.
        top_k: windows returned.
        decompose: split composite queries.
        config: grounder settings.

    Returns:
        Windows in seconds (best first) and the query's per-clip saliency.
    """
    source = (
        video if isinstance(video, VideoEmbeddings) else video_embeddings(video, library=library, model=model)
    )
    parts = split_query(query) if decompose else None
    texts = parts.parts if parts is not None else [query]
    relation = parts.relation if parts is not None else "single"  # "single": one part, no combining
    text = source.encoder.encode_texts(texts)  # (P, D)
    return ground_query(
        source.embeddings,
        source.timestamps,
        source.duration,
        text,
        relation=relation,
        config=config,
        top_k=top_k,
    )


def video_highlights(
    video: str | os.PathLike[str] | VideoEmbeddings,
    query: str | None = None,
    *,
    library: Library | str | os.PathLike[str] | None = None,
    model: str | None = None,
    config: HighlightConfig | None = None,
) -> GroundingResult:
    """Per-clip saliency and the top highlight spans of one video, for a query or query-free.

    Args:
        video: a video file, or embeddings from :func:`video_embeddings`.
        query: what to look for; ``None``: what stands out.
        library: where to look the video up.
        model: encoder for a video outside the library.
        config: highlight settings (``top_k`` spans, clip length, ...).
    """
    source = (
        video if isinstance(video, VideoEmbeddings) else video_embeddings(video, library=library, model=model)
    )
    text = source.encoder.encode_texts([query])[0] if query else None
    return highlights(
        source.embeddings, source.timestamps, source.duration, text_embedding=text, config=config
    )
