"""``/api/search`` over loopback next to ``chronolens.search`` in the same process: the web overhead.

The library is synthetic, built the way ``benchmarks/search.py`` builds its archive (precomputed
frame vectors through ``Library.add_features``, 100 frames per video, stub text encoder; that
module's ``build`` and ``StubEncoder`` are reused), so 1,000 videos take seconds, not hours of
rendering. The app (``chronolens.web.create_app``) runs on uvicorn on 127.0.0.1 in a thread; a few
client threads send ``GET /api/search?q=...&top_k=10`` (keep-alive ``httpx`` clients). Printed:
p50 / p99 latency and requests per second of the API at each client count, the same searches
through the Python API (one caller, the same process), and the overhead ratio of their p50s.
The library answers one search at a time (it is owned by one thread, see chronolens.web.worker),
so more clients raise throughput only by overlapping HTTP and JSON work with searching.

Usage::

    python benchmarks/serve.py                       # 1,000 videos, 1, 2 and 4 clients
    python benchmarks/serve.py --videos 200 --requests 100 --json
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chronolens
from chronolens.web import ServeConfig, create_app
from chronolens.web.server import bind, url_of
from search import FRAMES_PER_VIDEO, StubEncoder, build


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def python_api(root: Path, queries: np.ndarray, n: int) -> list[float]:
    """Latencies (ms) of ``chronolens.search`` on an open library, ``n`` queries round robin."""
    times = []
    with chronolens.Library.open(root, encoder=StubEncoder(queries), create=False, read_only=True) as lib:
        chronolens.search(lib, "q0", top_k=10)  # warm: frame table, caches
        for i in range(n):
            t = time.perf_counter()
            chronolens.search(lib, f"q{i % len(queries)}", top_k=10)
            times.append((time.perf_counter() - t) * 1e3)
    return times


def over_http(url: str, n_queries: int, clients: int, per_client: int) -> tuple[list[float], float]:
    """Latencies (ms) of ``/api/search`` from ``clients`` threads, and requests per second."""
    latencies: list[float] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        mine = []
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(per_client):
                t = time.perf_counter()
                response = http.get("/api/search", params={"q": f"q{(k * per_client + i) % n_queries}"})
                mine.append((time.perf_counter() - t) * 1e3)
                response.raise_for_status()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, clients * per_client / (time.perf_counter() - start)


def run(videos: int, requests: int, clients: list[int], seed: int) -> dict[str, object]:
    """Build the library, measure both paths, return the figures."""
    with tempfile.TemporaryDirectory(prefix="chronolens-serve-bench-") as tmp:
        root = Path(tmp) / "lib"
        timings, queries = build(root, videos, seed)
        app = create_app(
            ServeConfig(library=root, cache_dir=Path(tmp) / "previews"), encoder=StubEncoder(queries)
        )
        sock = bind("127.0.0.1", 0)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = url_of(sock)
        try:
            httpx.get(f"{url}api/search", params={"q": "q0"}, timeout=120).raise_for_status()  # warm
            rows = []
            for n in clients:
                lat, rps = over_http(url, len(queries), n, max(1, requests // n))
                rows.append(
                    {"clients": n, "p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99), "req_per_s": rps}
                )
            direct = python_api(root, queries, requests)
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            sock.close()
    p50 = statistics.median(direct)
    return {
        "videos": videos,
        "frames": videos * FRAMES_PER_VIDEO,
        "build_s": timings["build_s"],
        "python_p50_ms": p50,
        "python_p99_ms": _pct(direct, 99),
        "python_per_s": 1e3 / statistics.fmean(direct),
        "http": rows,
        "overhead_p50_1_client": rows[0]["p50_ms"] / p50,
    }


def main() -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=1000, help="synthetic videos (100 frames each)")
    parser.add_argument("--requests", type=int, default=200, help="searches per measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4], help="concurrent clients")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    out = run(args.videos, args.requests, args.clients, args.seed)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"library: {out['videos']} videos, {out['frames']} frames (built in {out['build_s']:.1f} s)")
    print(
        f"python API  chronolens.search      p50 {out['python_p50_ms']:7.2f} ms  "
        f"p99 {out['python_p99_ms']:7.2f} ms  {out['python_per_s']:7.1f} req/s"
    )
    for row in out["http"]:  # type: ignore[attr-defined]
        print(
            f"HTTP        /api/search {row['clients']} client(s) p50 {row['p50_ms']:7.2f} ms  "
            f"p99 {row['p99_ms']:7.2f} ms  {row['req_per_s']:7.1f} req/s"
        )
    print(f"overhead (HTTP p50, 1 client / Python p50): {out['overhead_p50_1_client']:.2f}x")


if __name__ == "__main__":
    main()
