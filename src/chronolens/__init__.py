"""chronolens: find when things happen in video."""

from chronolens.errors import (
    ChronolensError,
    DecodeError,
    EncoderMismatchError,
    FormatError,
    LibraryError,
    MissingDependencyError,
    ModelNotFoundError,
)
from chronolens.library import IngestReport, Library, LibraryInfo, SearchResult, VideoRecord
from chronolens.timebase import Moment, Span
from chronolens.video import Frames, VideoInfo, probe, read_frames

__version__ = "0.1.0"

__all__ = [
    "ChronolensError",
    "DecodeError",
    "EncoderMismatchError",
    "FormatError",
    "Frames",
    "IngestReport",
    "Library",
    "LibraryError",
    "LibraryInfo",
    "MissingDependencyError",
    "ModelNotFoundError",
    "Moment",
    "SearchResult",
    "Span",
    "VideoInfo",
    "VideoRecord",
    "__version__",
    "probe",
    "read_frames",
]
