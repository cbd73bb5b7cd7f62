"""``chronolens bench speech``: WER, segment timing and spoken search on espeak-ng speech videos.

Renders the set once into the cache (``chronolens.evaluation.speech``; needs Debian's espeak-ng),
indexes it as ``chronolens index --speech`` does with ``--model`` (default
``builtin:whisper-base``; ``subtitles`` reads ``.srt`` files beside the videos) and prints WER and
start/end error per noise condition, the made-up segments on silent videos, seconds of audio per
second of wall time, what the speech pass adds to index time, and spoken-query retrieval (lexical,
semantic, fused) next to the same search over the true sentences, visual-only search and random.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from chronolens.cli.search import positive_int

if TYPE_CHECKING:
    from chronolens.encoders.sentence import TextEncoder

HELP = "speech: WER, segment timing, speed and spoken-search R@1 / R1@0.5 on espeak-ng speech videos"

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
    parser.add_argument("--size", type=positive_int, default=224, help="frame size in pixels (default 224)")
    parser.add_argument("--data", help="directory of the set (default: the cache)")
    parser.add_argument(
        "--language", default="en", help="language given to the model (default en; 'auto': detect it)"
    )
    parser.add_argument(
        "--text-encoder",
        default="builtin:minilm",
        help="sentence encoder of semantic speech search (default builtin:minilm; none: lexical only)",
    )
    parser.add_argument("--device", default="auto", help="speech model device (default auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Render (once), index with --speech, score and print."""
    from chronolens.evaluation.speech import format_speech_report, run_speech_bench
    from chronolens.evaluation.speech_set import render_speech_set

    progress = not args.quiet
    root = Path(args.data) if args.data else _cache_dir() / f"n{args.videos}-seed{args.seed}-{args.size}px"
    speech_set = render_speech_set(
        root, n_videos=args.videos, seed=args.seed, size=args.size, progress=progress
    )
    backend = None
    if args.model != SUBTITLES:
        from chronolens.speech import load_speech

        backend = load_speech(args.model, device=args.device)
    report = run_speech_bench(
        speech_set,
        backend,
        backend_name=args.model,
        work_dir=root / "libraries",
        text_encoder=_text_encoder(args.text_encoder),
        language=None if args.language == "auto" else args.language,
        progress=progress,
    )
    if args.json:
        print(json.dumps(report.to_json()))
    else:
        print(format_speech_report(report))
    return 0


def _text_encoder(name: str) -> TextEncoder | None:
    """The sentence encoder of semantic search (None: "none", or the default is not installed)."""
    if name == "none":
        return None
    from chronolens.encoders.sentence import DEFAULT_TEXT_ENCODER, optional_text_encoder

    return optional_text_encoder(None if name == DEFAULT_TEXT_ENCODER else name)
