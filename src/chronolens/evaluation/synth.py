"""`chronolens bench synth`: the whole pipeline on a synthetic split, scored next to baselines.

Steps: index the split's videos into a library dedicated to (split, model); text->video retrieval
with the split's MSR-VTT-style captions (the library's real search path: pooling, ANN when large,
exact re-rank); moment retrieval and highlight detection for every QVHighlights-format query of the
split, from the query's similarity curve over its own video; scores from ``chronolens.metrics``.
Baselines run on the same queries in the same run: random windows, the whole video, and a
uniform-window split (retrieval: a random ranking).

Composite (two-event) queries are built from each video's ground truth (:func:`composite_queries`):
"A then B" / "B after A" for an event and the next one that starts after it ends (ground truth:
the union ``[A.start, B.end]``), "A while B" for two events that overlap by at least
``MIN_OVERLAP_SECONDS`` (ground truth: the intersection), with A and B the events' benchmark
queries. Each moment method runs on them twice: on the whole composite text (``NAME``), and
through ``chronolens.tasks.ground.decompose`` (``NAME+decompose``: the rule decomposer splits the text,
the method grounds each part, ``combine`` joins the top ``composite_per_part`` windows of each part
as TFVTG does, falling back to the method on the mean curve of the parts, as
``ground_query`` does). They are scored by R1@{0.3,0.5,0.7} and mIoU of the top window
(``chronolens.metrics.grounding.evaluate_grounding``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.encoders.registry import encoder_slug
from chronolens.errors import ChronolensError
from chronolens.evaluation.baselines import BASELINES, BaselineConfig, baseline_prediction
from chronolens.ingest import index
from chronolens.metrics.grounding import evaluate_grounding, evaluate_top_windows
from chronolens.metrics.qvhighlights import evaluate_qvhighlights
from chronolens.metrics.retrieval import retrieval_metrics
from chronolens.tasks.ground.decompose import Relation, combine, decompose
from chronolens.tasks.ground.finders import MomentFinder, get_finder
from chronolens.tasks.search import search
from chronolens.timebase import Moment
from chronolens.timebase.grid import CLIP_LENGTH, clip_means

if TYPE_CHECKING:
    from chronolens.data.synth import SynthVideo

__all__ = [
    "MIN_OVERLAP_SECONDS",
    "CompositeQuery",
    "MomentFinder",
    "SynthBenchConfig",
    "SynthBenchReport",
    "composite_queries",
    "run_synth_bench",
]

logger = logging.getLogger(__name__)

MIN_OVERLAP_SECONDS = 1.0  # two events make a "while" query when they overlap at least this long
DECOMPOSED_SUFFIX = "+decompose"  # composite-query method name: the finder on each decomposed part

# The QVHighlights metrics reported per method, from the evaluator's "brief" block.
BRIEF_KEYS = {
    "R1@0.5": "MR-full-R1@0.5",
    "R1@0.7": "MR-full-R1@0.7",
    "mAP": "MR-full-mAP",
    "HIT@1": "HL-min-VeryGood-Hit1",
}


@dataclass(frozen=True, kw_only=True)
class SynthBenchConfig:
    """Settings of one synthetic benchmark run."""

    split: str = "test"  # which split of the dataset: train, val, test or compositional
    model: str = "builtin:synth-clip"  # encoder registry name
    fps: float = 1.0  # sampling rate used to index the videos (frames per second)
    windows_per_query: int = 10  # predicted windows per query (QVHighlights evaluates up to 10)
    clip_length: float = CLIP_LENGTH  # seconds per saliency clip (QVHighlights convention)
    seed: int = 0  # seeds the baselines' random choices
    composite: bool = True  # also score two-event queries built from the ground truth
    composite_per_part: int = 3  # top windows of each part combined for a composite query (TFVTG: 3)

    def __post_init__(self) -> None:
        if self.composite_per_part < 1:
            raise ValueError(
                f"SynthBenchConfig.composite_per_part must be >= 1, got {self.composite_per_part}"
            )
        if self.windows_per_query < 1:
            raise ValueError(f"SynthBenchConfig.windows_per_query must be >= 1, got {self.windows_per_query}")
        if self.fps <= 0:
            raise ValueError(f"SynthBenchConfig.fps must be > 0, got {self.fps}")


@dataclass
class SynthBenchReport:
    """Scores per method: ``retrieval[method]`` and ``moments[subset][method]`` (values x100)."""

    split: str
    model: str
    n_videos: int
    n_queries: int
    n_single_event: int
    n_composite: int = 0
    retrieval: dict[str, dict[str, float]] = field(default_factory=dict)
    moments: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (stable keys; see README)."""
        return {
            "split": self.split,
            "model": self.model,
            "n_videos": self.n_videos,
            "n_queries": self.n_queries,
            "n_single_event": self.n_single_event,
            "n_composite": self.n_composite,
            "retrieval": self.retrieval,
            "moments": self.moments,
        }


