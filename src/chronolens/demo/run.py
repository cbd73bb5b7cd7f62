"""The demo: render a synthetic world (or take the user's folder), index it, search, report.

With no folder the demo renders a test split of chronolens' synthetic world exactly as
``chronolens bench synth`` renders its own (fewer videos) and asks the bench's two kinds of
queries (``chronolens.demo.queries``): each video's caption, ranked over every video ("which
video?"), and each event's query, grounded in its own video ("when?"). Every query is scored the
way the bench scores it, with ``chronolens.metrics``; a seeded random sample of each kind is shown.
With a folder, the user's queries are searched in the user's videos (no truth).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from chronolens.demo.queries import DemoQuery, QueryKind, draw_sample, render_world
from chronolens.demo.report import THUMB_WIDTH, ReportHeader, ReportItem, ReportPanel, write_report
from chronolens.errors import ChronolensError
from chronolens.ingest import index
from chronolens.metrics.grounding import evaluate_top_windows
from chronolens.metrics.retrieval import retrieval_metrics
from chronolens.tasks.ground.tfvtg import ground
from chronolens.tasks.retrieval import pool_similarity
from chronolens.tasks.search import SearchResult, search
from chronolens.timebase import Moment, Span, clock
from chronolens.video.images import encode_image

if TYPE_CHECKING:
    from chronolens.ingest.report import IngestReport
    from chronolens.library import Library

__all__ = ["DemoConfig", "DemoQuery", "DemoResult", "DemoRow", "DemoScores", "run_demo"]

logger = logging.getLogger(__name__)

MOMENT_IOU = 0.5  # a "when?" query is answered when its top moment has IoU >= this with the truth
BUILTIN_PREFIX = "builtin:"  # encoders trained by chronolens on its synthetic world only


@dataclass(frozen=True, kw_only=True)
class DemoConfig:
    """Settings of the demo run."""

    model: str = "builtin:synth-clip"  # encoder registry name
    videos: int = 40  # synthetic videos rendered when no folder is given (the bench's split: 100)
    queries: int = 6  # queries of each kind shown (a seeded random sample; all of them are scored)
    seed: int = 7  # seed of the synthetic set and of the sample shown
    min_duration: float = 10.0  # seconds, shortest synthetic video (the bench split's setting)
    max_duration: float = 60.0  # seconds, longest synthetic video (the bench split's setting)
    top_k: int = 3  # videos listed per query
    moments_per_video: int = 3  # moments listed per video
    fps: float = 1.0  # indexing sample rate (frames per second)

    def __post_init__(self) -> None:
        for name in ("videos", "queries", "top_k", "moments_per_video"):
            if getattr(self, name) < 1:
                raise ValueError(f"DemoConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.min_duration <= self.max_duration:
            raise ValueError(f"DemoConfig.min_duration must be in (0, max_duration], got {self.min_duration}")


@dataclass(frozen=True)
class DemoRow:
    """One shown query's outcome."""

    query: str
    kind: QueryKind  # "video", "moment" or "search" (chronolens.demo.queries)
    results: list[SearchResult]  # "video"/"search": the top videos, best first; "moment": its video
    true_video: str | None = None  # synthetic data only
    truth: tuple[Span, ...] = ()  # true spans in the true video ("moment" queries)
    true_video_rank: int | None = None  # "video" queries: 1-based rank of the true video among all
    true_result: SearchResult | None = None  # the true video's result when ``results`` missed it
    top_iou: float | None = None  # "moment" queries: IoU of the top moment with the truth

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable form (the ``--json`` output of ``chronolens demo``)."""
        return {
            "query": self.query,
            "kind": self.kind,
            "true_video": self.true_video,
            "truth": [[s.start, s.end] for s in self.truth],
            "true_video_rank": self.true_video_rank,
            "top_iou": self.top_iou,
            "results": [r.to_json() for r in self.results],
            "true_result": None if self.true_result is None else self.true_result.to_json(),
        }


@dataclass(frozen=True)
class DemoScores:
    """Every synthetic query scored as ``chronolens bench synth`` scores it."""

    n_videos: int  # videos searched
    video_queries: int  # captions ranked over every video
    video_first: int  # of them, the true video ranked first (R@1)
    moment_queries: int  # event queries grounded in their own video
    moment_hits: int  # of them, top moment with IoU >= MOMENT_IOU (R1@0.5)

    def lines(self) -> list[str]:
        """The summary, one sentence per kind, with the bench's metric names."""
        out = []
        if self.video_queries:
            out.append(
                f"which video: the true video ranked first for {self.video_first} of "
                f"{self.video_queries} video captions among {self.n_videos} videos "
                f"(R@1 {100 * self.video_first / self.video_queries:.1f})"
            )
        if self.moment_queries:
            out.append(
                f"when: the top moment overlaps the true one (IoU >= {MOMENT_IOU:g}) for "
                f"{self.moment_hits} of {self.moment_queries} event queries in their own video "
                f"(R1@{MOMENT_IOU:g} {100 * self.moment_hits / self.moment_queries:.1f})"
            )
        if out:
            out.append(
                "these are the measures `chronolens bench synth` reports (text->video R@1, "
                "R1@0.5) on a 100-video split of the same world; the README lists its figures"
            )
        return out

    def to_json(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "n_videos": self.n_videos,
            "video_queries": self.video_queries,
            "video_first": self.video_first,
            "moment_queries": self.moment_queries,
            "moment_hits": self.moment_hits,
        }


