"""Ingest on Ray against the single-process ingest, on the same synthesized videos, in one run.

Run ``python benchmarks/ingest_ray.py [--videos 8] [--seconds 20] [--workers 1 2] [--fps 2]``.

Writes (once per run) ``--videos`` H.264 files of ``--seconds`` s at 25 fps, 320x240, moving
noise so decoding is real work, then indexes them into a fresh library each way and prints
videos/s and frames/s for:

- ``local``: ``chronolens.index`` in this process (the encoder loaded before the clock starts),
- ``ray-N``: ``chronolens.index(..., ray=RayConfig(decode_tasks=N))`` on a local Ray runtime
  started once beforehand (its start-up time is printed apart); each run starts its own embed
  actor, which loads the encoder inside the timed part, as ``chronolens index --ray`` does.

Then the overhead of Ray on one machine (``ray-1`` wall / ``local`` wall) and the scaling curve
(``ray-N`` frames/s over ``ray-1``). The runtime is given ``max(workers) + 1`` logical CPUs so N
decode tasks and the embed actor run at once; on a machine with fewer cores they share them,
which the printed ``os.cpu_count()`` and load average say. With ``--gpu`` the embed actor asks
for one GPU (the encoder runs there) so the figures show which stage bounds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import chronolens
from chronolens.ingest import RayConfig
from chronolens.video.writer import write_video


def _synthesize(root: Path, n: int, seconds: float) -> list[Path]:
    """``n`` distinct H.264 videos of drifting noise (decoding them costs what real footage does)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        base = rng.integers(0, 256, (240 + 64, 320 + 64, 3), dtype=np.uint8)
        frames = [
            base[(k % 64) : (k % 64) + 240, (k * 3 % 64) : (k * 3 % 64) + 320]
            for k in range(int(seconds * 25))
        ]
        paths.append(write_video(root / f"v{i:03d}.mp4", frames, fps=25, codec="libx264", gop=50))
    return paths


def _run(videos: Path, library: Path, model: str, fps: float, ray: RayConfig | None) -> tuple[float, int]:
    """Index ``videos`` into a new ``library``; returns ``(wall seconds, frames embedded)``."""
    shutil.rmtree(library, ignore_errors=True)
    with chronolens.Library.open(library, model=model, sampling=chronolens.FixedFps(fps=fps)) as lib:
        if ray is None:
            _ = lib.encoder  # loaded before the clock, as the Ray actors' load is not (see docstring)
        start = time.perf_counter()
        report = chronolens.index(lib, [videos], progress=False, ray=ray)
        wall = time.perf_counter() - start
    assert not report.failed, report.failed
    return wall, report.n_frames


def main() -> None:
    """Print the table described in the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, default=2.0, help="library sampling (frames per second)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="decode tasks at once")
    parser.add_argument("--model", default="builtin:synth-clip")
    parser.add_argument("--gpu", action="store_true", help="embed actor on one GPU")
    args = parser.parse_args()

    import ray

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        _synthesize(root / "videos", args.videos, args.seconds)
        print(f"synthesized {args.videos} x {args.seconds:g} s H.264 in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        ray.init(num_cpus=max(args.workers) + 1, include_dashboard=False, log_to_driver=False)
        print(f"ray.init (local runtime, {max(args.workers) + 1} CPUs): {time.perf_counter() - t0:.1f} s")
        rows = [("local", *_run(root / "videos", root / "lib", args.model, args.fps, None))]
        for n in args.workers:
            config = RayConfig(decode_tasks=n, embed_gpus=1.0 if args.gpu else None)
            rows.append((f"ray-{n}", *_run(root / "videos", root / "lib", args.model, args.fps, config)))
        ray.shutdown()
    print(f"os.cpu_count()={os.cpu_count()} load average {os.getloadavg()[0]:.2f} (1 min) at the end")
    print(f"{'engine':<8} {'wall s':>7} {'videos/s':>9} {'frames/s':>9}")
    for name, wall, frames in rows:
        print(f"{name:<8} {wall:7.2f} {args.videos / wall:9.2f} {frames / wall:9.1f}")
    local_wall = rows[0][1]
    ray1 = next((wall for name, wall, _ in rows if name == "ray-1"), None)
    if ray1 is not None:
        print(f"Ray overhead on one machine: ray-1 / local wall = {ray1 / local_wall:.2f}")
        for name, wall, _ in rows[1:]:
            print(f"scaling {name}: {ray1 / wall:.2f}x ray-1")


if __name__ == "__main__":
    main()
