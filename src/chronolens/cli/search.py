"""``chronolens search "text"``: the videos and moments of a library that match a query."""

from __future__ import annotations

import argparse
import json
import os
from typing import TYPE_CHECKING, Any

from chronolens.cli.index import add_library_argument
from chronolens.errors import UsageError
from chronolens.timebase import clock

if TYPE_CHECKING:
    from chronolens.tasks.search import SearchResult

HELP = "search a library by text: best videos and the moments inside them"
MODALITIES = ("visual", "speech", "both")  # --modality choices
DEFAULT_SPEECH_GATE = 0.3  # chronolens.tasks.fusion.FusionConfig.speech_gate (literal: light --help)


def _gate(text: str) -> float | None:
    """``--speech-gate``: a cosine in [0, 1], or ``off``."""
    if text == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a cosine in [0, 1] or 'off', got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a cosine in [0, 1] or 'off', got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def require_query(query: str, *, hint: str = "") -> str:
    """The query with surrounding whitespace removed; an empty one is a usage error (exit 2).

    An empty query matches everything equally, so its "results" would be noise ranked as if
    they meant something (shared with ``ground`` and ``highlights``).

    Args:
        query: the query as typed.
        hint: what to do instead, appended to the message.
    """
    text = query.strip()
    if not text:
        raise UsageError(f"the query is empty: say what to look for, e.g. 'a red circle'{hint}")
    return text


def add_query_arguments(parser: argparse.ArgumentParser, *, like: str) -> None:
    """The query, library and result-size options shared by ``search`` and ``export``.

    Args:
        parser: the subcommand's parser.
        like: the command whose query splitting this matches, named in ``--no-decompose``'s help.
    """
    parser.add_argument("query", help="what to look for, in plain language")
    add_library_argument(parser)
    parser.add_argument("--top-k", type=positive_int, default=10, help="videos returned (default 10)")
    parser.add_argument("--moments", type=positive_int, default=3, help="moments per video (default 3)")
    parser.add_argument(
        "--no-decompose",
        dest="decompose",
        action="store_false",
        help=f"ground 'A then B' / 'A while B' as one query instead of splitting it (as `{like}` does)",
    )


