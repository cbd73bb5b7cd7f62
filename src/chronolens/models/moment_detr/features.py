"""The inputs of a Moment-DETR head, from chronolens' own encoders — the same at training and inference.

- **Clips**: the frame embeddings a library stores for a video, mean-pooled per 2 s clip
  (``chronolens.timebase.clip_means``; the QVHighlights convention: one feature per
  ``CLIP_LENGTH`` seconds, the partial last clip included).
- **Query tokens**: the encoder's pooled text embedding, as a single token ``(1, D)``. The
  ``Encoder`` protocol exposes no per-token text states yet (``encoders/clip_text.py`` pools at
  the EOS token internally); the heads accept ``(L, D)`` token features, so a token-level text
  tower can be plugged in later by a new ``text`` mode of :class:`Extractor` without touching them.

:class:`Extractor` names both (the encoder's registry name and weights sha256, the pooling, the
text mode, the clip length); checkpoints record it and prediction refuses features from another
extractor — the mismatch users of moment_detr / QD-DETR hit first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.errors import ChronolensError
from chronolens.timebase.grid import CLIP_LENGTH, clip_means, n_clips

if TYPE_CHECKING:
    from chronolens.encoders.base import Encoder
    from chronolens.library.library import Library

__all__ = [
    "ClipFeatures",
    "Extractor",
    "ExtractorMismatchError",
    "clip_features",
    "extractor_of",
    "library_clip_features",
    "library_extractor",
    "query_token_features",
]

POOLING_FRAME_MEAN = "frame-mean"  # clip feature = mean of the frame embeddings inside the clip
TEXT_POOLED = "pooled"  # query = the encoder's pooled text embedding as one token


class ExtractorMismatchError(ChronolensError):
    """Features from another extractor than the one a head was trained on."""


@dataclass(frozen=True, kw_only=True)
class Extractor:
    """Which features a head reads; recorded in its checkpoint."""

    encoder: str  # encoder registry name, e.g. "builtin:synth-clip"
    weights_sha256: str  # sha256 over the encoder's weights
    dim: int  # feature width D of clips and query tokens
    clip_length: float = CLIP_LENGTH  # seconds per clip feature
    pooling: str = POOLING_FRAME_MEAN  # how frame embeddings become clip features
    text: str = TEXT_POOLED  # how a query becomes token features

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in a checkpoint."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Extractor:
        """Read what :meth:`to_json` wrote."""
        try:
            return cls(
                encoder=str(data["encoder"]),
                weights_sha256=str(data["weights_sha256"]),
                dim=int(data["dim"]),
                clip_length=float(data["clip_length"]),
                pooling=str(data["pooling"]),
                text=str(data["text"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ChronolensError(f"invalid extractor record {dict(data)!r}: {exc}") from exc

    def check(self, other: Extractor, *, what: str = "features") -> None:
        """Refuse ``other`` unless it describes the same features as this one.

        Raises:
            ExtractorMismatchError: naming each field that differs and both values.
        """
        mine, theirs = self.to_json(), other.to_json()
        differ = [f"{k}: trained on {mine[k]!r}, got {theirs[k]!r}" for k in mine if mine[k] != theirs[k]]
        if differ:
            raise ExtractorMismatchError(
                f"{what} come from another extractor than the head was trained on ({'; '.join(differ)}); "
                "re-index with the head's encoder or train a head on this one"
            )


@dataclass(frozen=True)
class ClipFeatures:
    """Clip features of one video."""

    features: np.ndarray  # (C, D) float32, one row per clip
    duration: float  # seconds
    clip_length: float = CLIP_LENGTH  # seconds per row
    extractor: Extractor | None = None  # where they came from (None: the caller vouches for them)

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[0] == 0:
            raise ValueError(f"features must be a non-empty (C, D) array, got shape {self.features.shape}")
        if self.duration <= 0:
            raise ValueError(f"duration must be > 0, got {self.duration}")


def clip_features(
    embeddings: np.ndarray, timestamps: np.ndarray, duration: float, clip_length: float = CLIP_LENGTH
) -> np.ndarray:
    """Frame embeddings mean-pooled per clip.

    Args:
        embeddings: (T, D) frame embeddings.
        timestamps: (T,) seconds.
        duration: video duration in seconds.
        clip_length: seconds per clip.

    Returns:
        (C, D) float32, ``C = n_clips(duration, clip_length)``.
    """
    return clip_means(embeddings, timestamps, duration, clip_length).astype(np.float32)


def extractor_of(
    encoder_name: str, weights_sha256: str, dim: int, clip_length: float = CLIP_LENGTH
) -> Extractor:
    """The extractor of frame-mean clips and pooled-text tokens from one encoder."""
    return Extractor(encoder=encoder_name, weights_sha256=weights_sha256, dim=dim, clip_length=clip_length)


def library_extractor(library: Library, clip_length: float = CLIP_LENGTH) -> Extractor:
    """The extractor of a library's features (from its manifest; no encoder is loaded)."""
    m = library.manifest
    return extractor_of(m.encoder, m.weights_sha256, m.dim, clip_length)


def library_clip_features(
    library: Library, video: str | os.PathLike[str], clip_length: float = CLIP_LENGTH
) -> ClipFeatures:
    """Clip features of an indexed video, from the embeddings the library stores (no decoding).

    Raises:
        LibraryError: the video is not indexed.
    """
    embeddings, timestamps = library.frame_embeddings(video)
    duration = float(library.record(video).duration)
    if duration <= 0:  # features added without a duration: the clips the rows span
        duration = float(n_clips(float(timestamps[-1]) + 1e-9, clip_length) * clip_length)
    return ClipFeatures(
        features=clip_features(embeddings, timestamps, duration, clip_length),
        duration=duration,
        clip_length=clip_length,
        extractor=library_extractor(library, clip_length),
    )


def query_token_features(encoder: Encoder, query: str) -> np.ndarray:
    """Token features of a query: the pooled text embedding as one token (see the module docstring).

    Returns:
        (1, D) float32.
    """
    return np.asarray(encoder.encode_texts([query]), dtype=np.float32).reshape(1, -1)
