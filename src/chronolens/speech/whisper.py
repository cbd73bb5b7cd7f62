"""Whisper through faster-whisper (CTranslate2): ``whisper:<model dir or hub id>``.

chronolens decodes the audio itself (PyAV, :mod:`chronolens.video.audio`) and hands faster-whisper
the 16 kHz float32 array, never the file path, so the transcript's times are on the same clock as
the frames: every segment and word time gets the audio's ``start`` added. Word times come from
faster-whisper's cross-attention alignment (``word_timestamps=True``).

Voice activity detection is off by default: faster-whisper's Silero VAD drops quiet speech and
speech under noise (the low-SNR videos of ``chronolens bench speech``), and Whisper's own
no-speech probability already leaves silences empty; ``vad_filter=True`` turns it on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chronolens.encoders.fingerprint import file_sha256
from chronolens.errors import ModelNotFoundError, UsageError, did_you_mean, missing_dependency
from chronolens.progress import progress_bar
from chronolens.speech.base import Segment, Transcript, Word
from chronolens.speech.registry import SpeechOptions, register_speech_scheme

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SAMPLE_RATE", "WhisperBackend", "load_whisper"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000  # Hz: Whisper's input rate


def _cpu_threads(requested: int) -> int:
    """Threads for CTranslate2: the request, else the cores this process may use (at most 8)."""
    if requested > 0:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _device(requested: str) -> str:
    if requested != "auto":
        return requested
    import ctranslate2

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


class WhisperBackend:
    """A faster-whisper ``WhisperModel`` behind :class:`chronolens.speech.SpeechBackend`.

    Corresponds to ``faster_whisper.WhisperModel`` (itself a port of openai/whisper's
    ``transcribe``); chronolens adds the clock offset, typed results and progress.
    """

    def __init__(self, name: str, model: Any, fingerprint: str, options: SpeechOptions) -> None:
        self.name = name
        self.fingerprint = fingerprint
        self.model = model
        self.options = options

    def transcribe(
        self,
        samples: np.ndarray,
        *,
        start: float = 0.0,
        language: str | None = None,
        progress: bool = False,
    ) -> Transcript:
        """Transcribe float32 mono 16 kHz ``samples`` whose first sample is at ``start`` seconds.

        Args:
            samples: ``(N,)`` float32 in [-1, 1] at 16 kHz.
            start: seconds of ``samples[0]`` on the video's clock; added to every time.
            language: ISO 639-1 code; None detects it from the first 30 s.
            progress: draw a bar over the audio's seconds (on a terminal).

        Returns:
            The transcript, ``language`` detected or given, ``extra["language_probability"]``.
        """
        import numpy as np

        audio = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)  # (N,)
        duration = len(audio) / SAMPLE_RATE
        if language is not None:
            supported = list(getattr(self.model, "supported_languages", ()) or ())
            if supported and language not in supported:
                raise UsageError(
                    f"{self.name} does not know language {language!r}{did_you_mean(language, supported)}; "
                    f"give an ISO 639-1 code such as en, de, fr, or omit it to detect the language"
                )
        if len(audio) == 0:
            return Transcript(segments=(), model=self.name, language=language, duration=0.0)
        pieces, info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self.options.beam_size,
            word_timestamps=self.options.word_timestamps,
            vad_filter=self.options.vad_filter,
            max_new_tokens=self.options.max_new_tokens,
            temperature=list(self.options.temperatures),
        )
        segments: list[Segment] = []
        # The generator decodes lazily, window by window: the bar advances as segments arrive.
        with progress_bar(total=round(duration, 1), desc="transcribing", unit="s", enabled=progress) as bar:
            for piece in pieces:
                segments.append(_segment(piece, start, duration))
                bar.update(max(0.0, round(min(piece.end, duration), 1) - bar.n))
            bar.update(max(0.0, (bar.total or 0.0) - bar.n))
        extra = {"language_probability": float(info.language_probability)}
        kept = [s for s in segments if s.text and not self._silent(audio, s, start)]
        return Transcript(
            segments=tuple(kept),
            model=self.name,
            language=info.language or language,
            duration=duration,
            extra=extra,
        )

    def _silent(self, audio: np.ndarray, segment: Segment, start: float) -> bool:
        """Whether the audio under ``segment`` is quieter than ``options.silence_rms`` (a hallucination)."""
        import numpy as np

        lo = max(0, int((segment.start - start) * SAMPLE_RATE))
        hi = max(lo + 1, int(np.ceil((segment.end - start) * SAMPLE_RATE)))
        piece = audio[lo:hi]
        rms = float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))) if len(piece) else 0.0
        if rms < self.options.silence_rms:
            logger.info(
                "dropped %r at %.2f-%.2f s: audio RMS %.1e (silence)",
                segment.text,
                segment.start,
                segment.end,
                rms,
            )
            return True
        return False


def _segment(piece: Any, start: float, duration: float) -> Segment:
    """One faster-whisper segment on the video's clock, times clamped to the audio's extent."""

    def at(t: float) -> float:
        return start + min(max(float(t), 0.0), duration)

    words = tuple(
        Word(at(w.start), max(at(w.start), at(w.end)), w.word.strip(), float(w.probability))
        for w in (piece.words or ())
        if w.word.strip()
    )
    return Segment(at(piece.start), max(at(piece.start), at(piece.end)), piece.text.strip(), words)


def load_whisper(
    name: str, model_dir: str | os.PathLike[str], options: SpeechOptions, *, fingerprint: str = ""
) -> WhisperBackend:
    """Load a CTranslate2 Whisper directory (``model.bin``, ``config.json``, ``tokenizer.json``).

    Args:
        name: the registry name to report (``builtin:whisper-base``, ``whisper:/models/base``).
        model_dir: the converted model's directory.
        options: device, compute type, threads, decoding options.
        fingerprint: the weights' sha256 when already known (else ``model.bin`` is hashed).
    """
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise missing_dependency("faster_whisper", "speech", "speech recognition") from exc
    directory = Path(model_dir)
    weights = directory / "model.bin"
    if not weights.is_file():
        raise ModelNotFoundError(
            f"speech model '{name}': no model.bin in {directory} (a CTranslate2 Whisper dir)"
        )
    if not (directory / "tokenizer.json").is_file():
        # faster-whisper would fetch openai/whisper-tiny's tokenizer from the hub instead.
        raise ModelNotFoundError(f"speech model '{name}': no tokenizer.json in {directory}")
    device = _device(options.device)
    compute = options.compute_type
    if compute == "default":
        compute = "float16" if device == "cuda" else "int8"
    try:
        model = WhisperModel(
            str(directory), device=device, compute_type=compute, cpu_threads=_cpu_threads(options.threads)
        )
    except (RuntimeError, ValueError, OSError) as exc:
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelNotFoundError(f"speech model '{name}' does not load from {directory}: {cause}") from exc
    logger.info("loaded %s from %s (%s, %s)", name, directory, device, compute)
    return WhisperBackend(name, model, fingerprint or file_sha256(weights), options)


@register_speech_scheme(
    "whisper",
    usage="whisper:<faster-whisper model dir or hub id>",
    description="Whisper via faster-whisper (CTranslate2): a converted local dir or a hub id",
)
def _build_whisper(ref: str, options: SpeechOptions) -> WhisperBackend:
    name = f"whisper:{ref}"
    path = Path(ref).expanduser()
    if path.is_dir():
        return load_whisper(name, path, options)
    if path.exists():
        raise ModelNotFoundError(f"speech model '{name}': {path} is a file, not a model directory")
    if ref.startswith((".", "/", "~")):
        raise ModelNotFoundError(f"speech model '{name}': no such directory {path}")
    try:
        from faster_whisper.utils import download_model
    except ImportError as exc:
        raise missing_dependency("faster_whisper", "speech", "speech recognition") from exc
    try:
        directory = download_model(ref)  # a hub id or size name; honours HF_HUB_OFFLINE
    except Exception as exc:  # huggingface_hub raises many types (offline, 404, auth): one message
        cause = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelNotFoundError(
            f"speech model '{name}' is neither a local directory nor a loadable hub id ({cause}); "
            f"give a CTranslate2 Whisper dir or use builtin:whisper-base"
        ) from exc
    return load_whisper(name, directory, options)
