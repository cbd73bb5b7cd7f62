"""``chronolens ground VIDEO "query"``: when does something happen in one video."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from chronolens.cli.search import positive_int
from chronolens.timebase import clock

HELP = "find when a query happens in one video (training-free grounding, composite queries too)"

DEFAULT_MODEL = "builtin:synth-clip"  # encoder used for a video outside any library


def add_video_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``VIDEO``, ``--library`` and ``--model`` (shared with ``chronolens highlights``)."""
    parser.add_argument("video", help="video file (its stored embeddings are used when it is in the library)")
    parser.add_argument("--library", help="library dir (default: $CHRONOLENS_LIBRARY or ./.chronolens)")
    parser.add_argument("--model", help=f"encoder for a video not in the library (default {DEFAULT_MODEL})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens ground``."""
    add_video_source_arguments(parser)
    parser.add_argument("query", help="what to look for; 'A then B' / 'A while B' are split")
    parser.add_argument("--top-k", type=positive_int, default=5, help="windows printed (default 5)")
    parser.add_argument("--json", action="store_true", help="print the GroundingResult as JSON")


def load_video(args: argparse.Namespace) -> tuple[Any, Any, float, Any]:
    """Frame embeddings (T, D), timestamps (T,), duration and encoder of ``args.video``.

    A video already in the library uses its stored embeddings; any other is decoded and embedded
    now (nothing is written).
    """
    from chronolens.errors import ChronolensError
    from chronolens.library import Library, default_library_path

    path = Path(args.video).expanduser().resolve()
    if not path.is_file():
        raise ChronolensError(f"no such video file: {path}")
    lib_path = Path(args.library) if args.library else default_library_path()
    if Library.exists(lib_path) and args.model is None:
        with Library.open(lib_path, create=False) as lib:
            for record in lib.videos():
                if Path(record.path).resolve() == path and record.status == "indexed":
                    emb, ts = lib.frame_embeddings(str(path))
                    return emb, ts, float(record.duration), lib.encoder
    return _embed_now(path, args.model or DEFAULT_MODEL)


def _embed_now(path: Path, model: str) -> tuple[Any, Any, float, Any]:
    import tempfile

    from chronolens.library import Library

    with (
        tempfile.TemporaryDirectory(prefix="chronolens-ground-") as tmp,
        Library.open(Path(tmp) / "lib", model=model) as lib,
    ):
        lib.add([str(path)], progress=False)
        record = next((r for r in lib.videos() if r.status == "indexed"), None)
        if record is None:
            from chronolens.errors import DecodeError

            raise DecodeError(path, "no frames could be indexed")
        emb, ts = lib.frame_embeddings(str(path))
        return emb.copy(), ts.copy(), float(record.duration), lib.encoder


def run(args: argparse.Namespace) -> int:
    """Ground the query and print the windows."""
    from chronolens.tasks.ground.decompose import decompose
    from chronolens.tasks.ground.tfvtg import ground_query

    emb, ts, duration, encoder = load_video(args)
    parts = decompose(args.query)
    text = encoder.encode_texts(parts.parts)  # (P, D)
    relation = parts.relation if parts.relation != "single" else "sequential"
    result = ground_query(emb, ts, duration, text, relation=relation, top_k=args.top_k)
    if args.json:
        print(json.dumps({"video": str(args.video), "query": args.query, **result.to_json()}))
        return 0
    if parts.relation != "single":
        print(f"{parts.relation}: " + " | ".join(parts.parts))
    for rank, m in enumerate(result.windows, 1):
        print(f"{rank:>3}  {clock(m.start)} - {clock(m.end)}  ({m.score:.3f})")
    return 0
