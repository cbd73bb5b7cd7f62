"""Search at archive scale: build a synthetic library of N frames, then time ``chronolens.search``.

The library is written through the public path researchers use for precomputed features
(``Library.add_features`` inside one ``Library.writing()`` block), with near-duplicate frames
like real footage: each video is a few scenes, each scene a slow random walk around a scene
vector, and scene vectors are drawn around shared topics, so many videos look alike. Like real
CLIP-family embeddings the vectors have a low effective dimension (``RANK`` = 64 directions of
the 512 carry the structure, plus a little isotropic noise). Queries come from a stub text
encoder (a query's text names a row of a query matrix): a *strong* set (a perturbed scene of one
video, cosine ~0.6) and a *weak* set (cosine ~0.35 to a scene of one video; the video's
same-topic neighbours score nearly as well).

Printed for the library: build time (features added, then the frame table and FAISS index),
disk, and, measured in a fresh process that opens the library and only searches (its peak
resident memory is ``rss_mb``): the cold first query (open + first search), warm p50/p99 of
``chronolens.search`` (top-10 videos with moments), FAISS alone (k = candidate frames) and a
brute-force numpy baseline over every frame (fp32 in memory, pooled per video) in the same run,
and video recall@10 against the exact pooled ranking, per query set.

Usage::

    python benchmarks/search.py --frames 100000
    python benchmarks/search.py --frames 1000000 --json
    python benchmarks/search.py --10m            # 10M frames (needs ~12 GB of disk, ~25 GB RAM peak)
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import chronolens
from chronolens.library import Library
from chronolens.tasks.retrieval import pool_by_owner

DIM = 512
FRAMES_PER_VIDEO = 100
TOPICS = 200  # shared scene topics (videos of one topic look alike)
RANK = 64  # effective dimension: real CLIP-family embeddings put most variance in a few dozen directions
RESIDUAL = 0.15  # isotropic full-dimensional noise added to every frame (relative to a unit vector)
SCENES = (3, 7)  # scenes per video, [lo, hi)
QUERIES_PER_SET = 100
STUB_NAME = "bench:stub-text"


class StubEncoder:
    """Encodes text ``"q<i>"`` as row i of a fixed query matrix (no model; images unsupported)."""

    def __init__(self, queries: np.ndarray) -> None:
        self.name = STUB_NAME
        self.dim = int(queries.shape[1])
        self.image_size = 32
        self.weights_sha256 = "0" * 64
        self._queries = queries

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError("the benchmark's stub encoder embeds no images")

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._queries[[int(t[1:]) for t in texts]]


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _mix(base: np.ndarray, cosine: float, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors at about ``cosine`` to the unit rows of ``base`` (random directions)."""
    noise = _unit(rng.normal(size=base.shape))
    return _unit(cosine * base + np.sqrt(1 - cosine**2) * noise)


