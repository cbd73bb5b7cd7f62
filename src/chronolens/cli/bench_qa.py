"""``chronolens bench qa``: video QA accuracy (and zero-shot classification) next to baselines.

Items: ``--data F.json`` (MVBench / EgoSchema-style: question, candidates, answer index; videos
under ``--videos`` or beside the file), ``--data DIR`` (a synthetic dataset), or by default a
synthetic split rendered once into the cache (the same one ``bench synth`` uses). Answerer: a
TimeChat ``--checkpoint`` (``--mode likelihood|generate|open``), else the ``--model`` encoder
scoring each candidate CLIP-style. On synthetic data the zero-shot classification part runs too
(``chronolens.evaluation.classify``; ``--no-classify`` skips it).
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
    from chronolens.data.formats.qa import QAItem
    from chronolens.data.synth import SynthDataset

HELP = "video QA (multiple choice / open-ended) and zero-shot classification accuracy next to baselines"

logger = logging.getLogger(__name__)

MODES = ("likelihood", "generate", "open")  # TimeChat answerers (chronolens.evaluation.qa.QA_MODES)
DEFAULT_VIDEOS = 100  # synthetic videos rendered without --data (as bench synth)
DEFAULT_SEED = 12345  # as bench synth: the two share the rendered split


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "bench-synth"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens bench qa``."""
    parser.add_argument("--data", help="QA json (MVBench/EgoSchema-style) or a synthetic dataset dir")
    parser.add_argument("--answers", help="EgoSchema-style {question_id: index} file for --data json")
    parser.add_argument("--videos", help="directory the json's videos are under (default: beside the json)")
    parser.add_argument("--split", default="test", help="synthetic split (default test)")
    parser.add_argument(
        "--n-videos",
        type=positive_int,
        default=DEFAULT_VIDEOS,
        help="synthetic videos rendered without --data",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the rendered split")
    parser.add_argument("--checkpoint", help="TimeChat checkpoint dir (default: the --model encoder answers)")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="likelihood",
        help="TimeChat: score candidates (likelihood, default), generate and parse, or open-ended",
    )
    parser.add_argument("--model", default="builtin:synth-clip", help="encoder (default builtin:synth-clip)")
    parser.add_argument("--device", help="torch device for TimeChat")
    parser.add_argument("--max-new-tokens", type=positive_int, default=None, help="cap on generated tokens")
    parser.add_argument("--limit", type=positive_int, help="score only the first N questions")
    parser.add_argument("--no-classify", action="store_true", help="skip the zero-shot classification part")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _synth_items(args: argparse.Namespace, progress: bool) -> tuple[SynthDataset, list[QAItem], Path]:
    from chronolens.data.synth import SynthConfig, generate, load_synth
    from chronolens.data.synth.qa import synth_qa_items

    data = Path(args.data) if args.data else _cache_dir() / f"{args.split}-seed{args.seed}-n{args.n_videos}"
    if not (data / "synth.json").exists():
        if args.data:
            from chronolens.errors import ChronolensError

            raise ChronolensError(f"{data}: neither a QA json file nor a synthetic dataset (no synth.json)")
        logger.info("rendering %d %s videos to %s (once; reused later)", args.n_videos, args.split, data)
        generate(data, SynthConfig(videos=args.n_videos, seed=args.seed, split=args.split), progress=progress)
    dataset = load_synth(data)
    return dataset, synth_qa_items(dataset.split(args.split), seed=dataset.seed), data


def run(args: argparse.Namespace) -> int:
    """Load the items, answer them, print the scores."""
    import dataclasses

    from chronolens.data.formats.qa import read_qa
    from chronolens.errors import ChronolensError
    from chronolens.evaluation.qa import (
        as_open_ended,
        encoder_answerer,
        format_qa_report,
        resolve_videos,
        run_qa_bench,
        timechat_answerer,
    )
    from chronolens.progress import show_progress

    progress = show_progress(not args.quiet)
    dataset = None
    if args.data and Path(args.data).is_file():
        items = read_qa(args.data, answers=args.answers)
        base = Path(args.videos) if args.videos else Path(args.data).parent
    else:
        if args.answers or args.videos:
            raise ChronolensError("--answers and --videos go with a QA json given as --data")
        dataset, items, base = _synth_items(args, progress)
    if not items:
        raise ChronolensError(f"no QA items in {args.data or base} (split {args.split})")
    items = items[: args.limit] if args.limit else items
    if args.checkpoint is not None and args.mode == "open":
        items = as_open_ended(items)
    videos = resolve_videos(items, base)
    embeddings = None
    if args.checkpoint is not None:
        from chronolens.tasks.answer import get_session

        session = get_session(args.checkpoint, device=args.device)
        answer = timechat_answerer(session, args.mode, max_new_tokens=args.max_new_tokens)
        answerer, mode = str(args.checkpoint), args.mode
    else:
        from chronolens.evaluation.classify import embed_videos

        embeddings = embed_videos(list(videos.values()), args.model, progress=progress)
        answer, answerer, mode = encoder_answerer(embeddings), args.model, "encoder"
    report = run_qa_bench(items, answer, videos, source=str(args.data or base), answerer=answerer, mode=mode,
                          progress=progress)  # fmt: skip
    if dataset is not None and not args.no_classify:
        from chronolens.evaluation.classify import run_classify_bench

        classify = run_classify_bench(
            dataset, split=args.split, model=args.model, embeddings=embeddings, progress=progress
        )
        report = dataclasses.replace(report, classify=classify)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    print(format_qa_report(report))
    if report.failures:
        print(f"unparsed answers: {len(report.failures)} (listed with --json)")
    if report.classify is not None:
        from chronolens.evaluation.classify import format_classify_report

        print()
        print(format_classify_report(report.classify))
    return 0