@dataclass(frozen=True)
class CompositeQuery:
    """A two-event query built from a synthetic video's ground truth."""

    qid: str  # "<video id>/<relation>-<n>"
    vid: str  # the video's id
    query: str  # e.g. "a red circle grows then a blue star spins"
    relation: Relation  # "sequential" or "simultaneous"
    window: tuple[float, float]  # ground truth in seconds: union (sequential) or intersection


def composite_queries(videos: Sequence[SynthVideo]) -> list[CompositeQuery]:
    """Two-event queries of each video, from its events' benchmark queries (see the module docstring).

    Sequential pairs alternate between "A then B" and "B after A" (by pair index, so the list is a
    function of the ground truth alone); every pair overlapping by ``MIN_OVERLAP_SECONDS`` gives
    "A while B" (A the earlier-starting event).

    Args:
        videos: synthetic videos with their events.

    Returns:
        The queries, video by video, sequential ones first.
    """
    out: list[CompositeQuery] = []
    for video in videos:
        events = sorted((e for e in video.events if e.query), key=lambda e: (e.start, e.end))
        n_seq = 0
        for i, a in enumerate(events):
            b = next((e for e in events[i + 1 :] if e.start >= a.end), None)
            if b is None:
                continue
            text = f"{a.query} then {b.query}" if n_seq % 2 == 0 else f"{b.query} after {a.query}"
            qid = f"{video.id}/sequential-{n_seq}"
            out.append(CompositeQuery(qid, video.id, text, "sequential", (a.start, b.end)))
            n_seq += 1
        n_sim = 0
        for i, a in enumerate(events):
            for b in events[i + 1 :]:
                start, end = max(a.start, b.start), min(a.end, b.end)
                if end - start >= MIN_OVERLAP_SECONDS:
                    out.append(
                        CompositeQuery(
                            f"{video.id}/simultaneous-{n_sim}",
                            video.id,
                            f"{a.query} while {b.query}",
                            "simultaneous",
                            (start, end),
                        )
                    )
                    n_sim += 1
    return out


