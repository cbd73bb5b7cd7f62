"""Decoding a file's audio track with PyAV: float32 mono samples on the video's own clock.

Speech recognition wants 16 kHz mono; :func:`read_audio` resamples to that (or any rate) with
FFmpeg's resampler while it decodes. Times come from the audio stream's PTS x time_base, measured
from the start of the *video* stream (the same origin :mod:`chronolens.video.reader` gives frame
times), so a transcript's words and the frames share one clock: an audio track that begins 1.5 s
into the video has ``Audio.start == 1.5``.

A file without an audio stream is not an error: :func:`has_audio` says so up front and
:func:`read_audio` returns ``None``. A damaged audio track raises :class:`AudioDecodeError` (a
``DecodeError``) when nothing, or too little, of it decodes; the file's frames are untouched by
this and still decode. A few bad packets are tolerated: the gap they leave is filled with
silence, so later samples keep their times, and one warning says how many were lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from chronolens.errors import DecodeError
from chronolens.video.decoder import decode_cause, open_container, start_pts

__all__ = [
    "MAX_BAD_PACKET_FRACTION",
    "SPEECH_SAMPLE_RATE",
    "Audio",
    "AudioDecodeError",
    "audio_stream",
    "has_audio",
    "read_audio",
    "write_video_with_audio",
]

logger = logging.getLogger(__name__)

SPEECH_SAMPLE_RATE = 16_000  # Hz: what Whisper and most ASR models expect
# Above this share of undecodable packets an audio track counts as corrupt (AudioDecodeError);
# at or below it the losses become silence and a warning.
MAX_BAD_PACKET_FRACTION = 0.5
# A jump between consecutive decoded chunks larger than this (seconds) is a gap filled with silence;
# smaller mismatches are resampler rounding and are ignored.
_GAP_TOLERANCE_S = 0.010


class AudioDecodeError(DecodeError):
    """A file's audio stream exists but cannot be decoded (corrupt or truncated audio)."""


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded audio: mono float32 samples in [-1, 1] and where they sit on the video's clock."""

    samples: np.ndarray  # (N,) float32 mono
    sample_rate: int  # Hz
    start: float  # seconds of samples[0] on the video's clock (0.0 = the video's first frame time)

    @property
    def duration(self) -> float:
        """Seconds of audio held (``N / sample_rate``)."""
        return len(self.samples) / self.sample_rate

    @property
    def end(self) -> float:
        """Seconds on the video's clock just after the last sample."""
        return self.start + self.duration


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The file's first audio stream, or None when it has none."""
    streams = container.streams.audio
    return streams[0] if streams else None


