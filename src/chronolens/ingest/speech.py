"""The speech pass of indexing: transcribe each indexed video into the library's transcript tables.

``index_speech(library, backend)`` runs after the visual pass (``chronolens index --speech``). It
is incremental: a video whose content hash, speech model name and model hash are those of its
stored run is skipped (a video recorded as having no audio, or whose audio failed, too, unless
``retry_failed``). Each video's transcript is committed in its own transaction, so a kill
(``KeyboardInterrupt``) loses at most the video in flight. A video without an audio stream is
recorded as such; corrupt audio is that video's failure in the report, and the visual index is
never touched.

``backend=None`` reads the subtitle file next to each video (``VIDEO.srt`` / ``VIDEO.vtt``) as its
transcript (model ``"subtitles"``, fingerprinted by the file's sha256, so an edited file is read
again); a video without one is recorded as having no speech. With ``text_encoder`` the segments'
sentence embeddings are stored with them (semantic search computes missing ones on demand).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from chronolens.errors import ChronolensError
from chronolens.library.catalog import VideoRecord
from chronolens.library.library import Library
from chronolens.library.transcripts import save_speech_status, save_transcript, speech_runs
from chronolens.progress import progress_bar
from chronolens.speech.base import SpeechBackend, Transcript
from chronolens.speech.transcribe import find_subtitles, read_subtitles, transcribe_file

__all__ = ["SUBTITLES", "SpeechReport", "TextEncoder", "index_speech"]

logger = logging.getLogger(__name__)

SUBTITLES = "subtitles"  # the speech model name of transcripts read from sidecar subtitle files
_NO_SUBTITLES = "none"  # model_sha256 of a video that had no subtitle file


class TextEncoder(Protocol):
    """What the speech pass needs of a text encoder (``chronolens.encoders.sentence``)."""

    name: str  # registry name, stored with the embeddings

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(kw_only=True, slots=True)
class SpeechReport:
    """What one ``index_speech`` call did."""

    model: str  # speech model name
    transcribed: list[str] = field(default_factory=list)  # videos whose transcript was stored
    no_audio: list[str] = field(default_factory=list)  # videos without an audio stream (or subtitles)
    unchanged: list[str] = field(default_factory=list)  # videos whose transcript was current
    failed: dict[str, str] = field(default_factory=dict)  # video -> one-line reason
    n_segments: int = 0  # segments stored by this call
    seconds: float = 0.0  # seconds of audio transcribed by this call

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable summary."""
        return {
            "model": self.model,
            "transcribed": self.transcribed,
            "no_audio": self.no_audio,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "n_segments": self.n_segments,
            "seconds": self.seconds,
        }


def _subtitles_fingerprint(path: str) -> str:
    sidecar = find_subtitles(path)
    if sidecar is None:
        return _NO_SUBTITLES
    return hashlib.sha256(sidecar.read_bytes()).hexdigest()


def _transcribe(record: VideoRecord, backend: SpeechBackend | None, language: str | None) -> Transcript:
    if backend is not None:
        return transcribe_file(record.path, backend, language=language)
    sidecar = find_subtitles(record.path)
    if sidecar is None:
        return Transcript(segments=(), model=SUBTITLES, has_audio=False)
    return dataclasses.replace(read_subtitles(sidecar), model=SUBTITLES)


def index_speech(
    library: Library,
    backend: SpeechBackend | None,
    *,
    videos: Iterable[str | os.PathLike[str]] | None = None,
    text_encoder: TextEncoder | None = None,
    language: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
) -> SpeechReport:
    """Transcribe and store the indexed videos that lack a current transcript.

    Args:
        library: a writable library (its visual index is read, never changed).
        backend: the speech model (:func:`chronolens.speech.load_speech`); None reads subtitle
            files next to the videos instead.
        videos: only these video paths (``None``: every indexed video).
        text_encoder: also store each segment's sentence embedding under this encoder's name.
        language: ISO 639-1 code of the speech (None: the model detects it per video).
        retry_failed: transcribe again the videos whose audio failed with this model before.
        progress: a bar over the videos (on a terminal only).

    Returns:
        Which videos were transcribed, had no audio, were current, or failed.

    Raises:
        LibraryError: the library is read-only or another process writes into it.
    """
    model = backend.name if backend is not None else SUBTITLES
    report = SpeechReport(model=model)
    with library.writing() as (catalog, _store):
        records = library.indexed_records(videos)
        runs = speech_runs(catalog)
        todo: list[tuple[VideoRecord, str]] = []
        for record in records:
            fingerprint = backend.fingerprint if backend is not None else _subtitles_fingerprint(record.path)
            run = runs.get(record.id)
            current = (
                run is not None
                and (run.model, run.model_sha256, run.content_hash)
                == (model, fingerprint, record.content_hash)
                and not (retry_failed and run.status == "failed")
            )
            if current:
                report.unchanged.append(record.path)
            else:
                todo.append((record, fingerprint))
        if todo and backend is not None:
            _record_in_manifest(library, model, backend.fingerprint)
        for record, fingerprint in progress_bar(
            todo, desc=f"speech ({model})", unit="video", enabled=progress
        ):
            try:
                transcript = _transcribe(record, backend, language)
            except ChronolensError as exc:  # corrupt audio, unreadable file or subtitles
                error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                report.failed[record.path] = error
                logger.warning("no transcript for %s: %s", record.path, error)
                save_speech_status(
                    catalog,
                    record.id,
                    model=model,
                    model_sha256=fingerprint,
                    content_hash=record.content_hash,
                    error=error,
                )
                continue
            transcript = dataclasses.replace(transcript, model=model)
            embeddings = None
            if text_encoder is not None and transcript.segments:
                texts = [segment.text for segment in transcript.segments]
                embeddings = (
                    text_encoder.name,
                    np.asarray(text_encoder.encode_texts(texts), dtype=np.float32),
                )
            save_transcript(
                catalog,
                record.id,
                transcript,
                content_hash=record.content_hash,
                model_sha256=fingerprint,
                embeddings=embeddings,
            )
            (report.transcribed if transcript.has_audio else report.no_audio).append(record.path)
            report.n_segments += len(transcript.segments)
            report.seconds += float(transcript.duration)
    logger.info(
        "speech (%s): %d transcribed, %d without audio, %d unchanged, %d failed",
        model,
        len(report.transcribed),
        len(report.no_audio),
        len(report.unchanged),
        len(report.failed),
    )
    return report


def _record_in_manifest(library: Library, model: str, sha256: str) -> None:
    """Name the speech model and its hash in the library's manifest (``Manifest.speech``)."""
    wanted = {"model": model, "sha256": sha256}
    if library.manifest.speech != wanted:
        library.manifest = dataclasses.replace(library.manifest, speech=wanted)
        library.touch()
