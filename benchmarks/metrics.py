"""Speed of chronolens' metrics against the reference scripts on the same synthetic input.

Measures:

1. QVHighlights MR + HL evaluation (``chronolens.metrics.qvhighlights.evaluate_files``) on
   ``--queries`` (10,000) random queries, file reading included. With ``--reference-dir DIR`` (a
   directory holding moment_detr's ``standalone_eval/`` package, e.g. a scratch checkout) the
   reference ``eval_submission`` runs on the same files, in a subprocess of ``--reference-python``
   (it needs numpy and scikit-learn), and the rounded outputs are compared.
2. CIDEr-D (``chronolens.metrics.captioning.cider_d``) on ``--captions`` (50,000) pre-tokenised
   hypotheses with ``--refs`` references each; when ``pycocoevalcap`` is importable by
   ``--reference-python`` its ``Cider().compute_score`` runs on the same input and the scores are
   compared.

Usage::

    python benchmarks/metrics.py                                   # chronolens only
    python benchmarks/metrics.py --reference-dir /tmp/moment_detr \\
        --reference-python /tmp/refenv/bin/python                 # side by side

Prints one line per measurement and, with ``--json FILE``, writes all figures atomically.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORDS = [
    *("a", "man", "woman", "person", "dog", "cat", "puts", "takes", "opens", "closes", "the", "box"),
    *("door", "table", "chair", "kitchen", "street", "car", "runs", "walks", "into", "out", "of"),
    *("with", "on", "in", "near", "red", "blue", "small", "large", "quickly", "slowly", "video", "shows"),
]

_QVH_REFERENCE_DRIVER = """
import contextlib, io, json, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, sys.argv[1])
from standalone_eval.eval import eval_submission
from standalone_eval.utils import load_jsonl
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    result = eval_submission(load_jsonl(sys.argv[2]), load_jsonl(sys.argv[3]), verbose=False)
print(json.dumps({"seconds": time.perf_counter() - start, "result": result}))
"""

_CIDER_REFERENCE_DRIVER = """
import json, sys, time
from pycocoevalcap.cider.cider import Cider
data = json.load(open(sys.argv[1]))
start = time.perf_counter()
score, _ = Cider().compute_score(data["gts"], data["res"])
print(json.dumps({"seconds": time.perf_counter() - start, "score": float(score)}))
"""


def make_qvhighlights(n: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Random QVHighlights-like GT and predictions (150 s videos, 2 s clips, 10 windows per query)."""
    rng = random.Random(seed)
    gts, preds = [], []
    for qid in range(n):
        n_clips = 75
        windows = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            start = 2 * rng.randrange(0, n_clips - 1)
            windows.append([start, min(start + 2 * rng.choice([1, 3, 5, 10, 20, 30]), 150)])
        ids = sorted({rng.randrange(n_clips) for _ in range(rng.randint(1, 20))})
        gts.append(
            {
                "qid": qid,
                "query": " ".join(rng.choices(WORDS, k=8)),
                "vid": f"vid{qid}",
                "duration": 150,
                "relevant_windows": windows,
                "relevant_clip_ids": ids,
                "saliency_scores": [[rng.randint(0, 4) for _ in range(3)] for _ in ids],
            }
        )
        pred_windows = []
        for _ in range(10):
            start = rng.uniform(0, 140)
            pred_windows.append(
                [round(start, 2), round(start + rng.uniform(2, 60), 2), round(rng.random(), 4)]
            )
        preds.append(
            {
                "qid": qid,
                "query": gts[-1]["query"],
                "vid": f"vid{qid}",
                "pred_relevant_windows": pred_windows,
                "pred_saliency_scores": [round(rng.random(), 4) for _ in range(n_clips)],
            }
        )
    return gts, preds


def make_captions(n: int, refs: int, seed: int) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Random tokenised captions: ``n`` ids with one hypothesis and ``refs`` references each."""
    rng = random.Random(seed)

    def sentence() -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(5, 14)))

    gts = {str(i): [sentence() for _ in range(refs)] for i in range(n)}
    res = {str(i): [sentence()] for i in range(n)}
    return gts, res


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def _run_reference(python: str, driver: str, *args: str) -> dict[str, Any] | None:
    proc = subprocess.run([python, "-c", driver, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode
        print(f"  reference failed: {reason}")
        return None
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench_qvhighlights(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from chronolens.metrics.qvhighlights import evaluate_files, round_metrics

    gts, preds = make_qvhighlights(args.queries, args.seed)
    gt_path, pred_path = tmp / "gt.jsonl", tmp / "pred.jsonl"
    _write_jsonl(gt_path, gts)
    _write_jsonl(pred_path, preds)
    start = time.perf_counter()
    ours = evaluate_files(pred_path, gt_path)
    seconds = time.perf_counter() - start
    figures: dict[str, Any] = {"queries": args.queries, "chronolens_s": seconds}
    print(f"QVHighlights eval, {args.queries} queries: chronolens {seconds:.2f} s")
    if args.reference_dir:
        ref = _run_reference(
            args.reference_python, _QVH_REFERENCE_DRIVER, args.reference_dir, str(pred_path), str(gt_path)
        )
        if ref is not None:
            same = json.dumps(round_metrics(ours, 2)) == json.dumps(ref["result"])
            figures.update(
                reference_s=ref["seconds"], speedup=ref["seconds"] / seconds, identical_rounded=same
            )
            print(
                f"  reference {ref['seconds']:.2f} s -> {ref['seconds'] / seconds:.1f}x faster; "
                f"rounded outputs identical: {same}"
            )
    return figures


def bench_cider(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from chronolens.metrics.captioning import cider_d

    gts, res = make_captions(args.captions, args.refs, args.seed)
    start = time.perf_counter()
    score, _ = cider_d(gts, res)
    seconds = time.perf_counter() - start
    figures: dict[str, Any] = {
        "captions": args.captions,
        "refs": args.refs,
        "chronolens_s": seconds,
        "score": float(score),
    }
    print(f"CIDEr-D, {args.captions} captions x {args.refs} refs: chronolens {seconds:.2f} s")
    print(f"  score {score:.6f}")
    data_path = tmp / "captions.json"
    data_path.write_text(json.dumps({"gts": gts, "res": res}), encoding="utf-8")
    ref = _run_reference(args.reference_python, _CIDER_REFERENCE_DRIVER, str(data_path))
    if ref is not None:
        figures.update(
            reference_s=ref["seconds"],
            speedup=ref["seconds"] / seconds,
            abs_diff=abs(ref["score"] - float(score)),
        )
        print(
            f"  pycocoevalcap {ref['seconds']:.2f} s -> {ref['seconds'] / seconds:.1f}x faster; "
            f"|score diff| {abs(ref['score'] - float(score)):.2e}"
        )
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=10_000, help="QVHighlights queries")
    parser.add_argument("--captions", type=int, default=50_000, help="CIDEr-D hypotheses")
    parser.add_argument("--refs", type=int, default=5, help="references per caption")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference-dir", default=None, help="dir containing moment_detr's standalone_eval/")
    parser.add_argument("--reference-python", default=sys.executable, help="interpreter for the references")
    parser.add_argument("--only", choices=["qvhighlights", "cider"], default=None)
    parser.add_argument("--json", dest="json_out", default=None, help="write the figures to this file")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        if args.only in (None, "qvhighlights"):
            figures["qvhighlights"] = bench_qvhighlights(args, tmp)
        if args.only in (None, "cider"):
            figures["cider_d"] = bench_cider(args, tmp)
    if args.json_out:
        out = Path(args.json_out)
        partial = out.with_name(out.name + ".tmp")
        partial.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
