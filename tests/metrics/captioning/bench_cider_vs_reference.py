"""CIDEr-D speed vs pycocoevalcap on the same 10,000 ids x (5 refs + 1 hyp) input (not a test).

Run:  .venv/bin/python tests/metrics/captioning/bench_cider_vs_reference.py ours
      /tmp/cocoref/bin/python tests/metrics/captioning/bench_cider_vs_reference.py ref
"""

import random
import sys
import time

rng = random.Random(0)
vocab = [f"w{i}" for i in range(2000)]


def cap():
    return " ".join(rng.choice(vocab[: rng.choice([50, 300, 2000])]) for _ in range(rng.randint(6, 16)))


n_img = 10000
gts = {str(i): [cap() for _ in range(5)] for i in range(n_img)}
res = {str(i): [cap()] for i in range(n_img)}
if sys.argv[1] == "ref":
    from pycocoevalcap.cider.cider import Cider

    def f():
        return Cider().compute_score(gts, res)
else:
    from chronolens.metrics.captioning.cider import cider_d

    def f():
        return cider_d(gts, res)


t = time.perf_counter()
a, ap = f()
dt = time.perf_counter() - t
print(
    f"{sys.argv[1]} images={n_img} ref_captions={n_img * 5} hyps={n_img} time={dt:.2f}s",
    f"score={a!r} per0={ap[0]!r} per_last={ap[-1]!r}",
)
