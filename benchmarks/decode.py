"""Decode speed: chronolens sampling vs ``ffmpeg -f null`` on a generated 720p H.264 file.

Run ``python benchmarks/decode.py [--minutes 10] [--video PATH]``. It generates (once, cached by
path) a 720p H.264 file with a fixed 2 s GOP and moving, noisy content, then prints the wall time of:

- ``ffmpeg -hide_banner -loglevel error -i F -f null -`` (the reference, ratio 1.0),
- a full PyAV decode of every frame with ``thread_type="AUTO"``,
- optionally (``--default-threading``) a full PyAV decode with PyAV's default threading,
- chronolens ``FixedFps(1.0)`` with resize to 224 on the shorter side (the indexing setting),
- chronolens ``Keyframes()`` (the fast mode),

and each time as a ratio of the ffmpeg time. ``benchmarks/ingest.py`` imports
``make_benchmark_video`` and ``time_decode`` from here.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

# Where the generated file lives unless --video says otherwise (outside the repository).
BENCH_DIR = Path(os.environ.get("CHRONOLENS_BENCH_DIR", "/tmp/chronolens-bench"))
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
# x264 speed/quality for generation: fast enough to build 10 minutes of 720p in a few minutes.
GENERATE_PRESET = "veryfast"
GENERATE_CRF = 23
# Length of the encoded chunk that is looped to the requested duration, in seconds.
CHUNK_S = 60.0
# Temporal noise strength added to testsrc2 so the encoder cannot compress frames to nothing.
NOISE_STRENGTH = 6
# The indexing setting: 1 frame per second, shorter side resized to this many pixels.
INDEX_FPS = 1.0
INDEX_SHORT_SIDE = 224


def default_video_path(minutes: float = 10.0) -> Path:
    """Where the generated benchmark file of a given length is cached by default."""
    return BENCH_DIR / f"decode_720p_{minutes:g}min.mp4"


def make_benchmark_video(
    path: str | os.PathLike[str] | None = None,
    minutes: float = 10.0,
    size: tuple[int, int] = (1280, 720),
    fps: int = 30,
    gop_s: float = 2.0,
) -> Path:
    """Generate (once; an existing file at ``path`` is reused) a moving H.264 test video.

    Uses the ``ffmpeg`` CLI with lavfi ``testsrc2`` (moving pattern, counter) plus temporal noise,
    encoded by libx264 with a fixed GOP of ``gop_s`` seconds (no scene-cut keyframes). One minute
    is encoded and looped by stream copy to the full length (content repeats each minute; decode
    cost does not care).

    Args:
        path: output ``.mp4``, written atomically (temp file, then rename); default
            ``default_video_path(minutes)``.
        minutes: video length in minutes.
        size: ``(width, height)`` in pixels.
        fps: constant frame rate.
        gop_s: keyframe interval in seconds.

    Returns:
        The path of the (possibly cached) video.
    """
    out = Path(path) if path is not None else default_video_path(minutes)
    if out.exists() and out.stat().st_size > 0:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    gop = max(1, round(gop_s * fps))
    width, height = size
    seconds = minutes * 60.0
    # Encode one chunk of whole GOPs, then loop it with stream copy: the GOPs are closed, so the
    # result is a valid file of the full length at a fraction of the encoding time.
    chunk_s = min(seconds, max(gop / fps, round(CHUNK_S * fps / gop) * gop / fps))
    chunk = out.with_name(f".{out.stem}.chunk{out.suffix}")
    encode = [
        FFMPEG,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps}:duration={chunk_s:g}",
        "-vf",
        f"noise=alls={NOISE_STRENGTH}:allf=t",
        "-c:v",
        "libx264",
        "-preset",
        GENERATE_PRESET,
        "-crf",
        str(GENERATE_CRF),
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(gop),
        "-x264-params",
        f"keyint={gop}:min-keyint={gop}:scenecut=0",
        str(chunk),
    ]
    subprocess.run(encode, check=True)
    tmp = out.with_name(f".{out.name}.partial{out.suffix}")
    loops = max(0, math.ceil(seconds / chunk_s) - 1)
    concat = [
        FFMPEG,
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-stream_loop",
        str(loops),
        "-i",
        str(chunk),
        "-c",
        "copy",
        "-t",
        f"{seconds:g}",
        "-movflags",
        "+faststart",
        str(tmp),
    ]
    subprocess.run(concat, check=True)
    os.replace(tmp, out)
    chunk.unlink(missing_ok=True)
    return out


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def time_ffmpeg_null(path: str | os.PathLike[str]) -> float:
    """Wall seconds of ``ffmpeg -i F -f null -`` (full decode, ffmpeg's own threading)."""
    cmd = [FFMPEG, "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "null", "-"]
    return _timed(lambda: subprocess.run(cmd, check=True))


def time_pyav_full(path: str | os.PathLike[str], *, threaded: bool = True) -> float:
    """Wall seconds to decode every frame with PyAV (``thread_type="AUTO"`` unless ``threaded=False``)."""
    import av

    def run() -> int:
        n = 0
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if threaded:
                stream.thread_type = "AUTO"
            for _ in container.decode(stream):
                n += 1
        return n

    return _timed(run)


def time_decode(
    path: str | os.PathLike[str], *, fps: float = INDEX_FPS, size: int | None = INDEX_SHORT_SIDE
) -> float:
    """Wall seconds for chronolens to sample ``fps`` frames/s (resized) from ``path``: the indexing decode."""
    from chronolens.video import FixedFps, iter_frames

    def run() -> int:
        return sum(len(batch) for batch in iter_frames(path, FixedFps(fps=fps), size=size))

    return _timed(run)


def time_keyframes(path: str | os.PathLike[str], *, size: int | None = INDEX_SHORT_SIDE) -> float:
    """Wall seconds for chronolens ``Keyframes()`` sampling (resized) of ``path``."""
    from chronolens.video import Keyframes, iter_frames

    def run() -> int:
        return sum(len(batch) for batch in iter_frames(path, Keyframes(), size=size))

    return _timed(run)


def main(argv: list[str] | None = None) -> int:
    """Generate the benchmark video if needed and print decode times and ratios vs ffmpeg."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--video", type=Path, default=None, help="benchmark file (generated if missing)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated video")
    parser.add_argument("--default-threading", action="store_true", help="also time PyAV default threading")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    video = args.video or default_video_path(args.minutes)

    t0 = time.perf_counter()
    path = make_benchmark_video(video, minutes=args.minutes)
    print(f"video: {path} ({path.stat().st_size / 1e6:.1f} MB, ready in {time.perf_counter() - t0:.1f} s)")
    print(f"load average: {os.getloadavg()[0]:.2f} (cpus: {os.cpu_count()})")

    measurements: list[tuple[str, Callable[[], float]]] = [
        ("ffmpeg -f null (reference)", lambda: time_ffmpeg_null(path)),
        ("PyAV full decode, thread_type=AUTO", lambda: time_pyav_full(path)),
    ]
    if args.default_threading:
        measurements.append(
            ("PyAV full decode, default threading", lambda: time_pyav_full(path, threaded=False))
        )
    measurements.append((f"chronolens fps={INDEX_FPS:g} size={INDEX_SHORT_SIDE}", lambda: time_decode(path)))
    measurements.append((f"chronolens keyframes size={INDEX_SHORT_SIDE}", lambda: time_keyframes(path)))
    # Interleave the repeats so that a burst of load on a shared machine hits every measurement alike.
    best = {name: math.inf for name, _ in measurements}
    for _ in range(args.repeat):
        for name, measure in measurements:
            best[name] = min(best[name], measure())
    ffmpeg_s = best[measurements[0][0]]
    for name, seconds in best.items():
        print(f"{name:<42s} {seconds:8.2f} s   ratio vs ffmpeg {seconds / ffmpeg_s:5.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
