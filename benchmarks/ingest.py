"""Ingest speed: index wall vs decode-alone + embed-alone, and a no-op re-index of N videos.

Run ``python benchmarks/ingest.py [--minutes 2] [--model builtin:synth-clip] [--noop-videos 1000]``.

The file part generates (once) a 720p H.264 file with a 2 s GOP from ``benchmarks/decode.py``
and, unless ``--model`` names another encoder, a ViT-B/32-sized random-init CLIP from
``benchmarks/embed.py``, then prints, in one run and on a warm page cache:

- decode-alone: chronolens sampling at the library's setting (1 fps, shorter side = encoder input),
- embed-alone: ``encode_images`` over those same frames, already in memory, in ingest's batch size,
- index wall: ``chronolens.index`` of the file into a fresh library (decode + embed + store +
  commit; the encoder is already loaded, as ``Library.open(encoder=...)`` hands it over),
- the ratio index wall / (decode + embed); goal <= 1.05 (no loss from the pipeline), and the
  parts of the gap that are measured apart: the whole-file content hash and the probe.

The three are measured in ``--repeats`` interleaved rounds (a load change on a shared machine
hits all three) and the best of each is compared. ``--cli`` also times ``chronolens index FILE``
into a new library from a fresh process, which adds the imports and the model load.

``--profile N`` also prints the top N functions (cumulative) of a cProfile of the index call.

The no-op part (``--noop-videos N``) writes N tiny distinct videos (lossless, 2 s, 32x48), indexes
them once, then times, in the same run:

- the in-process no-op ``chronolens.index`` (library already open, encoder loaded),
- the whole-process CLI no-op ``chronolens index DIR --library L`` (best of ``--cli-runs``), next
  to ``python -c "import chronolens.cli.main"`` as the floor; goal <= 2 s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import chronolens

sys.path.insert(0, str(Path(__file__).resolve().parent))

from decode import BENCH_DIR, default_video_path, make_benchmark_video, time_decode
from embed import make_vitb32_encoder_dir

GOAL_RATIO = 1.05  # index wall / (decode + embed)
GOAL_NOOP_S = 2.0  # CLI no-op re-index of 1,000 unchanged videos
INDEX_FPS = 1.0  # the library's default sampling
DEFAULT_MODEL_DIR = BENCH_DIR / "vitb32-random"
NOOP_SECONDS = 2  # length of each tiny no-op video
NOOP_FPS = 5  # its frame rate
NOOP_SIZE = (32, 48)  # its (height, width)


def _make_video(path: Path, minutes: float) -> Path:
    """The benchmark file: ``decode.make_benchmark_video`` (ffmpeg CLI), or the same through PyAV.

    Without an ``ffmpeg`` binary the file is encoded with PyAV's libx264: 720p, 30 fps, a fixed
    2 s GOP, a moving pattern with temporal noise (so every frame costs a real decode).
    """
    if shutil.which("ffmpeg") is not None or (path.exists() and path.stat().st_size > 0):
        return make_benchmark_video(path, minutes=minutes)
    from chronolens.video import write_video

    fps, gop, (height, width) = 30, 60, (720, 1280)
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0 : width * 2]
    base = np.stack([(x // 3) % 256, (y // 2) % 256, ((x + y) // 5) % 256], axis=-1).astype(np.uint8)
    noise = rng.integers(0, 7, (16, height, width, 1), np.uint8)  # temporal noise, 16 patterns

    def frames() -> object:
        for i in range(round(minutes * 60 * fps)):
            shift = (i * 7) % width  # the pattern pans 7 px per frame
            yield base[:, shift : shift + width] + noise[i % 16]

    print(f"generating {path} with PyAV (no ffmpeg binary) ...", flush=True)
    options = {"preset": "veryfast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
    return write_video(path, frames(), fps=fps, codec="libx264", gop=gop, crf=23, options=options)  # type: ignore[arg-type]


def _load(args: argparse.Namespace) -> chronolens.Encoder:
    from chronolens.encoders import load_encoder

    name = args.model if args.model is not None else f"hf:{make_vitb32_encoder_dir(args.model_dir)}"
    return load_encoder(name)


def bench_file(args: argparse.Namespace, encoder: chronolens.Encoder) -> None:
    """Index wall vs decode-alone + embed-alone on one generated file, in one run."""
    from chronolens.ingest import IngestConfig
    from chronolens.library import Library
    from chronolens.library.hashing import content_hash
    from chronolens.video import FixedFps, probe, read_frames

    video = _make_video(args.video or default_video_path(args.minutes), args.minutes)
    batch = IngestConfig().batch_size
    print(f"video: {video} ({video.stat().st_size / 1e6:.1f} MB); encoder: {encoder.name} (D={encoder.dim})")

    t0 = time.perf_counter()
    content_hash(video)  # also warms the page cache for everything after it
    hash_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    probe(video)
    probe_s = time.perf_counter() - t0
    frames = read_frames(video, sampling=FixedFps(fps=INDEX_FPS), size=encoder.image_size)
    encoder.encode_images(frames.images[:batch])  # warm-up (first-call allocations), not timed
    profiler = cProfile.Profile() if args.profile else None
    rounds: list[tuple[float, float, float]] = []
    # Rounds interleave the three measurements, so a change in the machine's load hits all three.
    for _ in range(args.repeats):
        decode_s = time_decode(video, fps=INDEX_FPS, size=encoder.image_size)
        t0 = time.perf_counter()
        for start in range(0, len(frames), batch):
            encoder.encode_images(frames.images[start : start + batch])
        embed_s = time.perf_counter() - t0
        with (
            tempfile.TemporaryDirectory(prefix="chronolens-ingest-bench-") as tmp,
            Library.open(Path(tmp) / "lib", encoder=encoder) as library,
        ):
            t0 = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            report = chronolens.index(library, [video], progress=False)
            if profiler is not None:
                profiler.disable()
            index_s = time.perf_counter() - t0
        assert report.n_frames == len(frames), (report.n_frames, len(frames))
        rounds.append((decode_s, embed_s, index_s))

    print(f"frames: {len(frames)} at {INDEX_FPS:g} fps, {frames.images.shape[2]}x{frames.images.shape[1]}")
    for i, (decode_s, embed_s, index_s) in enumerate(rounds):
        print(
            f"round {i + 1}: decode-alone {decode_s:6.2f} s, embed-alone {embed_s:6.2f} s, "
            f"index wall {index_s:6.2f} s, ratio {index_s / (decode_s + embed_s):.3f}"
        )
    decode_s, embed_s, index_s = (min(r[k] for r in rounds) for k in range(3))
    ratio = index_s / (decode_s + embed_s)
    print(f"best of {len(rounds)}: decode-alone {decode_s:.2f} s, embed-alone {embed_s:.2f} s, ", end="")
    print(f"index wall {index_s:.2f} s")
    print(f"  measured apart: content hash {hash_s:.3f} s, probe {probe_s:.3f} s")
    verdict = "ok" if ratio <= GOAL_RATIO else "above goal"
    print(f"index wall / (decode + embed), best of each = {ratio:.3f}  (goal <= {GOAL_RATIO}: {verdict})")
    if args.cli:
        _cli_file(video, encoder)
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.profile)
        print(out.getvalue())


def _cli_file(video: Path, encoder: chronolens.Encoder) -> None:
    """``chronolens index FILE`` into a new library from a fresh process (imports and model load)."""
    with tempfile.TemporaryDirectory(prefix="chronolens-ingest-cli-") as tmp:
        argv = [sys.executable, "-m", "chronolens.cli.main", "-q", "index", str(video)]
        cli_s, summary = _cli_wall([*argv, "--library", str(Path(tmp) / "lib"), "--model", encoder.name], 1)
    print(f"CLI `chronolens index FILE --library NEW` (fresh process): {cli_s:.2f} s  [{summary}]")


def _tiny_videos(folder: Path, n: int) -> list[Path]:
    """Write ``n`` tiny distinct lossless videos (once; existing ones are reused)."""
    from chronolens.video import write_video

    paths = []
    h, w = NOOP_SIZE
    for i in range(n):
        path = folder / f"{i // 100:03d}" / f"v{i:05d}.mkv"
        if not path.exists():
            color = np.array([(i * 37) % 256, (i // 7) % 256, (i * 5 + 11) % 256], np.uint8)
            frames = [np.broadcast_to(color, (h, w, 3)).copy() for _ in range(NOOP_SECONDS * NOOP_FPS)]
            write_video(path, frames, fps=NOOP_FPS, codec="ffv1")
        paths.append(path)
    return paths


def _cli_wall(argv: list[str], runs: int) -> tuple[float, str]:
    """Best whole-process wall seconds of ``argv`` over ``runs`` runs, and the last stdout."""
    best, out = float("inf"), ""
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
        best = min(best, time.perf_counter() - t0)
        out = done.stdout.strip()
    return best, out


def bench_noop(args: argparse.Namespace, encoder: chronolens.Encoder) -> None:
    """No-op re-index of ``--noop-videos`` unchanged videos: in process and as the CLI."""
    from chronolens.library import Library

    n = args.noop_videos
    folder = BENCH_DIR / f"noop-{n}"
    t0 = time.perf_counter()
    _tiny_videos(folder / "videos", n)
    print(
        f"no-op: {n} tiny videos under {folder / 'videos'} ({time.perf_counter() - t0:.1f} s to write/find)"
    )
    with tempfile.TemporaryDirectory(prefix="chronolens-noop-bench-") as tmp:
        root = Path(tmp) / "lib"
        with Library.open(root, encoder=encoder) as library:
            t0 = time.perf_counter()
            first = chronolens.index(library, [folder / "videos"], progress=False)
            print(f"  first index: {len(first.indexed)} indexed in {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            again = chronolens.index(library, [folder / "videos"], progress=False)
            noop_s = time.perf_counter() - t0
        assert len(again.unchanged) == n and not again.indexed, again
        print(f"  in-process no-op index: {noop_s:.3f} s ({noop_s / n * 1e3:.2f} ms/video)")
        floor_s, _ = _cli_wall([sys.executable, "-c", "import chronolens.cli.main"], args.cli_runs)
        cli = [
            sys.executable,
            "-m",
            "chronolens.cli.main",
            "index",
            str(folder / "videos"),
            "--library",
            str(root),
        ]
        cli_s, summary = _cli_wall(cli, args.cli_runs)
    verdict = "ok" if cli_s <= GOAL_NOOP_S else "above goal"
    print(f"  CLI no-op `chronolens index DIR --library L`: {cli_s:.2f} s (best of {args.cli_runs})")
    print(f"    {summary}")
    print(f"  floor `python -c 'import chronolens.cli.main'`: {floor_s:.2f} s")
    print(f"  CLI no-op goal <= {GOAL_NOOP_S:g} s for 1,000 videos: {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Print the file ratio and/or the no-op figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=None, help="benchmark file (generated if missing)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated video")
    parser.add_argument("--model", default=None, help="encoder name (default: a random ViT-B/32 CLIP dir)")
    parser.add_argument(
        "--model-dir", type=Path, default=DEFAULT_MODEL_DIR, help="random CLIP dir (made once)"
    )
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="print a cProfile's top N")
    parser.add_argument(
        "--noop-videos", type=int, default=0, metavar="N", help="also time a no-op of N videos"
    )
    parser.add_argument("--no-file", action="store_true", help="skip the single-file ratio")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the file figures")
    parser.add_argument("--cli", action="store_true", help="also time `chronolens index FILE` as a process")
    parser.add_argument("--cli-runs", type=int, default=3, help="CLI no-op runs (the best is shown)")
    args = parser.parse_args(argv)

    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    encoder = _load(args)
    if not args.no_file:
        bench_file(args, encoder)
    if args.noop_videos:
        bench_noop(args, encoder)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