def add_snap_argument(parser: argparse.ArgumentParser) -> None:
    """``--snap shots`` (shared with ``ground``): moment edges moved onto shot boundaries."""
    parser.add_argument(
        "--snap",
        choices=("shots",),
        default=None,
        help="move each moment's edges onto the nearest shot boundary within 1 s (the library's stored "
        "shots, else cuts found in its frame embeddings; see `chronolens shots`)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens search``."""
    add_query_arguments(parser, like="ground")
    parser.add_argument(
        "--saliency", action="store_true", help="also return each hit's per-2 s-clip saliency of the query"
    )
    add_snap_argument(parser)
    parser.add_argument(
        "--modality",
        choices=MODALITIES,
        default=None,
        help="what to search: visual (frames), speech (transcripts: words and meaning) or both, fused "
        "by reciprocal rank (default: both when the library has transcripts, see `index --speech`; "
        "else visual)",
    )
    parser.add_argument(
        "--text-encoder",
        default=None,
        metavar="NAME",
        help="sentence encoder of semantic speech search: builtin:minilm (default; "
        "chronolens[speech,models]) or st:<dir or hub id>; without it installed, speech search is "
        "lexical only",
    )
    parser.add_argument(
        "--speech-gate",
        type=_gate,
        default=DEFAULT_SPEECH_GATE,
        metavar="COSINE",
        help=f"with --modality both: speech leads the ranking when its best segment means the query at "
        f"least this much (sentence-embedding cosine, default {DEFAULT_SPEECH_GATE}), else the frames "
        "lead; 'off': plain reciprocal-rank fusion (see chronolens.tasks.fusion)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help='print {"query", "modality", "results": [{"video", "score", "duration", "modality", '
        '"moments": [[start, end, score]](, "saliency": [...]), ("moment_modalities", "said")}]}',
    )


def run(args: argparse.Namespace) -> int:
    """Search and print the results."""
    require_query(args.query)
    from chronolens.library import default_library_path

    modality = args.modality or _default_modality(args.library or default_library_path())
    if modality != "visual":
        return _run_spoken(args, modality)
    import chronolens

    results = chronolens.search(
        args.library or default_library_path(),
        args.query,
        top_k=args.top_k,
        moments_per_video=args.moments,
        decompose=args.decompose,
        saliency=args.saliency,
    )
    if args.snap == "shots" and results:
        results = _snapped(args.library or default_library_path(), results)
    if args.json:
        if args.modality is None:  # a library without transcripts: the JSON of before --modality existed
            print(json.dumps({"query": args.query, "results": [r.to_json() for r in results]}))
            return 0
        rows = [{**r.to_json(), "modality": "visual"} for r in results]
        print(json.dumps({"query": args.query, "modality": "visual", "results": rows}))
        return 0
    if not results:
        print("no results (is the library empty? add videos with `chronolens index PATH`)")
        return 0
    width = max(len("duration"), *(len(clock(r.duration)) for r in results))
    print(f"{'#':>3}  {'score':>6}  {'duration':>{width}}  video / moments")
    for rank, result in enumerate(results, 1):
        print(f"{rank:>3}  {result.score:6.3f}  {clock(result.duration):>{width}}  {result.video}")
        for m in result.moments:
            print(f"{'':>{13 + width}}  {clock(m.start)} - {clock(m.end)}  ({m.score:.3f})")
    return 0


def _snapped(library: str | os.PathLike[str], results: list[SearchResult]) -> list[SearchResult]:
    """``results`` with every moment's edges on the shot boundaries of its video (``--snap shots``)."""
    import dataclasses

    import chronolens
    from chronolens.tasks.shots import library_shots, snap_to_shots

    with chronolens.Library.open(library, create=False, read_only=True) as lib:
        return [
            dataclasses.replace(
                r, moments=snap_to_shots(r.moments, library_shots(lib, r.video), duration=r.duration)
            )
            for r in results
        ]


def _default_modality(library: str | os.PathLike[str]) -> str:
    """``both`` when the library holds transcripts, else ``visual``."""
    import chronolens
    from chronolens.library.transcripts import has_transcripts

    if not chronolens.Library.exists(library):
        return "visual"  # the visual path says what is wrong with the library
    with chronolens.Library.open(library, create=False, read_only=True) as lib:
        return "both" if has_transcripts(lib.catalog) else "visual"


def _run_spoken(args: argparse.Namespace, modality: str) -> int:
    """``--modality speech|both``: spoken hits, fused with visual ones for ``both``."""
    import chronolens
    from chronolens.encoders.sentence import optional_text_encoder
    from chronolens.library import default_library_path
    from chronolens.tasks.fusion import FusionConfig, fuse
    from chronolens.tasks.speech_search import search_speech

    encoder = optional_text_encoder(args.text_encoder)
    with chronolens.Library.open(args.library or default_library_path(), create=False) as library:
        spoken = search_speech(
            library,
            args.query,
            mode="both" if encoder is not None else "lexical",
            text_encoder=encoder,
            top_k=args.top_k if modality == "speech" else 2 * args.top_k,
            moments_per_video=args.moments,
        )
        visual = (
            chronolens.search(
                library,
                args.query,
                top_k=2 * args.top_k,
                moments_per_video=args.moments,
                decompose=args.decompose,
            )
            if modality == "both"
            else []
        )
    if args.snap == "shots" and visual:
        visual = _snapped(args.library or default_library_path(), visual)
    config = FusionConfig(speech_gate=args.speech_gate)
    fused = fuse(visual, spoken, config=config, top_k=args.top_k, moments_per_video=args.moments)
    if modality == "speech":  # the spoken ranking with its own scores (BM25 / cosine / RRF)
        rows: list[dict[str, Any]] = [{**r.to_json(), "modality": "speech"} for r in spoken[: args.top_k]]
        for row in rows:
            row["moment_modalities"] = ["speech"] * len(row["moments"])
    else:
        rows = [r.to_json() for r in fused]
    if args.json:
        print(json.dumps({"query": args.query, "modality": modality, "results": rows}))
        return 0
    if not rows:
        print("no results (index transcripts with `chronolens index PATH --speech`)")
        return 0
    print(f"{'#':>3}  {'score':>7}  {'found by':<8}  video / moments")
    for rank, row in enumerate(rows, 1):
        print(f"{rank:>3}  {row['score']:7.4f}  {row['modality']:<8}  {row['video']}")
        for (start, end, score), kind, said in zip(
            row["moments"], row["moment_modalities"], row["said"], strict=True
        ):
            words = f'  "{said}"' if said else ""
            print(f"{'':>23}  {clock(start)} - {clock(end)}  ({score:.3f}, {kind}){words}")
    return 0
