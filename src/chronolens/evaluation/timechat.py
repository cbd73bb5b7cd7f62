"""``chronolens bench timechat``: ask a TimeChat checkpoint every query of a benchmark and score it.

The annotations are read in their native formats — by default the files ``chronolens synth``
writes under ``DATA/annotations`` for the split (``charades_sta_<split>.txt``,
``dense_captions_<split>.json``, ``qvhighlights_<split>.jsonl``), or any real file of the same
format — and the videos are found by file name without extension under ``DATA/videos`` (or a
given directory). Every query is asked with the task's TimeIT instruction (what the model was
tuned on), greedily; the predictions are written in the task's native format and scored with
``chronolens.metrics``:

- ``grounding``: TimeChat's answers file ``[{vname, generated_cap, query, id}]`` plus the
  coco-style ground truth it is scored against (with each video's duration, so the default
  parser clamps); ``metrics.grounding.evaluate_answers``: R1@{0.3, 0.5, 0.7}, mIoU and the
  number of answers without a span (``parse_failures``, counted as misses). Recorded and scored
  by ``evaluation.timechat_grounding.score_grounding_answers``, as the training recipe's
  held-out evaluation is, so both report the same numbers for the same answers.
- ``dense-captioning``: the raw answers and the parsed ``{vid: [{timestamp, caption}]}``;
  ``metrics.dense_captioning``: F1 (mean precision/recall over tIoU 0.3-0.9), CIDEr, and
  METEOR / SODA_c when Java and the METEOR jar are there (else null, with a note).
- ``highlights``: the raw answers and a QVHighlights prediction jsonl
  ``{qid, query, vid, pred_saliency_scores}`` (clip scores from the answer's times and
  scores); ``metrics.qvhighlights.evaluate_qvhighlights``: HL mAP and HIT@1 (VeryGood level).

A checkpoint trained with ``model.transcript = true`` hears the videos here too: each prompt
carries the transcript beside its video (``VIDEO.transcript.json``, else ``VIDEO.srt`` /
``.vtt``; :func:`chronolens.models.timechat.transcript.video_transcript`), under the model's line
and token limits; a video without one is asked exactly as without speech.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from chronolens.atomic import write_json_atomic, write_jsonl_atomic
from chronolens.data.formats.timeit_tasks import BENCH_TASKS
from chronolens.errors import ChronolensError
from chronolens.evaluation.timechat_grounding import GroundingQuery, score_grounding_answers
from chronolens.evaluation.videos import require_videos, video_files
from chronolens.progress import progress_bar
from chronolens.tasks.answer import (
    TimeChatSession,
    VideoFeatures,
    caption_instruction,
    grounding_instruction,
    highlight_instruction,
)
from chronolens.timebase.text import check_parser, highlight_saliency, parse_highlight_answer

if TYPE_CHECKING:
    from chronolens.models.timechat.config import TimeChatConfig

__all__ = [
    "TASKS",
    "TimeChatBenchReport",
    "format_report",
    "run_timechat_bench",
]

logger = logging.getLogger(__name__)

TASKS = tuple(BENCH_TASKS)  # "grounding", "dense-captioning", "highlights"
# Annotation format of each task, as chronolens.data.formats.all.annotation_files names them.
TASK_FORMATS = {
    "grounding": "charades_sta",
    "dense-captioning": "dense_captions",
    "highlights": "qvhighlights",
}
# Generated tokens per answer: a grounding answer is one sentence, a dense caption one per event.
MAX_NEW_TOKENS = {"grounding": 64, "dense-captioning": 384, "highlights": 160}
# The numbers the table shows first, per task (all metrics are in the JSON).
HEADLINE = {
    "grounding": ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "parse_failures"),
    "dense-captioning": ("F1_Score", "CIDER", "METEOR", "SODA_c", "parse_failures"),
    "highlights": ("mAP", "HIT@1", "parse_failures"),
}
HIGHLIGHT_LEVEL = "HL-min-VeryGood"  # the QVHighlights level papers report mAP / HIT@1 at
DEFAULT_DVC_SPLIT = "val"  # SODA_c key used for splits eval_dvc does not number (e.g. compositional)

T = TypeVar("T")


@dataclass
class TimeChatBenchReport:
    """What one ``bench timechat`` run measured and wrote."""

    task: str
    split: str
    checkpoint: str
    n_videos: int
    n_queries: int
    parse_failures: int  # answers from which nothing could be read
    metrics: dict[str, Any]  # the metric function's full output (values x100)
    summary: dict[str, float | int | None]  # the headline numbers
    files: dict[str, str] = field(default_factory=dict)  # what was written: name -> path
    seconds: float = 0.0  # wall time of the run

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        return {
            "task": self.task,
            "split": self.split,
            "checkpoint": self.checkpoint,
            "n_videos": self.n_videos,
            "n_queries": self.n_queries,
            "parse_failures": self.parse_failures,
            "summary": self.summary,
            "metrics": self.metrics,
            "files": self.files,
            "seconds": self.seconds,
        }


def format_report(report: TimeChatBenchReport) -> str:
    """A small human-readable table of the headline metrics."""
    lines = [
        f"TimeChat {report.task} on {report.split}: {report.n_queries} queries, {report.n_videos} videos "
        f"({report.seconds:.1f} s)",
        f"checkpoint {report.checkpoint}",
    ]
    for key, value in report.summary.items():
        if value is None:
            shown = "n/a"
        elif isinstance(value, int):
            shown = str(value)
        else:
            shown = f"{value:.2f}"
        lines.append(f"  {key:<16}{shown:>10}")
    for note in report.metrics.get("notes", []) or []:
        if note:
            lines.append(f"  note: {note}")
    for name, path in report.files.items():
        lines.append(f"  {name}: {path}")
    return "\n".join(lines)


def _annotation_file(
    data: Path | None, task: str, split: str, annotations: str | os.PathLike[str] | None
) -> Path:
    if annotations is not None:
        path = Path(annotations)
    else:
        if data is None:
            raise ChronolensError("bench timechat needs --data DIR or --annotations FILE")
        from chronolens.data.formats.all import annotation_files

        path = annotation_files(data, split)[TASK_FORMATS[task]]
    if not path.is_file():
        raise ChronolensError(
            f"no {task} annotations at {path} (render a split with 'chronolens synth', or pass --annotations)"
        )
    return path


def _by_video(items: Sequence[T], vid: Callable[[T], str]) -> dict[str, list[tuple[int, T]]]:
    """Items grouped by video, each with its index, videos in first-seen order."""
    groups: dict[str, list[tuple[int, T]]] = {}
    for i, item in enumerate(items):
        groups.setdefault(vid(item), []).append((i, item))
    return groups


def run_timechat_bench(
    data: str | os.PathLike[str] | None,
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    task: str,
    split: str = "test",
    limit: int | None = None,
    out: str | os.PathLike[str] | None = None,
    annotations: str | os.PathLike[str] | None = None,
    videos: str | os.PathLike[str] | None = None,
    parser: str = "default",
    max_new_tokens: int | None = None,
    batch_size: int = 8,
    device: str | None = None,
    session: TimeChatSession | None = None,
    progress: bool = False,
    transcripts: bool | None = None,
) -> TimeChatBenchReport:
    """Ask a TimeChat checkpoint every query of a benchmark split, write its predictions, score them.

    Args:
        data: a dataset directory (``chronolens synth`` layout: ``annotations/``, ``videos/``).
        checkpoint: TimeChat checkpoint directory (or pass ``session``).
        task: ``"grounding"``, ``"dense-captioning"`` or ``"highlights"``.
        split: which split's annotation file to read.
        limit: use only the first ``limit`` queries (dense captioning: videos).
        out: directory for the predictions (default ``DATA/.bench/timechat-<checkpoint name>``).
        annotations: a native annotation file to use instead of ``DATA/annotations``'s.
        videos: directory of ``<vid>.<ext>`` videos (default ``DATA/videos``).
        parser: answer parser, ``"default"`` or ``"timechat"`` (reference parity).
        max_new_tokens: cap on generated tokens per answer (default: per task).
        batch_size: queries of one video generated together.
        device: torch device (with ``checkpoint``).
        session: an existing session (shares its loaded model and sampled videos).
        progress: show a progress bar.
        transcripts: put each video's transcript file in its prompts; None = when the model's
            config says ``transcript = true`` (a session with a ``generate_fn`` has no config: off).

    Returns:
        The report; its ``files`` name every file written.

    Raises:
        ChronolensError: missing annotations, videos or checkpoint; ValueError: bad arguments.
    """
    if task not in TASKS:
        raise ValueError(f"task: unknown task {task!r}; choose one of {', '.join(TASKS)}")
    check_parser(parser)
    if limit is not None and limit < 1:
        raise ValueError(f"limit: must be >= 1, got {limit}")
    if session is None:
        if checkpoint is None:
            raise ValueError("run_timechat_bench needs a checkpoint or a session")
        session = TimeChatSession(checkpoint, device=device)
    t0 = time.perf_counter()
    root = Path(data) if data is not None else None
    ann = _annotation_file(root, task, split, annotations)
    videos_dir = Path(videos) if videos is not None else (root or ann.parent) / "videos"
    files = video_files(videos_dir)
    out_dir = Path(out) if out is not None else (root or ann.parent) / ".bench" / f"timechat-{session.name}"
    ctx = _Context(
        session=session,
        files=files,
        annotations=ann,
        videos_dir=videos_dir,
        out=out_dir,
        split=split,
        limit=limit,
        parser=parser,
        max_new_tokens=max_new_tokens or MAX_NEW_TOKENS[task],
        batch_size=batch_size,
        progress=progress,
        speech=_speech_config(session, transcripts),
    )
    runner = {"grounding": _grounding, "dense-captioning": _dense_captioning, "highlights": _highlights}[task]
    report = runner(ctx)
    report.checkpoint = str(session.checkpoint or session.name)
    report.seconds = time.perf_counter() - t0
    metrics_path = out_dir / f"{TASK_FORMATS[task]}_{split}_metrics.json"
    report.files["metrics"] = str(write_json_atomic(metrics_path, report.to_json(), indent=1))
    logger.info("%s: %s", task, report.summary)
    return report


@dataclass
class _Context:
    """Everything one task runner needs."""

    session: TimeChatSession
    files: dict[str, Path]
    annotations: Path
    videos_dir: Path
    out: Path
    split: str
    limit: int | None
    parser: str
    max_new_tokens: int
    batch_size: int
    progress: bool
    speech: TimeChatConfig | None = None  # the transcript limits; None = prompts without speech

    def path(self, name: str) -> Path:
        return self.out / name

    def take(self, items: Sequence[T]) -> list[T]:
        return list(items[: self.limit] if self.limit is not None else items)


def _write_json(path: Path, data: object) -> str:
    return str(write_json_atomic(path, data, indent=1))


def _grounding(ctx: _Context) -> TimeChatBenchReport:
    from chronolens.data.formats.charades_sta import read_charades_sta

    records = ctx.take(read_charades_sta(ctx.annotations))
    if not records:
        raise ChronolensError(f"{ctx.annotations}: no queries")
    queries: list[GroundingQuery | None] = [None] * len(records)
    texts = [""] * len(records)
    for n, r, path, sampled, text in _answer_by_video(
        ctx, records, lambda r: r.vid, lambda r: grounding_instruction(r.sentence), "grounding"
    ):
        queries[n] = GroundingQuery(
            id=n, video=path.name, query=r.sentence, window=(r.start, r.end), duration=sampled.duration
        )
        texts[n] = text
    asked = [q for q in queries if q is not None]
    assert len(asked) == len(records)  # _answer_by_video answers every record
    scores = score_grounding_answers(asked, texts, parser=ctx.parser)
    written = {
        "answers": _write_json(ctx.path(f"charades_sta_{ctx.split}_answers.json"), scores.answers),
        "ground_truth": _write_json(ctx.path(f"charades_sta_{ctx.split}_gt.json"), scores.ground_truth),
    }
    metrics: dict[str, Any] = dict(scores.metrics)
    summary = {k: metrics.get(k) for k in HEADLINE["grounding"]}
    return TimeChatBenchReport(
        task="grounding",
        split=ctx.split,
        checkpoint="",
        n_videos=len({r.vid for r in records}),
        n_queries=len(records),
        parse_failures=int(metrics["parse_failures"]),
        metrics=metrics,
        summary=summary,
        files=written,
    )


def _speech_config(session: TimeChatSession, transcripts: bool | None) -> TimeChatConfig | None:
    """The config whose transcript limits the prompts follow, or None for prompts without speech."""
    from chronolens.models.timechat.config import TimeChatConfig

    if transcripts is False:
        return None
    config = session.model.config if session.generate_fn is None else None
    if transcripts is None:
        return config if config is not None and config.transcript else None
    return (config or TimeChatConfig()).with_(transcript=True)


def _transcript(ctx: _Context, path: Path) -> str | None:
    """The transcript lines of the video at ``path`` for its prompts (None: none, or speech is off)."""
    from chronolens.models.timechat.transcript import config_transcript_text, video_transcript

    if ctx.speech is None:
        return None
    tokenizer = ctx.session.model.tokenizer if ctx.session.generate_fn is None else None
    return config_transcript_text(video_transcript(path), ctx.speech, tokenizer)


def _generate(
    ctx: _Context, sampled: VideoFeatures, instructions: list[str], transcript: str | None = None
) -> list[str]:
    return ctx.session.generate(
        sampled,
        instructions,
        transcript=transcript,
        max_new_tokens=ctx.max_new_tokens,
        batch_size=ctx.batch_size,
    )


def _answer_by_video(
    ctx: _Context,
    records: Sequence[T],
    vid: Callable[[T], str],
    instruction: Callable[[T], str],
    desc: str,
) -> Iterator[tuple[int, T, Path, VideoFeatures, str]]:
    """Ask every record's instruction, one video at a time (each video is sampled once).

    Yields ``(index in records, record, video file, sampled video, answer text)``.
    """
    require_videos(ctx.files, (vid(r) for r in records), ctx.annotations, ctx.videos_dir)
    groups = _by_video(records, vid)
    with progress_bar(total=len(groups), desc=desc, unit="video", enabled=ctx.progress) as bar:
        for key, items in groups.items():
            path = ctx.files[key]
            sampled = ctx.session.sample(path)
            texts = _generate(ctx, sampled, [instruction(r) for _, r in items], _transcript(ctx, path))
            for (n, r), text in zip(items, texts, strict=True):
                yield n, r, path, sampled, text
            bar.update(1)


def _dense_captioning(ctx: _Context) -> TimeChatBenchReport:
    from chronolens.metrics.dense_captioning import (
        SPLIT_IDS,
        evaluate_dense_captioning,
        read_ground_truth,
        read_predictions,
    )
    from chronolens.metrics.io import load_json
    from chronolens.timebase import clamp_span
    from chronolens.timebase.text import parse_timestamped_captions

    data = load_json(ctx.annotations)
    ground_truth = ctx.take(read_ground_truth(data, str(ctx.annotations)))
    if not ground_truth:
        raise ChronolensError(f"{ctx.annotations}: no videos")
    vids = [Path(v.key).stem for v in ground_truth]
    require_videos(ctx.files, vids, ctx.annotations, ctx.videos_dir)
    instruction = caption_instruction()
    answers: list[dict[str, Any]] = []
    predictions: dict[str, list[dict[str, Any]]] = {}
    failures = 0
    with progress_bar(
        total=len(ground_truth), desc="dense captioning", unit="video", enabled=ctx.progress
    ) as bar:
        for n, (video, vid) in enumerate(zip(ground_truth, vids, strict=True)):
            sampled = ctx.session.sample(ctx.files[vid])
            (text,) = _generate(ctx, sampled, [instruction], _transcript(ctx, ctx.files[vid]))
            answers.append({"vname": video.key, "generated_cap": text, "query": instruction, "id": n})
            events = parse_timestamped_captions(text, duration=sampled.duration, parser=ctx.parser)
            failures += not events
            predictions[video.key] = [
                {"timestamp": list(_bounds(clamp_span(s.start, s.end, sampled.duration))), "caption": c}
                for s, c in events
            ]
            bar.update(1)
    written = {
        "answers": _write_json(ctx.path(f"dense_captions_{ctx.split}_answers.json"), answers),
        "predictions": _write_json(ctx.path(f"dense_captions_{ctx.split}_preds.json"), predictions),
    }
    split = ctx.split if ctx.split in SPLIT_IDS else DEFAULT_DVC_SPLIT
    metrics = evaluate_dense_captioning(read_predictions(predictions), ground_truth, split=split)
    metrics["parse_failures"] = failures
    named = {**metrics, "SODA_c": metrics.get(f"SODA_c_{SPLIT_IDS[split]}")}
    summary = {k: named.get(k) for k in HEADLINE["dense-captioning"]}
    return TimeChatBenchReport(
        task="dense-captioning",
        split=ctx.split,
        checkpoint="",
        n_videos=len(ground_truth),
        n_queries=len(ground_truth),
        parse_failures=failures,
        metrics=metrics,
        summary=summary,
        files=written,
    )


def _bounds(span: Any) -> tuple[float, float]:
    return float(span.start), float(span.end)


def _highlights(ctx: _Context) -> TimeChatBenchReport:
    from chronolens.data.formats.qvhighlights import read_qvhighlights
    from chronolens.metrics.qvhighlights import evaluate_qvhighlights

    records = ctx.take(read_qvhighlights(ctx.annotations))
    if not records:
        raise ChronolensError(f"{ctx.annotations}: no queries")
    answers: list[dict[str, Any]] = [{} for _ in records]
    predictions: list[dict[str, Any]] = [{} for _ in records]
    failures = 0
    for n, r, path, _, text in _answer_by_video(
        ctx, records, lambda r: r.vid, lambda r: highlight_instruction(r.query), "highlights"
    ):
        pairs = parse_highlight_answer(text)
        failures += not pairs
        answers[n] = {"vname": path.name, "generated_cap": text, "query": r.query, "id": r.qid}
        predictions[n] = {
            "qid": r.qid,
            "query": r.query,
            "vid": r.vid,
            # The GT's duration: the evaluator counts int(duration / 2) clips from it.
            "pred_saliency_scores": highlight_saliency(pairs, r.duration),
        }
    preds_path = ctx.path(f"qvhighlights_{ctx.split}_preds.jsonl")
    written = {
        "answers": _write_json(ctx.path(f"qvhighlights_{ctx.split}_answers.json"), answers),
        "predictions": str(write_jsonl_atomic(preds_path, predictions)),
    }
    metrics = evaluate_qvhighlights(predictions, [r.to_json() for r in records])
    metrics["parse_failures"] = failures
    brief = metrics["brief"]
    summary: dict[str, float | int | None] = {
        "mAP": brief.get(f"{HIGHLIGHT_LEVEL}-mAP"),
        "HIT@1": brief.get(f"{HIGHLIGHT_LEVEL}-Hit1"),
        "parse_failures": failures,
    }
    return TimeChatBenchReport(
        task="highlights",
        split=ctx.split,
        checkpoint="",
        n_videos=len({r.vid for r in records}),
        n_queries=len(records),
        parse_failures=failures,
        metrics=metrics,
        summary=summary,
        files=written,
    )
