"""chronolens: find when things happen in video.

The public API. Everything the CLI does is a call here::

    import chronolens

    with chronolens.Library.open(".chronolens", model="builtin:synth-clip") as lib:
        chronolens.index(lib, ["videos/"])
        hits = chronolens.search(lib, "a red circle drifts left", top_k=5)
    result = chronolens.ground("videos/a.mp4", "the circle stops then turns blue")
    spans = chronolens.highlights("videos/a.mp4")
    events = chronolens.caption("videos/a.mp4", checkpoint="runs/tc/model")

Names load on first use (``import chronolens`` stays cheap for the CLI's ``--help``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from chronolens.errors import (
    ChronolensError,
    DecodeError,
    EncoderMismatchError,
    FormatError,
    LibraryError,
    MissingDependencyError,
    ModelNotFoundError,
)

if TYPE_CHECKING:
    from chronolens.encoders import Encoder, EncoderEntry, list_encoders, load_encoder
    from chronolens.encoders.sentence import load_text_encoder
    from chronolens.ingest import IngestConfig, IngestReport, RayConfig, index
    from chronolens.ingest.speech import index_speech
    from chronolens.library import AnnConfig, Library, LibraryInfo, VideoRecord
    from chronolens.speech import Transcript, load_speech
    from chronolens.speech import transcribe_file as transcribe
    from chronolens.tasks.answer import ask, caption, choose
    from chronolens.tasks.classify import classify
    from chronolens.tasks.fusion import FusionConfig, fuse
    from chronolens.tasks.ground.tfvtg import GroundingConfig
    from chronolens.tasks.highlights import HighlightConfig
    from chronolens.tasks.keyframes import keyframes
    from chronolens.tasks.results import GroundingResult
    from chronolens.tasks.search import SearchResult, search
    from chronolens.tasks.shots import ShotResult, snap_to_shots
    from chronolens.tasks.shots import detect_shots as shots
    from chronolens.tasks.speech_search import search_speech
    from chronolens.tasks.video import VideoEmbeddings, video_embeddings
    from chronolens.tasks.video import ground_video as ground
    from chronolens.tasks.video import video_highlights as highlights
    from chronolens.timebase import Moment, Span
    from chronolens.video import (
        AtTimes,
        FixedFps,
        Frames,
        Keyframes,
        Sampling,
        UniformN,
        VideoInfo,
        probe,
        read_frames,
    )

from chronolens.version import __version__

# public name -> (module, attribute there)
_EXPORTS: dict[str, tuple[str, str]] = {
    # storage and indexing
    "Library": ("chronolens.library", "Library"),
    "LibraryInfo": ("chronolens.library", "LibraryInfo"),
    "VideoRecord": ("chronolens.library", "VideoRecord"),
    "AnnConfig": ("chronolens.library", "AnnConfig"),
    "index": ("chronolens.ingest", "index"),
    "IngestConfig": ("chronolens.ingest", "IngestConfig"),
    "IngestReport": ("chronolens.ingest", "IngestReport"),
    "RayConfig": ("chronolens.ingest", "RayConfig"),
    # asking
    "search": ("chronolens.tasks.search", "search"),
    "SearchResult": ("chronolens.tasks.search", "SearchResult"),
    "ground": ("chronolens.tasks.video", "ground_video"),
    "highlights": ("chronolens.tasks.video", "video_highlights"),
    "video_embeddings": ("chronolens.tasks.video", "video_embeddings"),
    "VideoEmbeddings": ("chronolens.tasks.video", "VideoEmbeddings"),
    "GroundingConfig": ("chronolens.tasks.ground.tfvtg", "GroundingConfig"),
    "HighlightConfig": ("chronolens.tasks.highlights", "HighlightConfig"),
    "GroundingResult": ("chronolens.tasks.results", "GroundingResult"),
    "caption": ("chronolens.tasks.answer", "caption"),
    "ask": ("chronolens.tasks.answer", "ask"),
    "choose": ("chronolens.tasks.answer", "choose"),
    "classify": ("chronolens.tasks.classify", "classify"),
    "shots": ("chronolens.tasks.shots", "detect_shots"),
    "snap_to_shots": ("chronolens.tasks.shots", "snap_to_shots"),
    "ShotResult": ("chronolens.tasks.shots", "ShotResult"),
    "keyframes": ("chronolens.tasks.keyframes", "keyframes"),
    # speech
    "transcribe": ("chronolens.speech", "transcribe_file"),
    "load_speech": ("chronolens.speech", "load_speech"),
    "Transcript": ("chronolens.speech", "Transcript"),
    "index_speech": ("chronolens.ingest.speech", "index_speech"),
    "search_speech": ("chronolens.tasks.speech_search", "search_speech"),
    "fuse": ("chronolens.tasks.fusion", "fuse"),
    "FusionConfig": ("chronolens.tasks.fusion", "FusionConfig"),
    "load_text_encoder": ("chronolens.encoders.sentence", "load_text_encoder"),
    # encoders
    "load_encoder": ("chronolens.encoders", "load_encoder"),
    "list_encoders": ("chronolens.encoders", "list_encoders"),
    "Encoder": ("chronolens.encoders", "Encoder"),
    "EncoderEntry": ("chronolens.encoders", "EncoderEntry"),
    # video and time
    "read_frames": ("chronolens.video", "read_frames"),
    "probe": ("chronolens.video", "probe"),
    "Frames": ("chronolens.video", "Frames"),
    "VideoInfo": ("chronolens.video", "VideoInfo"),
    "Sampling": ("chronolens.video", "Sampling"),
    "FixedFps": ("chronolens.video", "FixedFps"),
    "UniformN": ("chronolens.video", "UniformN"),
    "Keyframes": ("chronolens.video", "Keyframes"),
    "AtTimes": ("chronolens.video", "AtTimes"),
    "Span": ("chronolens.timebase", "Span"),
    "Moment": ("chronolens.timebase", "Moment"),
}

__all__ = [
    "AnnConfig",
    "AtTimes",
    "ChronolensError",
    "DecodeError",
    "Encoder",
    "EncoderEntry",
    "EncoderMismatchError",
    "FixedFps",
    "FormatError",
    "Frames",
    "FusionConfig",
    "GroundingConfig",
    "GroundingResult",
    "HighlightConfig",
    "IngestConfig",
    "IngestReport",
    "Keyframes",
    "Library",
    "LibraryError",
    "LibraryInfo",
    "MissingDependencyError",
    "ModelNotFoundError",
    "Moment",
    "RayConfig",
    "Sampling",
    "SearchResult",
    "ShotResult",
    "Span",
    "Transcript",
    "UniformN",
    "VideoEmbeddings",
    "VideoInfo",
    "VideoRecord",
    "__version__",
    "ask",
    "caption",
    "choose",
    "classify",
    "fuse",
    "ground",
    "highlights",
    "index",
    "index_speech",
    "keyframes",
    "list_encoders",
    "load_encoder",
    "load_speech",
    "load_text_encoder",
    "probe",
    "read_frames",
    "search",
    "search_speech",
    "shots",
    "snap_to_shots",
    "transcribe",
    "video_embeddings",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'chronolens' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
