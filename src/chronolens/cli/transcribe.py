"""``chronolens transcribe VIDEO``: what is said in a video, as SRT, WebVTT, plain text or JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from chronolens.errors import UsageError

HELP = "transcribe a video's speech (Whisper) to SRT, WebVTT, text or JSON"

FORMATS = ("srt", "vtt", "txt", "json")
SUBTITLES = "subtitles"  # --model value that reads VIDEO.srt / VIDEO.vtt instead of running a model

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens transcribe``."""
    parser.add_argument("video", type=Path, help="the video (or audio) file")
    parser.add_argument(
        "--model",
        default=None,
        help="speech model: builtin:whisper-base (default), whisper:<faster-whisper dir or hub id>, "
        f"or '{SUBTITLES}' to read the .srt/.vtt file next to the video",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: from --output's suffix, else srt)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="write here (atomically) instead of stdout"
    )
    parser.add_argument("--json", action="store_true", help="the same as --format json")
    parser.add_argument("--language", default=None, help="ISO 639-1 code, e.g. en (default: detect)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument(
        "--vad", action="store_true", help="skip non-speech with Silero VAD first (off by default)"
    )


def _format(args: argparse.Namespace) -> str:
    if args.json:
        if args.format not in (None, "json"):
            raise UsageError(f"--json contradicts --format {args.format}")
        return "json"
    if args.format is not None:
        return str(args.format)
    if args.output is not None:
        suffix = args.output.suffix.lower().lstrip(".")
        if suffix in FORMATS:
            return suffix
        raise UsageError(
            f"cannot tell the format from {args.output.name!r}; add --format {{{','.join(FORMATS)}}}"
        )
    return "srt"


def run(args: argparse.Namespace) -> int:
    """Transcribe the video and print or write the transcript."""
    fmt = _format(args)
    if args.language is not None and not args.language.strip():
        raise UsageError("--language must not be empty (omit it to detect the language)")
    from chronolens.speech import DEFAULT_SPEECH_MODEL, load_speech, render, transcribe_file

    name = args.model or DEFAULT_SPEECH_MODEL
    backend = None if name == SUBTITLES else load_speech(name, device=args.device, vad_filter=args.vad)
    progress = not args.quiet
    transcript = transcribe_file(args.video, backend, language=args.language, progress=progress)
    if not transcript.has_audio:
        print(f"{args.video}: no audio stream (nothing to transcribe)", file=sys.stderr)
    if fmt == "json":  # one JSON object that also names the video
        text = json.dumps({"video": str(args.video), **transcript.to_json()}, ensure_ascii=False) + "\n"
    else:
        text = render(transcript, fmt)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    from chronolens.atomic import write_text_atomic

    write_text_atomic(args.output, text)
    print(f"wrote {len(transcript.segments)} segment(s) to {args.output}", file=sys.stderr)
    return 0
