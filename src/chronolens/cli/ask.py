"""``chronolens ask VIDEO "question" --checkpoint DIR [--choices "a|b|c"]``: answers from TimeChat.

A shell over :func:`chronolens.ask` (``details=True``: the answer with the video's duration, and a
note saying why when the answer is empty: printed on stderr, ``"note"`` in ``--json``).

With ``--choices`` the question is multiple choice (:func:`chronolens.tasks.answer.choose`):
``--method likelihood`` (default) scores each candidate by the model's mean log-probability per
answer token; ``--method generate`` lists the candidates, generates, and reads the letter or text
from the answer; an answer naming no single candidate is reported as unparsed (exit 0,
``"parsed": false`` in ``--json``), never guessed. Without ``--checkpoint``, ``--model`` names an
image-text encoder and each candidate is scored CLIP-style against the frames.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from chronolens.cli.caption import print_note
from chronolens.cli.search import positive_int

HELP = "ask a trained TimeChat checkpoint a question about one video (free text or --choices)"

CHOICE_METHODS = ("likelihood", "generate")  # chronolens.tasks.answer.CHOICE_METHODS (literal: light --help)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens ask``."""
    parser.add_argument("video", help="video file")
    parser.add_argument("question", help="the question, e.g. 'When does the red square appear?'")
    # as caption's add_model_arguments, but --checkpoint is optional: --choices also runs on an encoder
    parser.add_argument("--checkpoint", help="TimeChat checkpoint dir (from 'chronolens train timechat')")
    parser.add_argument("--device", help="torch device, e.g. cuda or cpu (default: the checkpoint's choice)")
    parser.add_argument(
        "--max-new-tokens", type=positive_int, default=None, help="cap on generated tokens (default 256)"
    )
    parser.add_argument(
        "--transcript",
        type=Path,
        help="text file of timestamped transcript (ASR) lines given with the question",
    )
    parser.add_argument("--choices", help="multiple choice: '|'-separated candidates, e.g. 'red|blue|green'")
    parser.add_argument(
        "--method",
        choices=CHOICE_METHODS,
        default="likelihood",
        help="with --choices: score each candidate (likelihood, default) or generate and parse",
    )
    parser.add_argument(
        "--model", help="with --choices and no --checkpoint: an image-text encoder scoring the candidates"
    )
    parser.add_argument(
        "--library", help="library dir for --model (default: $CHRONOLENS_LIBRARY or ./.chronolens)"
    )
    parser.add_argument("--json", action="store_true", help="print the question, answer and duration as JSON")


def run(args: argparse.Namespace) -> int:
    """Ask the question and print the answer."""
    import chronolens
    from chronolens.errors import ChronolensError, UsageError

    transcript = None
    if args.transcript is not None:
        try:
            transcript = args.transcript.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ChronolensError(f"cannot read the transcript {args.transcript}: {exc}") from exc
    if args.choices is not None:
        return _run_choices(args, transcript)
    if args.checkpoint is None:
        raise UsageError("a free-text answer needs --checkpoint (or give --choices to pick among candidates)")
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


def _run_choices(args: argparse.Namespace, transcript: str | None) -> int:
    from chronolens.errors import ChronolensError, UsageError
    from chronolens.tasks.answer.choices import encoder_choice, parse_choices_text

    candidates = parse_choices_text(args.choices)
    if not args.question.strip():
        raise ChronolensError("the question is empty")
    if args.checkpoint is not None:
        from chronolens.tasks.answer import choose

        answer = choose(
            args.video,
            args.question,
            candidates,
            checkpoint=args.checkpoint,
            method=args.method,
            transcript=transcript,
            max_new_tokens=args.max_new_tokens,
            device=args.device,
        )
    elif args.model is not None or args.library is not None:
        from chronolens.tasks.video import video_embeddings

        answer = encoder_choice(
            video_embeddings(args.video, library=args.library, model=args.model), args.question, candidates
        )
    else:
        raise UsageError("--choices needs --checkpoint (TimeChat) or --model (an image-text encoder)")
    if args.json:
        print(json.dumps({"video": str(args.video), **answer.to_json()}))
        return 0
    if answer.choice is None:
        if not args.quiet:
            print(f"chronolens: the answer names no single candidate: {answer.text!r}", file=sys.stderr)
        return 0
    print(answer.answer)
    return 0