@dataclass
class DemoResult:
    """What the demo found, per shown query, its scores and where it wrote the report."""

    report: Path
    library: Path
    rows: list[DemoRow] = field(default_factory=list)
    scores: DemoScores | None = None  # synthetic data only
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    intro: str = ""  # what this demo is, as the report opens with it


Stage = Callable[[str], None]


def _stage(on_stage: Stage | None, message: str) -> None:
    """Announce a stage: through ``on_stage`` (the CLI's stderr line) or, without one, the log."""
    if on_stage is not None:
        on_stage(message)
    else:
        logger.info(message)


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
    return [
        (float(t), encode_image(img, "jpg", width=THUMB_WIDTH))
        for t, img in zip(frames.timestamps, frames.images, strict=True)
    ]


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


def _same(a: str, b: str | None) -> bool:
    return b is not None and str(Path(a).resolve()) == b


def _search_rows(
    lib: Library, queries: Sequence[DemoQuery], shown: Sequence[int], cfg: DemoConfig
) -> tuple[list[DemoRow], list[int]]:
    """Search queries over the library; rank every true video, list the shown queries' top videos.

    Returns:
        The shown rows, and per query with a true video its 0-based rank (for R@1).
    """
    n_videos = len(lib.indexed())
    ranks: list[int] = []
    rank_of: dict[int, int] = {}
    for i, query in enumerate(queries):
        if query.video is None:
            continue
        order = search(lib, query.text, top_k=n_videos, moments_per_video=0)  # ranking only, as the bench
        found = [str(Path(h.video).resolve()) for h in order]
        ranks.append(found.index(query.video) if query.video in found else n_videos)
        rank_of[i] = ranks[-1] + 1
    rows = []
    for i in shown:
        query = queries[i]
        hits = search(lib, query.text, top_k=cfg.top_k, moments_per_video=cfg.moments_per_video)
        rank = rank_of.get(i)
        true_result = None
        if rank is not None and rank > len(hits) and rank <= n_videos:
            # The true video's moments exactly as search would list them at its rank.
            true_result = search(lib, query.text, top_k=rank, moments_per_video=cfg.moments_per_video)[-1]
        rows.append(
            DemoRow(
                query=query.text,
                kind=query.kind,
                results=hits,
                true_video=query.video,
                true_video_rank=rank,
                true_result=true_result,
            )
        )
    return rows, ranks


