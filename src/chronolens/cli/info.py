"""``chronolens info``: what a library holds and how it was built."""

from __future__ import annotations

import argparse
import json
import time

from chronolens.cli.index import add_library_argument

HELP = "summarise a library: encoder, sampling, videos, frames, size"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``chronolens info``."""
    add_library_argument(parser)
    parser.add_argument("--videos", action="store_true", help="also list every video and its status")
    parser.add_argument(
        "--failed",
        action="store_true",
        help="list only the videos that failed to index, with why (implies --videos)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Print the library summary."""
    from chronolens.library import Library, default_library_path

    with Library.open(args.library or default_library_path(), create=False) as library:
        info = library.info()
        listed = args.videos or args.failed
        videos = library.videos() if listed else []
    if args.failed:
        videos = [v for v in videos if v.status == "failed"]
    if args.json:
        payload = info.to_json()
        if listed:
            payload["videos"] = [v.to_json() for v in videos]
        print(json.dumps(payload))
        return 0
    stamp = "%Y-%m-%d %H:%M:%S"
    rows = [
        ("library", info.path),
        ("encoder", f"{info.encoder} (dim {info.dim}, weights {info.weights_sha256[:12]})"),
        ("sampling", f"{info.sampling}, decoded at {info.decode_size} px shorter side"),
        ("videos", f"{info.n_indexed} indexed, {info.n_failed} failed, {info.n_missing} missing"),
        ("frames", f"{info.n_frames} ({info.total_duration / 3600:.2f} h of video)"),
        ("search", info.search_mode),
        ("disk", f"{info.disk_bytes / 1e6:.1f} MB"),
        (
            "built by",
            f"chronolens {info.chronolens_version}, PyAV {info.pyav_version}, FFmpeg {info.ffmpeg_version}",
        ),
        ("created", time.strftime(stamp, time.localtime(info.created))),
        ("updated", time.strftime(stamp, time.localtime(info.updated))),
    ]
    for key, value in rows:
        print(f"{key:>9}: {value}")
    for video in videos:
        detail = f"  {video.error}" if video.error else f"  {video.duration:.1f} s, {video.n_frames} frames"
        print(f"  [{video.status}] {video.path}{detail}")
    return 0
