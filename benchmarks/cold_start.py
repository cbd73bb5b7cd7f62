"""Cold start: whole-process wall time of ``chronolens search|ground|highlights`` on a big library.

Run ``python benchmarks/cold_start.py [--videos 10000] [--frames 100] [--runs 5] [--library DIR] [--json]``.

It builds (once; reused when ``--library DIR`` already holds one of the same size) a library of
``--videos`` synthetic videos x ``--frames`` frame embeddings for ``builtin:synth-clip`` (D = 128,
1 fps), with near-duplicate scenes like real footage: each video is a few scenes, each scene a
shared "concept" vector plus a per-video offset, each frame that plus small noise. It writes
through the library's write path (``Library.writing()`` + ``EmbeddingStore.save`` +
``Catalog.upsert_indexed``, as ``chronolens.ingest`` commits a decoded video); one video also
gets a (placeholder) file on disk so that ``ground`` and ``highlights`` find it in the library.
One untimed search first builds the approximate frame index (above ``AnnConfig.min_frames``).

Then it times fresh processes, round-robin (each round runs every command once, so drift in the
machine's speed hits all of them alike), ``--runs`` rounds after one untimed warm-up round:

- ``python -c "import torch"`` and ``python -c "import chronolens"``: the floors,
- ``chronolens search "..." --library DIR`` (goal: <= 1.5 s wall on 2 idle cores),
- ``chronolens ground VIDEO "..." --library DIR`` and ``chronolens highlights VIDEO "..." ...``
  on the library's one video with a file.

It prints min / median / max wall seconds per command and the median's ratio to the torch floor,
or one JSON object with ``--json``. The machine's load average is printed with the figures. The
timed processes run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed), as an
installed package does; the warm-up round writes the caches.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_SEARCH_S = 1.5  # whole-process `chronolens search` on 10,000 videos, 2 idle cores
MODEL = "builtin:synth-clip"
DIM = 128  # builtin:synth-clip's embedding width
QUERY = "a red circle moves to the left"
CONCEPTS = 512  # shared scene vectors: scenes of different videos are near-duplicates of these
SCENES = (2, 6)  # scenes per video, [low, high)
SCENE_OFFSET = 0.35  # per-video departure of a scene from its concept (before normalising)
FRAME_NOISE = 0.08  # per-frame noise around the scene vector
VIDEO_DIR = "videos"  # under the benchmark's work directory: the one placeholder video file


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_video(rng: np.random.Generator, concepts: np.ndarray, frames: int) -> np.ndarray:
    """``(frames, DIM)`` unit float32 rows: a few near-duplicate scenes, each a run of noisy frames."""
    n_scenes = int(rng.integers(*SCENES))
    cuts = np.sort(rng.choice(np.arange(1, frames), size=min(n_scenes - 1, frames - 1), replace=False))
    owners = np.searchsorted(cuts, np.arange(frames), side="right")  # (frames,) scene of each frame
    picked = concepts[rng.integers(0, len(concepts), size=n_scenes)]
    scenes = _unit(picked + SCENE_OFFSET * rng.standard_normal(picked.shape) / np.sqrt(DIM))
    noise = FRAME_NOISE * rng.standard_normal((frames, DIM)) / np.sqrt(DIM)
    return _unit(scenes[owners] + noise)


def write_library(root: Path, video_dir: Path, *, videos: int, frames: int, seed: int) -> float:
    """Create the library at ``root`` with ``videos`` x ``frames`` synthetic embeddings.

    The one place the benchmark writes a library: switch it to ``Library.add_features`` once that
    public path exists.

    Returns:
        Seconds it took.
    """
    from chronolens.library import Library
    from chronolens.library.store import EmbeddingStore

    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    concepts = _unit(rng.standard_normal((CONCEPTS, DIM)))
    timestamps = np.arange(frames, dtype=np.float64)  # 1 fps
    with Library.open(root, model=MODEL) as lib, lib.writing() as (catalog, store):
        for i in range(videos):
            path = str(video_dir / f"v{i:06d}.mp4")
            content_hash = hashlib.sha256(path.encode()).hexdigest()
            name = EmbeddingStore.file_name(path, content_hash)
            store.save(name, synthetic_video(rng, concepts, frames), timestamps)
            size, sha = store.checksum(name) or (0, "")
            catalog.upsert_indexed(
                path=path,
                size=1,
                mtime_ns=0,
                content_hash=content_hash,
                duration=float(frames),
                fps=1.0,
                codec="h264",
                width=96,
                height=96,
                n_frames=frames,
                embeddings=name,
                embeddings_size=size,
                embeddings_sha256=sha,
            )
            if i % 1000 == 999:
                print(f"  wrote {i + 1}/{videos} videos", file=sys.stderr)
    return time.perf_counter() - started


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "chronolens", *args]


def _environment() -> dict[str, str]:
    """The timed processes' environment: ours, with bytecode caching on (as in an installed package).

    ``PYTHONDONTWRITEBYTECODE`` (set on some build machines) would make every fresh process compile
    chronolens' sources again; pip compiles them at install time, so users never pay that.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _wall(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=_environment())
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def prepare(work: Path, *, videos: int, frames: int, seed: int) -> dict[str, float]:
    """Build the library (unless it is there already) and its frame index; seconds of each step."""
    root = work / "library"
    video_dir = work / VIDEO_DIR
    video_dir.mkdir(parents=True, exist_ok=True)
    (video_dir / "v000000.mp4").touch()  # ground/highlights need a file; its embeddings are stored
    marker = work / "built.json"
    wanted = {"videos": videos, "frames": frames, "seed": seed}
    steps = {"build_s": 0.0, "first_search_s": 0.0}
    if not (marker.is_file() and json.loads(marker.read_text()) == wanted):
        if root.exists():
            raise SystemExit(f"{root} holds a library of another size; remove it or pass another --library")
        print(f"building {videos} videos x {frames} frames in {root} ...", file=sys.stderr)
        steps["build_s"] = write_library(root, video_dir, videos=videos, frames=frames, seed=seed)
        marker.write_text(json.dumps(wanted))
    # The first search builds and saves the approximate frame index (untimed in the figures below).
    steps["first_search_s"] = _wall(_cli("search", QUERY, "--library", str(root)))
    return steps