def _ground_rows(
    lib: Library, queries: Sequence[DemoQuery], shown: Sequence[int], cfg: DemoConfig
) -> tuple[list[DemoRow], float]:
    """Ground each query in its own video (the bench's moment retrieval) and score the top moments.

    Returns:
        The shown rows, and R1@``MOMENT_IOU`` (x100) over every query.
    """
    if not queries:
        return [], 0.0
    text_emb = lib.encoder.encode_texts([q.text for q in queries]).astype(np.float32)  # (Q, D)
    results: list[SearchResult] = []
    for q, query in enumerate(queries):
        if query.video is None:
            raise ValueError(f"moment query {query.text!r} has no video to be grounded in")
        emb, ts = lib.frame_embeddings(query.video)  # (T, D), (T,)
        duration = lib.record(query.video).duration
        sim = emb.astype(np.float32) @ text_emb[q]  # (T,)
        found = ground(sim, ts, duration, top_k=cfg.moments_per_video).windows if sim.size else ()
        score = pool_similarity(sim) if sim.size else 0.0
        results.append(SearchResult(video=query.video, score=score, moments=list(found), duration=duration))
    preds = [[m.as_list() for m in r.moments[:1]] for r in results]
    truths = [[[s.start, s.end] for s in q.truth] for q in queries]
    r1 = evaluate_top_windows(preds, truths, iou_thresholds=(MOMENT_IOU,))[f"R1@{MOMENT_IOU}"]
    rows = []
    for i in shown:
        iou = evaluate_top_windows([preds[i]], [truths[i]], iou_thresholds=(MOMENT_IOU,))["mIoU"] / 100
        query = queries[i]
        rows.append(
            DemoRow(
                query=query.text,
                kind="moment",
                results=[results[i]],
                true_video=query.video,
                truth=query.truth,
                top_iou=float(iou),
            )
        )
    return rows, float(r1)


def _panel(
    lib: Library, result: SearchResult, text: np.ndarray, row: DemoRow, rank: int | None
) -> ReportPanel:
    emb, ts = lib.frame_embeddings(result.video)  # (T, D), (T,)
    is_true = _same(result.video, row.true_video)
    if row.true_video is None:
        truth: tuple[Span, ...] | None = None  # the user's videos: the truth is unknown
    else:
        truth = row.truth if is_true else ()
    return ReportPanel(
        video=result.video,
        duration=result.duration,
        score=result.score,
        found=result.moments,
        times=ts,
        similarity=emb.astype(np.float32) @ text,
        rank=rank,
        truth=truth,
        is_true=is_true,
        thumbnails=_thumbnails(result.video, result.moments),
    )


def _report_items(lib: Library, rows: Sequence[DemoRow]) -> list[ReportItem]:
    """Each shown query with its panels: the top videos (ranked), then the true video on a miss."""
    items = []
    for row in rows:
        text = lib.encoder.encode_texts([row.query])[0]  # (D,)
        if row.kind == "moment":
            panels = [_panel(lib, r, text, row, None) for r in row.results]
            note = f"when? grounded in its own video; top moment IoU {row.top_iou or 0.0:.2f} with the truth"
        else:
            panels = [_panel(lib, r, text, row, i + 1) for i, r in enumerate(row.results)]
            if row.true_result is not None:
                panels.append(_panel(lib, row.true_result, text, row, row.true_video_rank))
            note = (
                ""
                if row.true_video is None
                else (f"which video? true video {Path(row.true_video).name}, ranked {row.true_video_rank}")
            )
        if row.truth:
            note += " · true: " + ", ".join(f"{clock(s.start)}–{clock(s.end)}" for s in row.truth)
        items.append(ReportItem(query=row.query, panels=panels, note=note))
    return items


def _header(
    lib: Library,
    lib_dir: Path,
    cfg: DemoConfig,
    ingest: IngestReport,
    seconds: dict[str, float],
    folder: str | os.PathLike[str] | None,
) -> ReportHeader:
    """The report's opening: what this is, then counts, time and paths in plain words."""
    records = list(lib.indexed().values())
    if folder is None:
        intro = (
            f"A synthetic world: {len(records)} videos chronolens rendered with exactly known events "
            "(coloured shapes that appear, move, grow, spin, change colour on plain or patterned "
            f"backgrounds), searched with {cfg.model}, a small model chronolens trained on this world "
            "only — it knows nothing else. The queries are drawn as `chronolens bench synth` draws "
            "its own: each video's caption (which video?) and each event's description (when?)."
        )
    else:
        intro = f"Your videos in {folder}, searched with {cfg.model}."
        if cfg.model.startswith(BUILTIN_PREFIX):
            intro += (
                f" {cfg.model} knows only chronolens' synthetic world (shapes, colours, motions); "
                "for real footage use a CLIP model (--model hf:openai/clip-vit-base-patch32)."
            )
    timing = " · ".join(f"{name} {s:.1f} s" for name, s in seconds.items())
    facts = [
        ("library", str(lib_dir.resolve())),
        (
            "videos",
            f"{len(records)} in the library ({len(ingest.indexed)} indexed now, "
            f"{len(ingest.unchanged)} unchanged, {len(ingest.failed)} failed)",
        ),
        (
            "frames",
            f"{sum(r.n_frames for r in records):,} sampled at {cfg.fps:g} fps over "
            f"{sum(r.duration for r in records) / 60:.1f} minutes of video",
        ),
        ("model", cfg.model),
        ("time", timing),
    ]
    if ingest.failed:
        facts.append(("failed", "; ".join(f"{Path(p).name}: {why}" for p, why in ingest.failed.items())))
    return ReportHeader(intro=intro, facts=facts)