def has_audio(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has an audio stream (without decoding it).

    Raises:
        DecodeError: the file is missing or not a readable media file.
    """
    with open_container(Path(path)) as container:
        return audio_stream(container) is not None


def _clock_origin(container: av.container.InputContainer) -> Fraction:
    """Seconds (in the file's timestamps) that the video clock calls 0: the video stream's start."""
    for stream in container.streams.video:
        pts = start_pts(container, stream)
        if pts is not None and stream.time_base:
            return Fraction(pts) * stream.time_base
    # Audio-only files: the container's start (the audio's own start when that is all there is).
    if container.start_time is not None:
        return Fraction(container.start_time, 1_000_000)
    return Fraction(0)


def read_audio(path: str | os.PathLike[str], *, sample_rate: int = SPEECH_SAMPLE_RATE) -> Audio | None:
    """Decode the first audio stream of ``path`` to mono float32 at ``sample_rate``.

    Args:
        path: a video (or audio) file.
        sample_rate: output rate in Hz (16 kHz for speech models).

    Returns:
        The samples and the time of the first one on the video's clock, or ``None`` when the file
        has no audio stream (see :func:`has_audio`).

    Raises:
        DecodeError: the file is missing or unreadable.
        AudioDecodeError: the audio stream is corrupt (nothing decodes, or more than
            ``MAX_BAD_PACKET_FRACTION`` of its packets fail).
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    file = Path(path)
    with open_container(file) as container:
        stream = audio_stream(container)
        if stream is None:
            return None
        origin = _clock_origin(container)
        return _decode(file, container, stream, sample_rate, origin)


def _decode(
    path: Path,
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    sample_rate: int,
    origin: Fraction,
) -> Audio:
    """Demux + decode + resample one audio stream, tolerating a minority of bad packets."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    first: Fraction | None = None  # seconds (file timestamps) of the first output sample
    n_out = 0  # samples placed so far, gaps included
    packets = bad = 0
    samples_of_errors: list[str] = []
    gaps = 0

    def place(frames: list[av.AudioFrame]) -> None:
        nonlocal first, n_out, gaps
        for out in frames:
            data = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)  # (n,) packed mono
            if out.pts is not None and out.time_base:
                at = Fraction(out.pts) * out.time_base
                if first is None:
                    first = at
                # A jump past where the samples so far end is audio lost to bad packets: fill it
                # with silence so everything after keeps its true time.
                missing = round((at - first) * sample_rate) - n_out
                if missing > _GAP_TOLERANCE_S * sample_rate:
                    chunks.append(np.zeros(missing, dtype=np.float32))
                    n_out += missing
                    gaps += 1
            chunks.append(data)
            n_out += len(data)

    try:
        for packet in container.demux(stream):
            if packet.size > 0:
                packets += 1
            try:
                decoded = stream.decode(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                bad += packet.size > 0  # the final (empty) flush packet is not one of the stream's
                if len(samples_of_errors) < 3 and decode_cause(exc) not in samples_of_errors:
                    samples_of_errors.append(decode_cause(exc))
                continue
            for frame in decoded:
                place(resampler.resample(frame))
        place(resampler.resample(None))
    except (av.error.FFmpegError, OSError) as exc:
        if not chunks:
            raise AudioDecodeError(path, f"audio stream unreadable ({decode_cause(exc)})") from exc
        logger.warning("%s: audio reading stopped early (%s)", path, decode_cause(exc))
    why = "; ".join(samples_of_errors)
    if not chunks or n_out == 0:
        detail = f" ({bad} of {packets} packets failed: {why})" if bad else ""
        raise AudioDecodeError(path, f"audio stream decodes to no samples{detail}")
    if packets and bad > MAX_BAD_PACKET_FRACTION * packets:
        raise AudioDecodeError(path, f"audio stream is corrupt: {bad} of {packets} packets failed ({why})")
    if bad or gaps:
        logger.warning(
            "%s: audio partly corrupt: %d of %d packet(s) failed (%s); %d gap(s) filled with silence",
            path, bad, packets, why or "no error text", gaps,
        )  # fmt: skip
    samples = np.concatenate(chunks)
    start = float(first - origin) if first is not None else 0.0
    np.clip(samples, -1.0, 1.0, out=samples)
    return Audio(samples=samples, sample_rate=sample_rate, start=start)


# Audio encoders per container suffix, for write_video_with_audio's default.
_AUDIO_CODECS = {".mp4": "aac", ".m4v": "aac", ".mov": "aac", ".mkv": "libopus", ".webm": "libopus"}


def write_video_with_audio(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    audio: Audio,
    *,
    fps: float = 25,
    video_codec: str = "libx264",
    audio_codec: str | None = None,
    audio_bit_rate: int | None = None,
) -> Path:
    """Encode RGB frames and a mono audio track into one file atomically (temp file, then rename).

    Frame ``i`` is at ``i / fps`` seconds; the audio's first sample at ``audio.start`` seconds
    (>= 0) on the same clock. Used by the synthetic speech videos and the tests.

    Args:
        path: output file; ``.mp4`` (AAC audio by default) or ``.mkv``/``.webm`` (Opus).
        frames: ``(H, W, 3)`` uint8 RGB arrays, H and W even.
        audio: the track to mux (any sample rate; Opus input is resampled to 48 kHz by PyAV).
        fps: constant frame rate.
        video_codec: FFmpeg video encoder (``"libx264"``, ``"ffv1"``, ...).
        audio_codec: FFmpeg audio encoder (``"aac"``, ``"libopus"``, ``"flac"``, ``"pcm_s16le"``);
            None picks by suffix.
        audio_bit_rate: bits per second for lossy codecs (None: the encoder's default).

    Returns:
        The path written.
    """
    out = Path(path)
    codec = audio_codec or _AUDIO_CODECS.get(out.suffix.lower(), "aac")
    if audio.start < 0:
        raise ValueError(f"audio.start must be >= 0 seconds, got {audio.start}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial{out.suffix}")
    rate = Fraction(fps).limit_denominator(1001)
    # Opus only encodes 48 kHz (and a few lower rates); everything else keeps the input rate.
    sr = 48_000 if codec in ("libopus", "opus") else int(audio.sample_rate)
    try:
        with av.open(str(tmp), mode="w") as container:
            video = container.add_stream(video_codec, rate=rate)
            if not isinstance(video, av.video.stream.VideoStream):
                raise ValueError(f"write_video_with_audio: {video_codec!r} is not a video encoder")
            video.pix_fmt = "bgr0" if video_codec == "ffv1" else "yuv420p"
            video.codec_context.time_base = Fraction(1, 1) / rate
            sound = container.add_stream(codec, rate=sr)
            if not isinstance(sound, av.audio.stream.AudioStream):
                raise ValueError(f"write_video_with_audio: {codec!r} is not an audio encoder")
            sound.layout = "mono"
            if audio_bit_rate is not None:
                sound.bit_rate = audio_bit_rate
            sound.codec_context.time_base = Fraction(1, sr)
            for i, image in enumerate(frames):
                if i == 0:
                    video.height, video.width = int(image.shape[0]), int(image.shape[1])
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts = i
                frame.time_base = video.codec_context.time_base
                for packet in video.encode(frame):
                    container.mux(packet)
            for packet in video.encode():
                container.mux(packet)
            _encode_audio(container, sound, audio, sr)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out


def _encode_audio(
    container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, audio: Audio, rate: int
) -> None:
    """Resample ``audio`` to ``rate`` and encode it in 1,024-sample frames from ``audio.start``."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
    source = np.ascontiguousarray(np.asarray(audio.samples, dtype=np.float32).reshape(1, -1))  # (1, N)
    frame = av.AudioFrame.from_ndarray(source, format="flt", layout="mono")
    frame.sample_rate = int(audio.sample_rate)
    frame.pts = 0
    frame.time_base = Fraction(1, int(audio.sample_rate))
    offset = round(audio.start * rate)  # PTS of the first sample, in 1/rate
    done = 0
    for piece in [*resampler.resample(frame), *resampler.resample(None)]:
        piece.pts = offset + done
        piece.time_base = Fraction(1, rate)
        done += piece.samples
        for packet in stream.encode(piece):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
