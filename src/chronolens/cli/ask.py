"""``chronolens ask VIDEO "question" --checkpoint DIR``: a free-text answer from TimeChat.

A shell over :func:`chronolens.ask` (``details=True``: the answer with the video's duration, and a
note saying why when the answer is empty: printed on stderr, ``"note"`` in ``--json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chronolens.cli.caption import add_model_arguments, print_note

HELP = "ask a trained TimeChat checkpoint a question about one video"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens ask``."""
    parser.add_argument("video", help="video file")
    parser.add_argument("question", help="the question, e.g. 'When does the red square appear?'")
    add_model_arguments(parser)
    parser.add_argument(
        "--transcript",
        type=Path,
        help="text file of timestamped transcript (ASR) lines given with the question",
    )
    parser.add_argument("--json", action="store_true", help="print the question, answer and duration as JSON")


def run(args: argparse.Namespace) -> int:
    """Ask the question and print the answer."""
    import chronolens
    from chronolens.errors import ChronolensError

    transcript = None
    if args.transcript is not None:
        try:
            transcript = args.transcript.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ChronolensError(f"cannot read the transcript {args.transcript}: {exc}") from exc
    answer = chronolens.ask(
        args.video,
        args.question,
        checkpoint=args.checkpoint,
        transcript=transcript,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
        details=True,
    )
    if args.json:
        print(json.dumps({"video": str(args.video), **answer.to_json()}))
        return 0
    print_note(answer.note, quiet=args.quiet)  # an empty answer is not an error: say why
    if answer.text:
        print(answer.text)
    return 0