def commands(work: Path) -> dict[str, list[str]]:
    """Name -> command line of everything timed."""
    library = str(work / "library")
    video = str(work / VIDEO_DIR / "v000000.mp4")
    return {
        "import torch": [sys.executable, "-c", "import torch"],
        "import chronolens": [sys.executable, "-c", "import chronolens"],
        "search": _cli("search", QUERY, "--library", library),
        "ground": _cli("ground", video, QUERY, "--library", library),
        "highlights": _cli("highlights", video, QUERY, "--library", library),
    }


def time_commands(cmds: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall seconds of ``runs`` rounds (after one untimed warm-up round), each round every command."""
    for command in cmds.values():
        _wall(command)
    walls: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, command in cmds.items():
            walls[name].append(_wall(command))
    return walls


def main(argv: list[str] | None = None) -> int:
    """Build, time and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000, help="videos in the library (default 10,000)")
    parser.add_argument("--frames", type=int, default=100, help="frames per video (default 100)")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--library", type=Path, help="work dir to build into / reuse (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.videos < 1 or args.frames < 2 or args.runs < 1:
        parser.error("--videos and --runs must be >= 1, --frames >= 2")

    with tempfile.TemporaryDirectory(prefix="chronolens-cold-") as tmp:
        work = args.library.expanduser().absolute() if args.library is not None else Path(tmp)
        steps = prepare(work, videos=args.videos, frames=args.frames, seed=args.seed)
        walls = time_commands(commands(work), args.runs)
    load = os.getloadavg()
    spread = {name: (min(w), statistics.median(w), max(w)) for name, w in walls.items()}
    figures = {
        name: {"min_s": lo, "median_s": mid, "max_s": hi, "runs": walls[name]}
        for name, (lo, mid, hi) in spread.items()
    }
    out = {
        "videos": args.videos,
        "frames": args.videos * args.frames,
        "cores": os.cpu_count(),
        "load_avg": [round(x, 2) for x in load],
        **{k: round(v, 2) for k, v in steps.items()},
        "commands": figures,
        "goal_search_s": GOAL_SEARCH_S,
        "bytecode_cache": True,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    torch_median = spread["import torch"][1]
    print(
        f"{args.videos} videos x {args.frames} frames ({out['frames']} frames), {out['cores']} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; build {steps['build_s']:.1f} s, "
        f"first search (builds the frame index) {steps['first_search_s']:.1f} s"
    )
    print(f"{'command':<18} {'min s':>7} {'median s':>9} {'max s':>7} {'/ import torch':>15}")
    for name, (lo, mid, hi) in spread.items():
        print(f"{name:<18} {lo:7.2f} {mid:9.2f} {hi:7.2f} {mid / torch_median:15.2f}")
    search_median = spread["search"][1]
    verdict = "meets" if search_median <= GOAL_SEARCH_S else "misses"
    print(f"search median {search_median:.2f} s {verdict} the {GOAL_SEARCH_S} s goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
