"""The library manifest (``manifest.json``): what built the library, for provenance and safety.

A library's embeddings are only comparable with queries embedded by the same encoder weights and
frames sampled the same way, so the manifest records both and opening the library with anything
else raises ``EncoderMismatchError`` naming the difference and the remedy. A library whose encoder
is a clip encoder (``chronolens.encoders.clip_base.ClipEncoder``) stores one row per overlapping
clip, so its manifest also records the clip layout (frames per clip, stride), checked the same way.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chronolens.atomic import write_text_atomic
from chronolens.encoders.clip_base import ClipLayout, default_stride
from chronolens.errors import EncoderMismatchError, LibraryError

__all__ = [
    "ENGINE_LOCAL",
    "ENGINE_RAY",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "Manifest",
    "clip_layout",
    "decoder_versions",
    "is_clip_encoder",
    "read_manifest",
    "write_manifest",
]

MANIFEST_FILE = "manifest.json"  # the manifest's file name inside a library directory
MANIFEST_FORMAT = 1  # version of this file's layout
ENGINE_LOCAL = "local"  # Manifest.engine of a library written by the single-process ingest
ENGINE_RAY = "ray"  # Manifest.engine of a library written by the Ray pipeline


def decoder_versions() -> tuple[str, str]:
    """``(PyAV version, FFmpeg version)`` of the decoder in use."""
    import av

    ffmpeg = getattr(av, "ffmpeg_version_info", None)
    if ffmpeg is None:
        ffmpeg = "libavcodec " + ".".join(str(v) for v in av.library_versions.get("libavcodec", ()))
    return str(av.__version__), str(ffmpeg)


def is_clip_encoder(encoder: object) -> bool:
    """Whether ``encoder`` embeds clips (``ClipEncoder``): a library of it stores one row per clip.

    Not ``isinstance`` on the protocol: that reads every member, and ``weights_sha256`` may hash
    the weight files.
    """
    return hasattr(encoder, "encode_clips") and hasattr(encoder, "clip_frames")


def clip_layout(encoder: object) -> ClipLayout | None:
    """How a library of ``encoder`` cuts videos into clips (stride half a clip); None for frames."""
    if not is_clip_encoder(encoder):
        return None
    frames = int(encoder.clip_frames)  # type: ignore[attr-defined]
    return ClipLayout(clip_frames=frames, stride_frames=default_stride(frames))


@dataclass(frozen=True, kw_only=True, slots=True)
class Manifest:
    """Provenance of a library: encoder, sampling and the software that built it."""

    encoder: str  # registry name of the encoder, e.g. "hf:openai/clip-vit-base-patch32"
    weights_sha256: str  # sha256 over the encoder's weight files
    dim: int  # embedding width D
    sampling: str  # sampling spec, e.g. "fps:1" (chronolens.video.sampling.parse_sampling)
    decode_size: int  # shorter side (pixels) frames are resized to while decoding
    chronolens_version: str  # version that last wrote the library
    pyav_version: str  # PyAV version that last wrote the library
    ffmpeg_version: str  # FFmpeg version inside PyAV
    created: float  # unix time the library was created
    updated: float  # unix time of the last change
    format: int = MANIFEST_FORMAT  # layout version of manifest.json
    # Engine that last wrote the library: "local" (one process) or "ray" (chronolens index --ray).
    # Absent from older manifests (read as "local"); ignored by ==, since both build the same library.
    engine: str = field(default=ENGINE_LOCAL, compare=False)
    # The speech model of the last `chronolens index --speech`: {"model": name, "sha256": its
    # weights' fingerprint}. None until then (and in older manifests); ignored by ==, since the
    # visual embeddings do not depend on it.
    speech: dict[str, str] | None = field(default=None, compare=False)
    # The clip layout of a library whose encoder embeds clips (ClipLayout.to_dict(): clip_frames,
    # stride_frames, in sampled frames); each stored row is one clip, timed at its centre. None for
    # a library of frame embeddings (and in older manifests); checked by check_clips, not by ==.
    clips: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.encoder:
            raise ValueError("Manifest.encoder must be a non-empty encoder name")
        if self.dim < 1:
            raise ValueError(f"Manifest.dim must be >= 1, got {self.dim}")
        if self.decode_size < 1:
            raise ValueError(f"Manifest.decode_size must be >= 1, got {self.decode_size}")

    def touched(self) -> Manifest:
        """A copy with ``updated`` set to now and the current software versions."""
        from chronolens.version import __version__

        pyav, ffmpeg = decoder_versions()
        return replace(
            self,
            updated=time.time(),
            chronolens_version=__version__,
            pyav_version=pyav,
            ffmpeg_version=ffmpeg,
        )

    def check_request(self, *, model: str | None, sampling: str | None, library: Path) -> None:
        """Refuse a requested encoder name / sampling spec that differs from the library's.

        Raises:
            EncoderMismatchError: naming what differs and how to proceed.
        """
        if model is not None and model != self.encoder:
            raise EncoderMismatchError(
                f"library {library} was built with encoder {self.encoder!r}, not {model!r}; "
                f"use --model {self.encoder} (or omit it), a new --library directory for {model!r}, "
                f"or re-index this one with `chronolens index --rebuild --library {library} --model {model}`"
            )
        if sampling is not None and sampling != self.sampling:
            raise EncoderMismatchError(
                f"library {library} samples frames as {self.sampling!r}, not {sampling!r}; "
                f"omit the sampling option, use a new --library directory, or re-index this one with "
                f"`chronolens index --rebuild --library {library}` and the new sampling option"
            )

    def check_encoder(self, *, name: str, dim: int, weights_sha256: str, library: Path) -> None:
        """Refuse a loaded encoder whose weights or width differ from the library's.

        Raises:
            EncoderMismatchError: when the dimension or the weights hash differs.
        """
        if dim != self.dim:
            raise EncoderMismatchError(
                f"encoder {name!r} embeds to {dim} dims but library {library} holds {self.dim}-dim "
                f"embeddings; use --model {self.encoder} or a new --library directory"
            )
        if weights_sha256 != self.weights_sha256:
            raise EncoderMismatchError(
                f"encoder {name!r} has weights sha256 {weights_sha256[:12]}... but library {library} was "
                f"built with {self.weights_sha256[:12]}...; restore those weights, or re-index it with "
                f"`chronolens index --rebuild --library {library}`"
            )

    def check_clips(self, *, name: str, layout: ClipLayout | None, library: Path) -> None:
        """Refuse a loaded encoder that would cut videos differently from the library's rows.

        Args:
            name: the encoder's registry name (for the message).
            layout: its clip layout (``clip_layout(encoder)``; None: it embeds single frames).
            library: the library directory (for the message).

        Raises:
            EncoderMismatchError: frames vs clips, or another clip length or stride.
        """
        wanted = None if layout is None else layout.to_dict()
        if wanted == self.clips:
            return
        remedy = f"re-index it with `chronolens index --rebuild --library {library}`"
        if self.clips is None:
            have = "frame embeddings (one row per sampled frame)"
        else:
            have = (
                f"clips of {self.clips.get('clip_frames')} frames, stride {self.clips.get('stride_frames')}"
            )
        if wanted is None:
            gets = "single frames"
        else:
            gets = f"clips of {wanted['clip_frames']} frames, stride {wanted['stride_frames']}"
        raise EncoderMismatchError(
            f"library {library} holds {have}, but encoder {name!r} embeds {gets}; "
            f"use the encoder the library was built with, or {remedy}"
        )


def read_manifest(path: Path) -> Manifest:
    """Load ``manifest.json``.

    Raises:
        LibraryError: when it is missing or malformed.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except FileNotFoundError as exc:
        raise LibraryError(f"{path.parent} is not a chronolens library (no {path.name})") from exc
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise LibraryError(f"library manifest {path} is malformed: {exc}") from exc


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write ``manifest.json`` atomically (temp file, fsync, rename)."""
    write_text_atomic(path, json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