def run_demo(
    out: str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str] | None = None,
    queries: Sequence[str] = (),
    config: DemoConfig | None = None,
    progress: bool = True,
    on_stage: Stage | None = None,
) -> DemoResult:
    """Run the demo and write ``OUT/report.html``.

    Args:
        out: working directory for the demo's data, library and report.
        folder: the user's videos; None renders a synthetic set with known truth.
        queries: the user's queries (required with ``folder``; ignored without it).
        config: demo settings.
        progress: show progress bars (``chronolens.progress``: on a terminal only).
        on_stage: called with a short line as each stage starts (the CLI prints it on stderr);
            None logs the lines at INFO instead.
    """
    cfg = config or DemoConfig()
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    clock0 = time.perf_counter()
    video_qs: list[DemoQuery]
    moment_qs: list[DemoQuery] = []
    if folder is None:
        if not (root / "data" / "synth.json").exists():
            _stage(on_stage, f"rendering {cfg.videos} synthetic videos…")
        world = render_world(
            root / "data",
            videos=cfg.videos,
            seed=cfg.seed,
            progress=progress,
            min_duration=cfg.min_duration,
            max_duration=cfg.max_duration,
        )
        paths, video_qs, moment_qs = list(world.videos), world.video_queries, world.moment_queries
        lib_dir = root / "library"
        seconds["render"] = time.perf_counter() - clock0
    else:
        if not queries:
            raise ChronolensError("pass at least one --query to search your own videos")
        paths, video_qs = [Path(folder)], [DemoQuery(text=q) for q in queries]
        lib_dir = root / "library-user"
    rng = np.random.default_rng(cfg.seed)  # the shown sample is drawn before anything is searched
    shown_video = draw_sample(len(video_qs), cfg.queries if folder is None else len(video_qs), rng)
    shown_moment = draw_sample(len(moment_qs), cfg.queries, rng)
    result = DemoResult(report=root / "report.html", library=lib_dir, seconds=seconds)
    with _open_demo_library(lib_dir, cfg, progress) as lib:
        where = f"{len(paths)} videos" if folder is None else str(folder)
        _stage(on_stage, f"indexing {where} with {cfg.model}…")
        t0 = time.perf_counter()
        ingest = index(lib, paths, progress=progress)
        seconds["index"] = time.perf_counter() - t0
        what = f"searching {len(video_qs)} queries"
        if moment_qs:
            what = f"searching {len(video_qs)} video captions and grounding {len(moment_qs)} event queries"
        _stage(on_stage, what + "…")
        t0 = time.perf_counter()
        video_rows, ranks = _search_rows(lib, video_qs, shown_video, cfg)
        moment_rows, r1 = _ground_rows(lib, moment_qs, shown_moment, cfg)
        seconds["search"] = time.perf_counter() - t0
        result.rows = video_rows + moment_rows
        if folder is None:
            r_at_1 = retrieval_metrics(np.asarray(ranks))["R1"] if ranks else 0.0
            result.scores = DemoScores(
                n_videos=len(lib.indexed()),
                video_queries=len(ranks),
                video_first=round(r_at_1 * len(ranks) / 100),
                moment_queries=len(moment_qs),
                moment_hits=round(r1 * len(moment_qs) / 100),
            )
        _stage(on_stage, "writing the report…")
        items = _report_items(lib, result.rows)
        header = _header(lib, lib_dir, cfg, ingest, seconds, folder)
    result.intro = header.intro
    if result.scores is not None:
        header = ReportHeader(intro=header.intro, facts=header.facts, summary=result.scores.lines())
    write_report(result.report, items, title="chronolens demo", header=header)
    return result