def _video(rng: np.random.Generator, topics: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One video's frames ``(F, D)`` and the scene vectors ``(S, RANK)`` they drift around.

    Scenes and their slow drift live in a ``RANK``-dimensional subspace (``basis``, ``(RANK, D)``);
    each frame also gets a little isotropic noise in all D dimensions.
    """
    n_scenes = int(rng.integers(*SCENES))
    scenes = _mix(topics[rng.integers(0, TOPICS, n_scenes)], 0.7, rng)
    cuts = np.sort(rng.choice(np.arange(1, FRAMES_PER_VIDEO), n_scenes - 1, replace=False))
    which = np.searchsorted(cuts, np.arange(FRAMES_PER_VIDEO), side="right")
    drift = np.cumsum(rng.normal(scale=0.05 / np.sqrt(RANK), size=(FRAMES_PER_VIDEO, RANK)), axis=0)
    residual = rng.normal(scale=RESIDUAL / np.sqrt(DIM), size=(FRAMES_PER_VIDEO, DIM))
    return _unit(_unit(scenes[which] + drift) @ basis + residual), scenes


def build(root: Path, n_videos: int, seed: int) -> tuple[dict[str, float], np.ndarray]:
    """Write the library; return timings and the query matrix (strong then weak)."""
    rng = np.random.default_rng(seed)
    topics = _unit(rng.normal(size=(TOPICS, RANK)))
    basis = np.linalg.qr(rng.normal(size=(DIM, RANK)))[0].T.astype(np.float32)  # (RANK, D) orthonormal rows
    strong: list[np.ndarray] = []
    ts = np.arange(FRAMES_PER_VIDEO, dtype=np.float64) + 0.5
    start = time.perf_counter()
    picks = set(rng.choice(n_videos, QUERIES_PER_SET, replace=False).tolist())
    weak_picks = set(rng.choice(n_videos, QUERIES_PER_SET, replace=False).tolist())
    weak: list[np.ndarray] = []
    queries_placeholder = np.zeros((1, DIM), np.float32)
    with Library.open(root, encoder=StubEncoder(queries_placeholder)) as lib, lib.writing():
        for v in range(n_videos):
            frames, scenes = _video(rng, topics, basis)
            if v in picks:
                strong.append(_mix(scenes[rng.integers(0, len(scenes))][None], 0.6, rng)[0])
            if v in weak_picks:
                weak.append(_mix(scenes[rng.integers(0, len(scenes))][None], 0.35, rng)[0])
            lib.add_features(root / "videos" / f"v{v:07d}.mp4", ts, frames, duration=float(FRAMES_PER_VIDEO))
    added = time.perf_counter() - start
    with Library.open(root, encoder=StubEncoder(queries_placeholder)) as lib:
        lib.search_view()  # the frame table and the approximate index
    indexed = time.perf_counter() - start - added
    queries = (np.concatenate([np.stack(strong), np.stack(weak)]) @ basis).astype(np.float32)
    return {"add_s": added, "table_index_s": indexed, "build_s": added + indexed}, queries


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(root: Path, queries_path: Path, out_path: Path, repeats: int) -> None:
    """(Run in a fresh process.) Cold query, warm latencies, FAISS alone; results to ``out_path``."""
    queries = np.load(queries_path)
    t0 = time.perf_counter()
    lib = Library.open(root, encoder=StubEncoder(queries), create=False)
    first = chronolens.search(lib, "q0", top_k=10)
    cold_ms = (time.perf_counter() - t0) * 1e3
    assert first, "the library answered nothing"
    found: list[list[str]] = []
    warm: list[float] = []
    for rep in range(repeats):
        for i in range(queries.shape[0]):
            t = time.perf_counter()
            hits = chronolens.search(lib, f"q{i}", top_k=10)
            warm.append((time.perf_counter() - t) * 1e3)
            if rep == 0:
                found.append([h.video for h in hits])
    view = lib.search_view()
    faiss_ms: list[float] = []
    if view.index is not None:
        k = min(lib.ann_config.candidate_frames, view.index.ntotal)
        for q in queries:
            t = time.perf_counter()
            view.index.search(q[None], k)
            faiss_ms.append((time.perf_counter() - t) * 1e3)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    kb = {key: float(status.get(key, "0 kB").split()[0]) for key in ("RssAnon", "RssFile")}
    out_path.write_text(
        json.dumps(
            {
                "cold_ms": cold_ms,
                "warm_ms": warm,
                "faiss_ms": faiss_ms,
                "rss_mb": rss_mb,
                "rss_anon_mb": kb["RssAnon"] / 1024,  # the process's own memory
                "rss_file_mb": kb["RssFile"] / 1024,  # mapped frame shards in the page cache (reclaimable)
                "found": found,
            }
        )
    )


def exact_baseline(root: Path, queries: np.ndarray) -> tuple[list[list[str]], list[float]]:
    """Brute force over every frame (fp32 in memory): the exact top-10 videos and its latency."""
    with Library.open(root, encoder=StubEncoder(queries), create=False) as lib:
        view = lib.search_view()
        dense = view.table.dense()
        owners = view.table.owners
        paths = {vid: r.path for vid, r in view.records.items()}
        truth, times = [], []
        for q in queries:
            t = time.perf_counter()
            ids, sums, counts = pool_by_owner(dense @ q, owners, top_k=5)
            scores = sums / counts
            best = np.lexsort((ids, -scores))[:10]
            times.append((time.perf_counter() - t) * 1e3)
            truth.append([paths[int(ids[b])] for b in best])
    return truth, times


def _recall(found: list[list[str]], truth: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


def run(frames: int, *, seed: int, repeats: int, keep: Path | None) -> dict[str, object]:
    n_videos = max(1, frames // FRAMES_PER_VIDEO)
    work = Path(tempfile.mkdtemp(prefix="chronolens-search-bench-"))
    root = keep if keep is not None else work / "lib"
    try:
        if keep is not None and root.exists():
            shutil.rmtree(root)
        timings, queries = build(root, n_videos, seed)
        disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        queries_path, out_path = work / "queries.npy", work / "measure.json"
        np.save(queries_path, queries)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(root),
                str(queries_path),
                str(out_path),
                str(repeats),
            ],
            check=True,
        )
        measured = json.loads(out_path.read_text())
        truth, numpy_ms = exact_baseline(root, queries)
        found = measured["found"]
        n = QUERIES_PER_SET
        warm = measured["warm_ms"]
        return {
            "frames": n_videos * FRAMES_PER_VIDEO,
            "videos": n_videos,
            "dim": DIM,
            "build_s": round(timings["build_s"], 1),
            "add_s": round(timings["add_s"], 1),
            "table_index_s": round(timings["table_index_s"], 1),
            "disk_mb": round(disk / 2**20, 1),
            "rss_mb": round(measured["rss_mb"], 1),
            "rss_anon_mb": round(measured["rss_anon_mb"], 1),
            "rss_file_mb": round(measured["rss_file_mb"], 1),
            "cold_ms": round(measured["cold_ms"], 1),
            "p50_ms": round(statistics.median(warm), 2),
            "p99_ms": round(_percentile(warm, 99), 2),
            "faiss_p50_ms": round(statistics.median(measured["faiss_ms"]), 2)
            if measured["faiss_ms"]
            else None,
            "numpy_p50_ms": round(statistics.median(numpy_ms), 2),
            "recall_at_10": round(_recall(found, truth), 4),
            "recall_at_10_strong": round(_recall(found[:n], truth[:n]), 4),
            "recall_at_10_weak": round(_recall(found[n:], truth[n:]), 4),
            "queries": len(found),
            "repeats": repeats,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, action="append", help="library size in frames (repeatable)")
    parser.add_argument("--10m", dest="ten_m", action="store_true", help="also run 10,000,000 frames")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the query sets (warm)")
    parser.add_argument("--keep", type=Path, help="build the library here and keep it (one size only)")
    parser.add_argument("--json", action="store_true", help="one JSON object per size on stdout")
    parser.add_argument("--measure", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        root, queries, out, repeats = args.measure
        measure(Path(root), Path(queries), Path(out), int(repeats))
        return
    logging.basicConfig(level=logging.WARNING)
    sizes = list(args.frames or [100_000, 1_000_000])
    if args.ten_m:
        sizes.append(10_000_000)
    for frames in sizes:
        result = run(frames, seed=args.seed, repeats=args.repeats, keep=args.keep)
        if args.json:
            print(json.dumps(result))
        else:
            print(
                " | ".join(
                    [
                        f"{result['frames']:>10,} frames, {result['videos']:,} videos",
                        f"build {result['build_s']} s (add {result['add_s']}, "
                        f"table+index {result['table_index_s']})",
                        f"disk {result['disk_mb']} MB",
                        f"rss {result['rss_mb']} MB "
                        f"(anon {result['rss_anon_mb']}, file {result['rss_file_mb']})",
                        f"cold {result['cold_ms']} ms",
                        f"warm p50 {result['p50_ms']} ms p99 {result['p99_ms']} ms",
                        f"faiss {result['faiss_p50_ms']} ms",
                        f"numpy {result['numpy_p50_ms']} ms",
                        f"recall@10 strong {result['recall_at_10_strong']} "
                        f"weak {result['recall_at_10_weak']}",
                    ]
                )
            )


if __name__ == "__main__":
    main()
