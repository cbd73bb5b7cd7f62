"""``chronolens bench speech``: WER, segment timing and spoken search on espeak-ng speech videos.

Renders the set once into the cache (``chronolens.evaluation.speech``; needs Debian's espeak-ng),
transcribes it with ``--model`` (default ``builtin:whisper-base``; ``subtitles`` reads ``.srt``
files beside the videos) and prints WER and start/end error per noise condition, the made-up
segments on silent videos, and seconds of audio per second of wall time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from chronolens.cli.search import positive_int

HELP = "speech: WER, segment start/end error and speed on espeak-ng speech videos at several SNRs"

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "builtin:whisper-base"
SUBTITLES = "subtitles"  # as chronolens transcribe --model subtitles


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "bench-speech"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens bench speech``."""
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"speech model (default {DEFAULT_MODEL}; subtitles: .srt beside the videos)",
    )
    parser.add_argument(
        "--videos", type=positive_int, default=14, help="videos rendered (default 14, 2 silent)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the set (default 0)")
    parser.add_argument("--data", help="directory of the set (default: the cache)")
    parser.add_argument(
        "--language", default="en", help="language given to the model (default en; 'auto': detect it)"
    )
    parser.add_argument("--device", default="auto", help="speech model device (default auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Render (once), transcribe, score and print."""
    from chronolens.evaluation.speech import (
        SpeechBenchReport,
        format_speech_report,
        render_speech_set,
        score_transcripts,
        transcribe_set,
    )

    progress = not args.quiet
    root = Path(args.data) if args.data else _cache_dir() / f"n{args.videos}-seed{args.seed}"
    speech_set = render_speech_set(root, n_videos=args.videos, seed=args.seed, progress=progress)
    backend = None
    if args.model != SUBTITLES:
        from chronolens.speech import load_speech

        backend = load_speech(args.model, device=args.device)
    transcripts, seconds = transcribe_set(
        speech_set.videos,
        backend,
        language=None if args.language == "auto" else args.language,
        progress=progress,
    )
    report = SpeechBenchReport(
        backend=args.model,
        transcription=score_transcripts(speech_set.videos, transcripts),
        audio_seconds=sum(v.duration for v in speech_set.videos),
        transcribe_seconds=seconds,
    )
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(format_speech_report(report))
    return 0
