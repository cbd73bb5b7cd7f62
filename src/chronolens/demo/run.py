"""The demo: render a small synthetic set (or take the user's folder), index it, search, report.

With no folder, the truth is known, so each query is printed with the found moments next to the
true ones and the report shades the true spans. With a folder, the same runs on the user's videos
with the user's queries (no truth).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chronolens.demo.report import ReportItem, jpeg_bytes, write_report
from chronolens.errors import ChronolensError
from chronolens.ingest import index
from chronolens.tasks.search import SearchResult, search
from chronolens.timebase import Moment, Span

if TYPE_CHECKING:
    from chronolens.library import Library

__all__ = ["DemoConfig", "DemoQuery", "DemoResult", "DemoRow", "run_demo"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Settings of the demo run."""

    model: str = "builtin:synth-clip"  # encoder registry name
    videos: int = 8  # synthetic videos rendered when no folder is given
    queries: int = 6  # synthetic queries shown (one per video, single-event ones first)
    seed: int = 7  # seed of the synthetic set and of the query choice
    min_duration: float = 15.0  # seconds, shortest synthetic video
    max_duration: float = 40.0  # seconds, longest synthetic video
    top_k: int = 3  # videos listed per query
    moments_per_video: int = 3  # moments listed per video
    fps: float = 1.0  # indexing sample rate (frames per second)

    def __post_init__(self) -> None:
        for name in ("videos", "queries", "top_k", "moments_per_video"):
            if getattr(self, name) < 1:
                raise ValueError(f"DemoConfig.{name} must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class DemoQuery:
    """One query and, on synthetic data, where it truly happens."""

    text: str
    video: str | None = None  # the true video's path (synthetic data only)
    truth: tuple[Span, ...] = ()  # the true spans in that video


@dataclass(frozen=True)
class DemoRow:
    """One query's outcome."""

    query: str
    results: list[SearchResult]  # best video first
    true_video: str | None = None  # synthetic data only
    truth: tuple[Span, ...] = ()  # true spans in the true video
    true_video_rank: int | None = None  # 1-based rank of the true video among results, None if absent

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable form (the ``--json`` output of ``chronolens demo``)."""
        return {
            "query": self.query,
            "true_video": self.true_video,
            "truth": [[s.start, s.end] for s in self.truth],
            "true_video_rank": self.true_video_rank,
            "results": [r.to_json() for r in self.results],
        }


@dataclass
class DemoResult:
    """What the demo found, per query, and where it wrote the report."""

    report: Path
    library: Path
    rows: list[DemoRow] = field(default_factory=list)


def _synthetic_set(out: Path, cfg: DemoConfig, progress: bool) -> tuple[list[Path], list[DemoQuery]]:
    from chronolens.data.synth import SynthConfig, generate, load_synth

    data = out / "data"
    if not (data / "synth.json").exists():
        generate(
            data,
            SynthConfig(
                videos=cfg.videos,
                seed=cfg.seed,
                split="test",
                min_duration=cfg.min_duration,
                max_duration=cfg.max_duration,
                long_fraction=0.0,
            ),
            progress=progress,
        )
    dataset = load_synth(data)
    rng = np.random.default_rng(cfg.seed)
    queries = []
    for video in dataset.videos:
        events = [e for e in video.events if e.kind != "scene_cut"] or list(video.events)
        if not events:
            continue
        event = events[int(rng.integers(len(events)))]
        same = [e for e in video.events if e.query == event.query or e.caption == event.caption]
        queries.append(
            DemoQuery(
                text=event.query,
                video=str(Path(dataset.video_path(video)).resolve()),
                truth=tuple(Span(e.start, e.end) for e in same),
            )
        )
    return [Path(dataset.video_path(v)) for v in dataset.videos], queries[: cfg.queries]


def _thumbnails(path: str, moments: Sequence[Moment]) -> list[tuple[float, bytes]]:
    from chronolens.video import frames_at

    times = [(m.start + m.end) / 2 for m in moments]
    if not times:
        return []
    try:
        frames = frames_at(path, times, size=160)
    except ChronolensError as exc:
        logger.warning("no thumbnails for %s: %s", path, exc)
        return []
    return [(float(t), jpeg_bytes(img)) for t, img in zip(frames.timestamps, frames.images, strict=True)]


def _open_demo_library(lib_dir: Path, cfg: DemoConfig, progress: bool) -> Library:
    """Open the demo's own library, rebuilding it when it was indexed with other weights.

    The demo's library is derived data inside the demo's working directory (the videos are
    never touched), so after an upgrade of the built-in weights it is re-indexed in place
    (``chronolens.ingest.rebuild``) instead of refused as a user's library would be.
    """
    from chronolens.errors import EncoderMismatchError
    from chronolens.ingest import rebuild
    from chronolens.library import Library
    from chronolens.video.sampling import FixedFps

    sampling = FixedFps(fps=cfg.fps)
    library = Library.open(lib_dir, model=cfg.model, sampling=sampling)
    try:
        library.encoder  # noqa: B018 - loads the encoder and checks its weights against the manifest
    except EncoderMismatchError as exc:
        library.close()
        logger.warning("rebuilding the demo library %s: %s", lib_dir, exc)
        rebuild(lib_dir, model=cfg.model, sampling=sampling, progress=progress)
        return Library.open(lib_dir, model=cfg.model, sampling=sampling)
    return library


def run_demo(
    out: str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str] | None = None,
    queries: Sequence[str] = (),
    config: DemoConfig | None = None,
    progress: bool = True,
) -> DemoResult:
    """Run the demo and write ``OUT/report.html``.

    Args:
        out: working directory for the demo's data, library and report.
        folder: the user's videos; None renders a small synthetic set with known truth.
        queries: the user's queries (required with ``folder``; ignored without it).
        config: demo settings.
        progress: show progress bars.
    """
    cfg = config or DemoConfig()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    if folder is None:
        paths, demo_queries = _synthetic_set(root, cfg, progress)
        lib_dir = root / "library"
    else:
        if not queries:
            raise ChronolensError("pass at least one --query to search your own videos")
        paths, demo_queries = [Path(folder)], [DemoQuery(text=q) for q in queries]
        lib_dir = root / "library-user"
    result = DemoResult(report=root / "report.html", library=lib_dir)
    items: list[ReportItem] = []
    with _open_demo_library(lib_dir, cfg, progress) as lib:
        ingest = index(lib, paths, progress=progress)
        summary = [
            f"library {lib_dir}: {ingest.to_json()}",
            f"model {cfg.model}; sampling {cfg.fps:g} fps",
        ]
        for query in demo_queries:
            hits = search(lib, query.text, top_k=cfg.top_k, moments_per_video=cfg.moments_per_video)
            rank = None
            if query.video is not None:
                found = [str(Path(h.video).resolve()) for h in hits]
                rank = found.index(query.video) + 1 if query.video in found else None
            result.rows.append(
                DemoRow(
                    query=query.text,
                    results=hits,
                    true_video=query.video,
                    truth=query.truth,
                    true_video_rank=rank,
                )
            )
            if not hits:
                continue
            top = hits[0]
            emb, ts = lib.frame_embeddings(top.video)
            sim = emb.astype(np.float32) @ lib.encoder.encode_texts([query.text])[0]
            is_true = query.video is not None and str(Path(top.video).resolve()) == query.video
            items.append(
                ReportItem(
                    query=query.text,
                    video=top.video,
                    duration=top.duration,
                    found=top.moments,
                    times=ts,
                    similarity=sim,
                    truth=query.truth if is_true else (None if query.video is None else ()),
                    thumbnails=_thumbnails(top.video, top.moments),
                    rank=rank,
                )
            )
    write_report(result.report, items, title="chronolens demo", summary=summary)
    return result
