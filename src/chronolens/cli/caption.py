"""``chronolens caption VIDEO --checkpoint DIR``: describe a video as timed events with TimeChat.

A shell over :func:`chronolens.caption` (``details=True``: the events, the raw answer, the duration,
and a note saying why when no events were read: printed on stderr, ``"note"`` in ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys

from chronolens.cli.search import positive_int
from chronolens.timebase import clock

HELP = "describe one video as timestamped events with a trained TimeChat checkpoint"

PARSER_CHOICES = (
    "default",
    "timechat",
)  # chronolens.timebase.text.PARSERS (kept literal: --help stays light)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint``, ``--device``, ``--max-new-tokens`` (shared with ``chronolens ask``)."""
    parser.add_argument(
        "--checkpoint", required=True, help="TimeChat checkpoint dir (from 'chronolens train timechat')"
    )
    parser.add_argument("--device", help="torch device, e.g. cuda or cpu (default: the checkpoint's choice)")
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=None, help="cap on generated tokens (default 256)"
    )


def print_note(note: str | None, *, quiet: bool) -> None:
    """Why an answer is empty, one line on stderr (``-q`` silences it; ``--json`` carries it)."""
    if note and not quiet:
        print(f"chronolens: {note}", file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens caption``."""
    parser.add_argument("video", help="video file")
    add_model_arguments(parser)
    parser.add_argument(
        "--parser",
        choices=PARSER_CHOICES,
        default="default",
        help="how timestamps are read from the answer: chronolens' parser or TimeChat's (default default)",
    )
    parser.add_argument("--instruction", help="what to ask (default: TimeIT's dense-captioning instruction)")
    parser.add_argument("--json", action="store_true", help="print events, raw answer and duration as JSON")


def run(args: argparse.Namespace) -> int:
    """Caption the video and print its events (or, without any, why on stderr)."""
    import chronolens

    result = chronolens.caption(
        args.video,
        checkpoint=args.checkpoint,
        parser=args.parser,
        instruction=args.instruction,
        max_new_tokens=args.max_new_tokens,
        device=args.device,
        details=True,
    )
    if args.json:
        print(json.dumps({"video": str(args.video), **result.to_json()}))
        return 0
    if not result.events:  # not an error: say why on stderr, print whatever text there is
        print_note(result.note, quiet=args.quiet)
        if result.text:
            print(result.text)
        return 0
    for span, text in result.events:
        print(f"{clock(span.start)} - {clock(span.end)}  {text}")
    return 0
