"""One video file -> its transcript: decode the audio on the video's clock, run a backend.

Subtitle files next to a video are a free transcript: ``lecture.srt`` / ``lecture.vtt`` (or a
language-tagged ``lecture.en.srt``) beside ``lecture.mp4``. ``transcribe_file(path, None)``
reads that sidecar instead of running a model (``find_subtitles`` says which one it would read).
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from pathlib import Path

from chronolens.errors import ChronolensError, FormatError
from chronolens.speech.base import SpeechBackend, Transcript
from chronolens.speech.formats import parse_subtitles

__all__ = ["SUBTITLE_SUFFIXES", "find_subtitles", "read_subtitles", "transcribe_file"]

SUBTITLE_SUFFIXES = (".srt", ".vtt")  # sidecar subtitle files read as transcripts, in this order
SUBTITLES_MODEL = "subtitles"  # Transcript.model prefix of a transcript read from a sidecar file


def find_subtitles(path: str | os.PathLike[str]) -> Path | None:
    """The subtitle file next to a video: ``VIDEO.srt``, ``VIDEO.vtt``, else ``VIDEO.<lang>.srt|vtt``.

    Returns None when there is none. With several language-tagged files the first by name wins.
    """
    video = Path(path)
    for suffix in SUBTITLE_SUFFIXES:
        exact = video.with_suffix(suffix)
        if exact.is_file():
            return exact
    if not video.parent.is_dir():
        return None
    tagged = sorted(
        p
        for p in video.parent.glob(f"{_glob_escape(video.stem)}.*")
        if p.suffix.lower() in SUBTITLE_SUFFIXES and p.is_file() and len(p.name.split(".")) >= 3
    )
    return tagged[0] if tagged else None


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _language_tag(subtitles: Path) -> str | None:
    """``en`` from ``talk.en.srt``; None without a short alphabetic tag."""
    tag = Path(subtitles.stem).suffix.lstrip(".")
    return tag.lower() if 2 <= len(tag) <= 3 and tag.isalpha() else None


def read_subtitles(path: str | os.PathLike[str], *, language: str | None = None) -> Transcript:
    """A subtitle file (``.srt`` / ``.vtt``) as a transcript (segments only; no word times).

    ``Transcript.model`` is ``"subtitles:<file name>"``; the language is ``language``, else the
    file name's tag (``talk.en.srt``), else unknown.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = file.read_text(encoding="latin-1")  # old SRT files are often Windows-1252 / Latin-1
    except OSError as exc:
        raise FormatError(f"cannot read subtitles {file}: {exc.strerror or exc}") from exc
    segments = parse_subtitles(text, suffix=file.suffix, source=str(file))
    return Transcript(
        segments=segments,
        model=f"{SUBTITLES_MODEL}:{file.name}",
        language=language or _language_tag(file),
        duration=max((s.end for s in segments), default=0.0),
    )


def _accepts(method: object, keyword: str) -> bool:
    """Whether a backend's ``transcribe`` takes ``keyword`` (``progress`` is optional in the protocol)."""
    try:
        return keyword in inspect.signature(method).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def transcribe_file(
    path: str | os.PathLike[str],
    backend: SpeechBackend | None,
    *,
    language: str | None = None,
    progress: bool = False,
) -> Transcript:
    """Transcribe one video (or audio) file.

    Args:
        path: the media file.
        backend: the speech model (:func:`chronolens.speech.load_speech`); None reads the subtitle
            file next to the video instead (:func:`find_subtitles`).
        language: ISO 639-1 code; None lets the backend detect it.
        progress: a bar over the audio's seconds (backends that support it; on a terminal).

    Returns:
        The transcript, times on the video's clock. A file without an audio stream gives
        ``Transcript(has_audio=False, segments=())``, not an error.

    Raises:
        DecodeError: the file is missing or unreadable.
        AudioDecodeError: the audio stream is corrupt (the video's frames may still decode).
        ChronolensError: ``backend`` is None and no subtitle file sits next to the video.
    """
    if backend is None:
        subtitles = find_subtitles(path)
        if subtitles is None:
            raise ChronolensError(
                f"no subtitles next to {path} (looked for {', '.join('*' + s for s in SUBTITLE_SUFFIXES)}); "
                f"name a speech model, e.g. builtin:whisper-base"
            )
        return read_subtitles(subtitles, language=language)
    from chronolens.video.audio import SPEECH_SAMPLE_RATE, read_audio

    audio = read_audio(path, sample_rate=SPEECH_SAMPLE_RATE)
    if audio is None:
        return Transcript(segments=(), model=backend.name, language=language, has_audio=False)
    kwargs = {"progress": progress} if _accepts(backend.transcribe, "progress") else {}
    transcript = backend.transcribe(audio.samples, start=audio.start, language=language, **kwargs)
    if not transcript.duration:  # backends need not fill it in: it is the audio's length
        transcript = dataclasses.replace(transcript, duration=audio.duration)
    return transcript
