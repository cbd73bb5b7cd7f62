"""Speech: what is said in a video, and when.

ASR backends sit behind one protocol (:class:`SpeechBackend`), resolved by name like encoders:
``load_speech("builtin:whisper-base")`` or ``load_speech("whisper:<faster-whisper dir or hub id>")``.
Times are seconds on the video's own clock (the audio stream's PTS), the same clock as frames.
``transcribe_file(path, backend)`` decodes a file's audio and transcribes it; ``backend=None``
reads the subtitle file next to the video instead. See docs/speech.md.
"""

from __future__ import annotations

# The scheme modules register themselves on import (faster-whisper itself loads only on use).
from chronolens.speech import builtin as _builtin  # noqa: F401
from chronolens.speech import whisper as _whisper  # noqa: F401
from chronolens.speech.base import Segment, SpeechBackend, Transcript, Word
from chronolens.speech.formats import FORMATS, parse_srt, parse_vtt, render
from chronolens.speech.registry import DEFAULT_SPEECH_MODEL, SpeechEntry, list_speech, load_speech
from chronolens.speech.transcribe import find_subtitles, read_subtitles, transcribe_file

__all__ = [
    "DEFAULT_SPEECH_MODEL",
    "FORMATS",
    "Segment",
    "SpeechBackend",
    "SpeechEntry",
    "Transcript",
    "Word",
    "find_subtitles",
    "list_speech",
    "load_speech",
    "parse_srt",
    "parse_vtt",
    "read_subtitles",
    "render",
    "transcribe_file",
]
