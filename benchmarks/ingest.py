"""Ingest speed: index wall time vs decode-only + embed-only, on a 10-minute 720p H.264 file.

Run ``python benchmarks/ingest.py [--minutes 10] [--video PATH] [--model-dir DIR]``. It generates
(once) the 720p H.264 file with a 2 s GOP from ``benchmarks/decode.py`` and a ViT-B/32-sized
random-init CLIP from ``benchmarks/embed.py``, then prints, in one run:

- decode-only: chronolens sampling at the library's setting (1 fps, shorter side = encoder input),
- embed-only: ``encode_images`` over those same frames, already in memory, in ingest's batch size,
- index wall: ``Library.add`` of the file into a fresh library (decode + embed + store + commit),
- the ratio index wall / (decode + embed); goal <= 1.05 (no loss from the pipeline).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import chronolens

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode import BENCH_DIR, default_video_path, make_benchmark_video, time_decode
from embed import make_vitb32_encoder_dir

GOAL_RATIO = 1.05  # index wall / (decode + embed)
INDEX_FPS = 1.0  # the library's default sampling
DEFAULT_MODEL_DIR = BENCH_DIR / "vitb32-random"


def main(argv: list[str] | None = None) -> int:
    """Print decode-only, embed-only and index wall times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=None, help="benchmark file (generated if missing)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated video")
    parser.add_argument(
        "--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="random CLIP dir (made once)"
    )
    args = parser.parse_args(argv)

    from chronolens.encoders import load_encoder
    from chronolens.ingest import IngestConfig
    from chronolens.library import Library
    from chronolens.video import FixedFps, read_frames

    video = make_benchmark_video(args.video or default_video_path(args.minutes), minutes=args.minutes)
    encoder = load_encoder(f"hf:{make_vitb32_encoder_dir(args.model_dir)}")
    batch = IngestConfig().batch_size
    print(f"video: {video} ({video.stat().st_size / 1e6:.1f} MB); encoder: {encoder.name} (D={encoder.dim})")
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")

    decode_s = time_decode(video, fps=INDEX_FPS, size=encoder.image_size)
    frames = read_frames(video, sampling=FixedFps(fps=INDEX_FPS), size=encoder.image_size)
    encoder.encode_images(frames.images[:batch])  # warm-up (first-call allocations), not timed
    t0 = time.perf_counter()
    for start in range(0, len(frames), batch):
        encoder.encode_images(frames.images[start : start + batch])
    embed_s = time.perf_counter() - t0

    with (
        tempfile.TemporaryDirectory(prefix="chronolens-ingest-bench-") as tmp,
        Library.open(Path(tmp) / "lib", encoder=encoder) as library,
    ):
        t0 = time.perf_counter()
        report = chronolens.index(library, [video], progress=False)
        index_s = time.perf_counter() - t0
    assert report.n_frames == len(frames), (report.n_frames, len(frames))

    ratio = index_s / (decode_s + embed_s)
    print(f"frames: {len(frames)} at {INDEX_FPS:g} fps, {frames.images.shape[2]}x{frames.images.shape[1]}")
    print(f"decode-only: {decode_s:8.2f} s")
    print(f"embed-only:  {embed_s:8.2f} s  ({len(frames) / embed_s:.1f} img/s)")
    print(f"index wall:  {index_s:8.2f} s")
    verdict = "ok" if ratio <= GOAL_RATIO else "above goal"
    print(f"index wall / (decode + embed) = {ratio:.3f}  (goal <= {GOAL_RATIO}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