def _score_composites(
    queries: Sequence[CompositeQuery],
    curves: Callable[[str, list[str]], tuple[np.ndarray, np.ndarray, float]],
    finders: dict[str, MomentFinder],
    rng: np.random.Generator,
    cfg: SynthBenchConfig,
) -> dict[str, dict[str, dict[str, float | None]]]:
    """R1@m and mIoU of every method on composite queries, overall and per relation.

    Args:
        queries: the composite queries.
        curves: (video id, texts) -> ((P, T) similarity curves of the texts, (T,) timestamps, duration).
        finders: moment methods, name -> finder.
        rng: the run's seeded generator (for the baselines).
        cfg: run settings.

    Returns:
        ``{subset: {method: {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}}}`` (x100), subsets
        ``composite``, ``composite-sequential`` and ``composite-simultaneous``.
    """
    top: dict[str, dict[str, tuple[float, float]]] = {}  # method -> qid -> top window
    for cq in queries:
        parts = decompose(cq.query)
        sims, ts, duration = curves(cq.vid, [cq.query, *parts.parts])  # (1 + P, T)
        for name, finder in finders.items():
            whole = finder(sims[0], ts, duration, cfg.windows_per_query)
            top.setdefault(name, {})[cq.qid] = _top_window(whole, duration)
            if parts.relation == "single":
                found = whole
            else:
                per_part = [finder(c, ts, duration, cfg.composite_per_part) for c in sims[1:]]
                found = combine(per_part, parts.relation, per_part=cfg.composite_per_part)
                found = found or finder(sims[1:].mean(axis=0), ts, duration, cfg.windows_per_query)
            top.setdefault(name + DECOMPOSED_SUFFIX, {})[cq.qid] = _top_window(found, duration)
        base_cfg = BaselineConfig(n_windows=cfg.windows_per_query, clip_length=cfg.clip_length)
        for name in BASELINES:
            windows, _ = baseline_prediction(name, duration, rng, base_cfg)
            top.setdefault(name, {})[cq.qid] = (windows[0][0], windows[0][1])
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    subsets = {
        "composite": list(queries),
        "composite-sequential": [q for q in queries if q.relation == "sequential"],
        "composite-simultaneous": [q for q in queries if q.relation == "simultaneous"],
    }
    for subset, members in subsets.items():
        if not members:
            continue
        gt = {q.qid: list(q.window) for q in members}
        out[subset] = {}
        for name, by_qid in top.items():
            metrics = evaluate_grounding({q.qid: list(by_qid[q.qid]) for q in members}, gt)
            out[subset][name] = {key: float(metrics[key]) for key in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU")}
    return out


def _top_window(found: Sequence[Moment], duration: float) -> tuple[float, float]:
    return (found[0].start, found[0].end) if found else (0.0, duration)


def _brief(
    metrics: dict[str, Any], windows: list[list[list[float]]], gts: list[list[list[float]]]
) -> dict[str, float | None]:
    brief = metrics.get("brief", {})
    row: dict[str, float | None] = {name: brief.get(key) for name, key in BRIEF_KEYS.items()}
    # R1@0.3 and mIoU of the top window, with the same IoU definition as the evaluator.
    if windows:
        top = evaluate_top_windows([w[:1] for w in windows], gts, iou_thresholds=(0.3,))
        row["R1@0.3"], row["mIoU"] = top["R1@0.3"], top["mIoU"]
    else:
        row["R1@0.3"] = row["mIoU"] = None
    return row


def _evaluate(records: list[dict[str, Any]], gt: list[dict[str, Any]]) -> dict[str, float | None]:
    if not gt:
        return {}
    metrics = evaluate_qvhighlights(records, gt)
    return _brief(
        metrics,
        [r["pred_relevant_windows"] for r in records],
        [g["relevant_windows"] for g in gt],
    )


def run_synth_bench(
    data_dir: str | os.PathLike[str],
    *,
    config: SynthBenchConfig | None = None,
    library_dir: str | os.PathLike[str] | None = None,
    finders: dict[str, MomentFinder] | None = None,
    progress: bool = True,
) -> SynthBenchReport:
    """Index a synthetic split and score retrieval, moment retrieval and highlights.

    Args:
        data_dir: a dataset written by ``chronolens synth``.
        config: run settings.
        library_dir: where the split's library lives (default ``DATA/.bench/<model>-<split>``;
            reused across runs, so only new videos are embedded).
        finders: moment methods to compare, name -> finder (``chronolens.tasks.ground.finders``;
            default: ``{"chronolens": get_finder("simple")}``).
        progress: show progress bars.

    Returns:
        The scores of every method and baseline.
    """
    from chronolens.data.formats.all import annotation_files
    from chronolens.data.formats.qvhighlights import read_qvhighlights
    from chronolens.data.formats.retrieval import read_retrieval_pairs
    from chronolens.data.synth import load_synth
    from chronolens.library import Library
    from chronolens.video.sampling import FixedFps

    # One function on purpose: retrieval, per-query moments and composites run in one open library
    # and draw from one rng in this order (the random and baseline rows depend on that order).
    cfg = config or SynthBenchConfig()
    dataset = load_synth(data_dir)
    videos = list(dataset.split(cfg.split))
    if not videos:
        raise ChronolensError(f"{data_dir}: split {cfg.split!r} has no videos")
    files = annotation_files(dataset.root, cfg.split)
    lib_dir = (
        Path(library_dir)
        if library_dir
        else Path(dataset.root) / ".bench" / f"{encoder_slug(cfg.model)}-{cfg.split}"
    )
    path_of = {v.id: str(Path(dataset.video_path(v)).resolve()) for v in videos}
    # Without finders: the "simple" finder, under the name this default has always been reported as.
    method_finders: dict[str, MomentFinder] = finders or {"chronolens": get_finder("simple")}

    with Library.open(lib_dir, model=cfg.model, sampling=FixedFps(fps=cfg.fps)) as lib:
        report_ingest = index(lib, list(path_of.values()), progress=progress)
        logger.info("bench library %s: %s", lib_dir, report_ingest)
        id_of_path = {p: vid for vid, p in path_of.items()}

        # Text -> video retrieval over the split's gallery, through the library's search.
        pairs = read_retrieval_pairs(files["retrieval"])
        ranks = []
        for video_id, caption in pairs:
            results = search(lib, caption, top_k=len(videos), moments_per_video=0)
            order = [id_of_path.get(str(Path(r.video).resolve())) for r in results]
            ranks.append(order.index(video_id) if video_id in order else len(videos))
        rng = np.random.default_rng(cfg.seed)
        random_ranks = np.array([int(rng.integers(len(videos))) for _ in pairs])
        retrieval = {
            "chronolens": retrieval_metrics(np.asarray(ranks)),
            "random": retrieval_metrics(random_ranks),
        }

        # Moment retrieval + highlights for each QVHighlights-format query.
        gt: list[dict[str, Any]] = [r.to_json() for r in read_qvhighlights(files["qvhighlights"])]
        texts = [str(g["query"]) for g in gt]
        text_emb = lib.encoder.encode_texts(texts) if texts else np.zeros((0, 1), np.float32)  # (Q, D)
        predictions: dict[str, list[dict[str, Any]]] = {name: [] for name in [*method_finders, *BASELINES]}
        for q, record in enumerate(gt):
            emb, ts = lib.frame_embeddings(path_of[str(record["vid"])])  # (T, D), (T,)
            duration = float(record["duration"])
            sim = emb.astype(np.float32) @ text_emb[q]  # (T,)
            saliency = clip_means(sim, ts, duration, cfg.clip_length).tolist()  # per-clip mean similarity
            for name, finder in method_finders.items():
                found = finder(sim, ts, duration, cfg.windows_per_query) or [Moment(0.0, duration, 0.0)]
                predictions[name].append(
                    {
                        "qid": record["qid"],
                        "query": record["query"],
                        "vid": record["vid"],
                        "pred_relevant_windows": [m.as_list() for m in found],
                        "pred_saliency_scores": saliency,
                    }
                )
            for name in BASELINES:
                windows, base_sal = baseline_prediction(
                    name,
                    duration,
                    rng,
                    BaselineConfig(n_windows=cfg.windows_per_query, clip_length=cfg.clip_length),
                )
                predictions[name].append(
                    {
                        "qid": record["qid"],
                        "query": record["query"],
                        "vid": record["vid"],
                        "pred_relevant_windows": windows,
                        "pred_saliency_scores": base_sal,
                    }
                )

        composites = composite_queries(videos) if cfg.composite else []
        if composites:
            texts = sorted({t for cq in composites for t in [cq.query, *decompose(cq.query).parts]})
            row_of = {t: i for i, t in enumerate(texts)}
            comp_emb = lib.encoder.encode_texts(texts)  # (N, D)
            duration_of = {v.id: float(v.duration) for v in videos}

            def curves(vid: str, wanted: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
                emb, ts = lib.frame_embeddings(path_of[vid])  # (T, D), (T,)
                rows = comp_emb[[row_of[t] for t in wanted]]  # (P, D)
                return (rows @ emb.astype(np.float32).T).astype(np.float64), ts, duration_of[vid]

            composite_rows = _score_composites(composites, curves, method_finders, rng, cfg)
        else:
            composite_rows = {}

    single = [i for i, g in enumerate(gt) if len(g["relevant_windows"]) == 1]
    moments: dict[str, dict[str, dict[str, float | None]]] = {"all": {}, "single-event": {}}
    for name, records in predictions.items():
        moments["all"][name] = _evaluate(records, gt)
        moments["single-event"][name] = _evaluate([records[i] for i in single], [gt[i] for i in single])
    moments.update(composite_rows)
    return SynthBenchReport(
        split=cfg.split,
        model=cfg.model,
        n_videos=len(videos),
        n_queries=len(gt),
        n_single_event=len(single),
        n_composite=len(composites),
        retrieval=retrieval,
        moments=moments,
    )


def format_report(
    report: SynthBenchReport, columns: Sequence[str] = ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "mAP", "HIT@1")
) -> str:
    """Render the report as plain-text tables."""
    lines = [
        f"chronolens bench synth — split {report.split}, model {report.model}: "
        f"{report.n_videos} videos, {report.n_queries} queries ({report.n_single_event} single-event), "
        f"{report.n_composite} composite (two-event) queries",
        "",
        "text -> video retrieval (x100)",
        f"  {'method':<16}{'R@1':>8}{'R@5':>8}{'R@10':>8}{'MdR':>8}",
    ]
    for name, row in report.retrieval.items():
        lines.append(
            f"  {name:<16}{row['R1']:>8.1f}{row['R5']:>8.1f}{row['R10']:>8.1f}{row['MedianR']:>8.1f}"
        )
    for subset, rows in report.moments.items():
        lines += ["", f"moment retrieval + highlights, {subset} queries (x100)"]
        lines.append("  " + f"{'method':<24}" + "".join(f"{c:>9}" for c in columns))
        for name, cells_by_metric in rows.items():
            cells = "".join(
                f"{'—' if cells_by_metric.get(c) is None else format(cells_by_metric[c], '.1f'):>9}"
                for c in columns
            )
            lines.append(f"  {name:<24}{cells}")
    return "\n".join(lines)
