"""Grounding latency (and, when the builtin model exists, quality) of chronolens' TFVTG grounder.

1. Latency per query of ``chronolens.tasks.ground.tfvtg.ground`` (default ``GroundingConfig``) for
   T = 100, 600, 3,600, 36,000 and 360,000 samples (100 s, the short curve ``chronolens.search``
   grounds per hit; 10 min, 1 h, 10 h, 100 h at 1 fps), median of
   ``--repeats``, next to the naive baseline measured in the same run: scoring *every* (i, j) pair
   of the static score (mean inside minus mean outside) by prefix sums in row blocks, no
   transition search, then its argmax; and the ratio naive / tfvtg. The baseline is skipped where
   it needs more than ``--naive-max-pairs`` pairs.
2. Quality: ``run_synth_bench`` on a synthetic split with the registered finders "simple"
   (``find_moments``) and "grounder" (``ground``, default settings) from
   ``chronolens.tasks.ground.finders``; runs only when ``builtin:synth-clip``'s weights exist
   (``--data`` / ``--split`` choose the dataset).

Usage::

    python benchmarks/grounding.py                  # latency table
    python benchmarks/grounding.py --top-k 3        # as chronolens.search grounds each hit
    python benchmarks/grounding.py --quality --data DIR --split test
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from chronolens.tasks.ground.tfvtg import DEFAULT_TOP_K, ground

SIZES = (100, 600, 3_600, 36_000, 360_000)  # samples per curve: 100 s, 10 min, 1 h, 10 h, 100 h at 1 fps
NAIVE_BLOCK = 512  # rows of the (i, j) score matrix computed at once by the baseline


def _curve(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sim = rng.normal(0.2, 0.04, size=t)
    for start in rng.integers(0, t - 10, size=max(1, t // 600)):
        sim[start : start + int(rng.integers(2, 10))] += 0.15  # planted events
    return sim, np.arange(t) + 0.5


def naive_all_pairs(sim: np.ndarray) -> tuple[int, int, float]:
    """Score every window [i, j) by mean inside minus mean outside; return the best (i, j, score)."""
    t = sim.size
    prefix = np.concatenate([[0.0], np.cumsum(sim)])
    total = prefix[-1]
    best = (0, t, -np.inf)
    j = np.arange(1, t + 1)
    for lo in range(0, t, NAIVE_BLOCK):
        i = np.arange(lo, min(lo + NAIVE_BLOCK, t))[:, None]  # (B, 1)
        n = (j[None, :] - i).astype(np.float64)  # (B, T)
        inside = prefix[j][None, :] - prefix[i]
        out_n = t - n
        with np.errstate(divide="ignore", invalid="ignore"):
            score = inside / n - np.where(out_n > 0, (total - inside) / out_n, inside / n)
        score[n <= 0] = -np.inf
        k = int(np.argmax(score))
        if score.flat[k] > best[2]:
            best = (int(i[k // t, 0]), int(j[k % t]), float(score.flat[k]))
    return best


def _median_ms(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def latency(repeats: int, naive_max_pairs: int, top_k: int = DEFAULT_TOP_K) -> None:
    """Print the latency table (``top_k`` windows per query; ``chronolens.search`` asks for 3)."""
    print(f"{'T':>8} {'tfvtg ms/query':>16} {'naive all-pairs ms':>20} {'naive / tfvtg':>14}")
    for t in SIZES:
        sim, ts = _curve(t, seed=t)
        ground(sim, ts, float(t), top_k=top_k)  # warm-up
        fast = _median_ms(lambda sim=sim, ts=ts, t=t: ground(sim, ts, float(t), top_k=top_k), repeats)
        pairs = t * (t + 1) // 2
        if pairs <= naive_max_pairs:
            naive_ms = _median_ms(lambda sim=sim: naive_all_pairs(sim), max(1, repeats // 5))
            naive, ratio = f"{naive_ms:20.1f}", f"{naive_ms / fast:13.1f}x"
        else:
            naive, ratio = f"{'skipped':>20}", f"{'-':>14}"
        print(f"{t:>8} {fast:16.2f} {naive} {ratio}")


def quality(data: str, split: str) -> None:
    """Print run_synth_bench's moment tables for the simple finder and the TFVTG grounder."""
    from chronolens.evaluation.synth import SynthBenchConfig, format_report, run_synth_bench
    from chronolens.tasks.ground.finders import get_finder

    weights = (
        Path(__file__).resolve().parents[1] / "src/chronolens/encoders/weights/synth-clip/model.safetensors"
    )
    if not weights.exists():
        print(f"quality skipped: {weights} does not exist")
        return
    report = run_synth_bench(
        data,
        config=SynthBenchConfig(split=split),
        finders={name: get_finder(name) for name in ("simple", "grounder")},
    )
    print(format_report(report))


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21, help="timed runs per size (median)")
    parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, help="windows per query (search: 3)")
    parser.add_argument("--naive-max-pairs", type=int, default=20_000_000, help="largest baseline")
    parser.add_argument("--quality", action="store_true", help="also run the synthetic quality comparison")
    parser.add_argument("--data", help="synthetic dataset (chronolens synth) for --quality")
    parser.add_argument("--split", default="test", help="split for --quality (default test)")
    args = parser.parse_args()
    latency(args.repeats, args.naive_max_pairs, args.top_k)
    if args.quality:
        if not args.data:
            parser.error("--quality needs --data")
        quality(args.data, args.split)


if __name__ == "__main__":
    main()
