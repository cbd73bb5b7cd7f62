"""``chronolens bench speech``: what a speech model hears, when, and whether spoken search finds it.

The set and its queries: :mod:`chronolens.evaluation.speech_set` (synthetic benchmark videos
whose audio tracks speak espeak-ng sentences at known times, clean and under noise).

Transcription figures (:func:`score_transcripts`), overall and per SNR:

- ``wer``: corpus word error rate (``chronolens.metrics.wer``: total edits / total reference
  words) of each video's segments joined against its sentences joined;
- ``start_error`` / ``end_error``: mean seconds between each sentence and the recognised segment
  of highest temporal IoU (``segment_time_error``), with the sentences no segment overlaps;
- ``silent_segments``: segments recognised in the silent videos (made-up speech);
- ``speed``: seconds of audio transcribed per second of wall time.

Retrieval figures (:func:`score_retrieval`) on the set's ``lexical``, ``semantic`` (spoken) and
``visual`` (shown) queries, so fusion is measured on both kinds of evidence. A searcher
returns ranked ``(video, start, end, score)`` hits; ``R@1`` counts queries whose first hit is in
the video that speaks the sentence (shows the event), ``R1@0.5`` those whose first hit also
overlaps the sentence's (event's) span with IoU >= 0.5 (``chronolens.metrics.temporal``),
``R1@in`` those whose first hit's centre lies inside the sentence (a lexical hit is trimmed to the
matched words, so it is far shorter than the sentence: inside it, not IoU 0.5, is its success).
``random`` is the expectation of a uniform pick: ``1 / videos`` for R@1, and for R1@0.5 that
times the chance that a random sentence-long span of its video hits the sentence (computed per
query by sampling).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.evaluation.speech_set import SpeechQuery, SpeechSet, SpeechVideo, speech_queries
from chronolens.metrics.temporal import temporal_iou
from chronolens.metrics.wer import corpus_word_error_rate, segment_time_error
from chronolens.speech.base import Segment, SpeechBackend, Transcript

if TYPE_CHECKING:
    from chronolens.encoders.sentence import TextEncoder
    from chronolens.library.library import Library
    from chronolens.tasks.speech_search import SpeechMode

__all__ = [
    "RetrievalScore",
    "SpeechBenchReport",
    "TranscriptionScore",
    "format_speech_report",
    "random_retrieval",
    "run_speech_bench",
    "score_retrieval",
    "score_transcripts",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TranscriptionScore:
    """Transcription quality of one group of videos."""

    condition: str
    videos: int
    wer: float  # corpus WER (NaN for silent videos)
    start_error: float  # mean seconds
    end_error: float
    matched: int  # sentences some segment overlaps
    missed: int
    segments: int  # segments recognised


def score_transcripts(
    videos: Sequence[SpeechVideo], transcripts: Sequence[Transcript]
) -> list[TranscriptionScore]:
    """Per condition (clean, each SNR, silent) and ``all`` spoken videos (module docstring)."""
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(videos):
        groups.setdefault(v.condition, []).append(i)
    spoken = [i for i, v in enumerate(videos) if v.sentences]
    order = sorted(groups, key=lambda c: (c == "silent", c != "clean", c))
    rows = [(c, groups[c]) for c in order] + ([("all", spoken)] if spoken else [])
    return [_score_group(name, [videos[i] for i in idx], [transcripts[i] for i in idx]) for name, idx in rows]


def _score_group(name: str, videos: list[SpeechVideo], transcripts: list[Transcript]) -> TranscriptionScore:
    pairs = [
        (" ".join(s.text for s in v.sentences), " ".join(seg.text for seg in t.segments))
        for v, t in zip(videos, transcripts, strict=True)
        if v.sentences
    ]
    starts: list[float] = []
    ends: list[float] = []
    matched = missed = 0
    for v, t in zip(videos, transcripts, strict=True):
        if not v.sentences:
            continue
        err = segment_time_error(
            [(s.start, s.end) for s in v.sentences], [(g.start, g.end) for g in t.segments]
        )
        matched += err.matched
        missed += err.missed
        if err.matched:
            starts.append(err.start * err.matched)
            ends.append(err.end * err.matched)
    nan = float("nan")
    return TranscriptionScore(
        condition=name,
        videos=len(videos),
        wer=corpus_word_error_rate(pairs) if pairs else nan,
        start_error=sum(starts) / matched if matched else nan,
        end_error=sum(ends) / matched if matched else nan,
        matched=matched,
        missed=missed,
        segments=sum(len(t.segments) for t in transcripts),
    )


Hit = tuple[str, float, float, float]  # (video path, start, end, score), best first
Searcher = Callable[[str], Sequence[Hit]]


@dataclass(frozen=True, kw_only=True)
class RetrievalScore:
    """R@1 and R1@0.5 (x100) of one searcher on one kind of query."""

    searcher: str
    kind: str  # "lexical", "semantic", "visual" or "all"
    queries: int
    r_at_1: float
    r1_at_05: float
    r1_inside: float = math.nan  # first hit in the right video with its centre inside the sentence
    seconds_per_query: float = math.nan


def score_retrieval(name: str, searcher: Searcher, queries: Sequence[SpeechQuery]) -> list[RetrievalScore]:
    """Score ``searcher`` on each kind of query and on all of them (module docstring)."""
    hits: dict[str, tuple[bool, bool, bool]] = {}
    started = time.perf_counter()
    for q in queries:
        found = list(searcher(q.text))
        top_video = found[0][0] if found else None
        right = top_video is not None and Path(top_video) == Path(q.video)
        iou = float(temporal_iou([[found[0][1], found[0][2]]], [[q.start, q.end]])[0, 0]) if right else 0.0
        inside = right and q.start <= (found[0][1] + found[0][2]) / 2 <= q.end
        hits[f"{q.kind}\0{q.text}\0{q.video}"] = (right, right and iou >= 0.5, inside)
    per_query = (time.perf_counter() - started) / max(1, len(queries))
    rows = []
    for kind in ("lexical", "semantic", "visual", "all"):
        keys = [f"{q.kind}\0{q.text}\0{q.video}" for q in queries if kind in ("all", q.kind)]
        if not keys:
            continue
        rows.append(
            RetrievalScore(
                searcher=name,
                kind=kind,
                queries=len(keys),
                r_at_1=100.0 * sum(hits[k][0] for k in keys) / len(keys),
                r1_at_05=100.0 * sum(hits[k][1] for k in keys) / len(keys),
                r1_inside=100.0 * sum(hits[k][2] for k in keys) / len(keys),
                seconds_per_query=per_query,
            )
        )
    return rows


def random_retrieval(
    videos: Sequence[SpeechVideo], queries: Sequence[SpeechQuery], *, seed: int = 0
) -> list[RetrievalScore]:
    """The expected figures of a uniform pick of video and of a sentence-long span inside it."""
    rng = np.random.default_rng(seed)
    durations = {v.path: v.duration for v in videos}
    p_video = 1.0 / len(videos)
    p_moment: dict[str, float] = {}
    p_inside: dict[str, float] = {}
    for q in queries:
        length, duration = q.end - q.start, durations[q.video]
        starts = rng.uniform(0.0, max(0.0, duration - length), 2_000)
        spans = np.stack([starts, starts + length], axis=1)
        p_moment[f"{q.kind}\0{q.text}"] = float((temporal_iou(spans, [[q.start, q.end]])[:, 0] >= 0.5).mean())
        p_inside[f"{q.kind}\0{q.text}"] = (q.end - q.start) / duration  # a uniform instant inside it
    rows = []
    for kind in ("lexical", "semantic", "visual", "all"):
        keys = [f"{q.kind}\0{q.text}" for q in queries if kind in ("all", q.kind)]
        if keys:
            moment = sum(p_moment[k] for k in keys) / len(keys)
            inside = sum(p_inside[k] for k in keys) / len(keys)
            rows.append(
                RetrievalScore(
                    searcher="random",
                    kind=kind,
                    queries=len(keys),
                    r_at_1=100 * p_video,
                    r1_at_05=100 * p_video * moment,
                    r1_inside=100 * p_video * inside,
                )
            )
    return rows


@dataclass(kw_only=True)
class SpeechBenchReport:
    """Everything ``bench speech`` measured."""

    backend: str
    transcription: list[TranscriptionScore]
    audio_seconds: float
    transcribe_seconds: float
    retrieval: list[RetrievalScore] = field(default_factory=list)
    index_seconds: dict[str, float] = field(default_factory=dict)  # "visual" / "visual+speech"

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON object (NaN as null)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and math.isnan(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        return clean(
            {
                "backend": self.backend,
                "audio_seconds": self.audio_seconds,
                "transcribe_seconds": self.transcribe_seconds,
                "audio_seconds_per_wall_second": self.audio_seconds / self.transcribe_seconds
                if self.transcribe_seconds
                else None,
                "transcription": [asdict(r) for r in self.transcription],
                "retrieval": [asdict(r) for r in self.retrieval],
                "index_seconds": self.index_seconds,
            }
        )


def format_speech_report(report: SpeechBenchReport) -> str:
    """The report as the tables ``bench speech`` prints."""

    def num(value: float, digits: int = 2) -> str:
        return "-" if math.isnan(value) else f"{value:.{digits}f}"

    speed = report.audio_seconds / report.transcribe_seconds if report.transcribe_seconds else math.nan
    lines = [
        f"speech  backend: {report.backend}  audio {report.audio_seconds:.1f} s in "
        f"{report.transcribe_seconds:.1f} s wall ({num(speed, 1)} audio-s per wall-s)",
        f"{'condition':<14}{'videos':>7}{'WER':>7}{'start s':>9}{'end s':>7}{'matched':>9}{'missed':>8}"
        f"{'segments':>10}",
    ]
    for r in report.transcription:
        lines.append(
            f"{r.condition:<14}{r.videos:>7}{num(r.wer):>7}{num(r.start_error):>9}{num(r.end_error):>7}"
            f"{r.matched:>9}{r.missed:>8}{r.segments:>10}"
        )
    if report.retrieval:
        lines += [
            "",
            f"{'search':<16}{'queries':<10}{'n':>4}{'R@1':>7}{'R1@0.5':>8}{'R1@in':>7}{'ms/query':>10}",
        ]
        for hit in report.retrieval:
            ms = "-" if math.isnan(hit.seconds_per_query) else f"{1000 * hit.seconds_per_query:.1f}"
            lines.append(
                f"{hit.searcher:<16}{hit.kind:<10}{hit.queries:>4}{hit.r_at_1:>7.1f}{hit.r1_at_05:>8.1f}"
                f"{hit.r1_inside:>7.1f}{ms:>10}"
            )
    if report.index_seconds:
        parts = [f"{k} {v:.1f} s" for k, v in report.index_seconds.items()]
        lines += ["", "index time: " + ", ".join(parts)]
    return "\n".join(lines)


def _hits(results: Sequence[Any]) -> list[Hit]:
    """``(video, start, end, score)`` of each result's best moment (results without one dropped)."""
    return [(r.video, r.moments[0].start, r.moments[0].end, r.score) for r in results if r.moments]


def _library(path: Path, videos: Sequence[SpeechVideo], model: str) -> Library:
    """A fresh library of the set's videos (the visual index) at ``path``."""
    import shutil

    from chronolens.ingest import index
    from chronolens.library.library import Library

    shutil.rmtree(path, ignore_errors=True)
    library = Library.open(path, model=model)
    index(library, [v.path for v in videos], progress=False)
    return library


def run_speech_bench(
    speech_set: SpeechSet,
    backend: SpeechBackend | None,
    *,
    backend_name: str,
    work_dir: str | Path,
    visual_model: str = "builtin:synth-clip",
    text_encoder: TextEncoder | None = None,
    language: str | None = "en",
    progress: bool = False,
) -> SpeechBenchReport:
    """Index the set with ``--speech`` as a user would, then score transcripts and spoken search.

    One library holds the visual index and ``backend``'s transcripts (its transcription pass is
    the one timed, and the one scored); a second holds the true sentences as subtitles (the
    ``oracle text`` rows: spoken search with a perfect recogniser). Searchers: ``speech
    lexical``, ``speech semantic`` and ``speech both`` (with ``text_encoder``; without one the
    semantic rows are left out), ``fused`` (visual + speech, ``chronolens.tasks.fusion``), ``visual``
    (frames only: these videos show plain colours, so it is a floor), and ``random``.

    Args:
        speech_set: from :func:`render_speech_set`.
        backend: the speech model (None: subtitle files beside the videos).
        backend_name: its name, for the report.
        work_dir: where the libraries are built (replaced).
        visual_model: the frame encoder of the visual index.
        text_encoder: the sentence encoder of semantic search.
        language: the language given to the model (None: detected per video).
        progress: bars on a terminal.
    """
    from chronolens.ingest.speech import index_speech
    from chronolens.library.transcripts import load_transcript
    from chronolens.speech.formats import to_srt
    from chronolens.tasks.fusion import fuse
    from chronolens.tasks.search import search
    from chronolens.tasks.speech_search import search_speech

    work = Path(work_dir)
    videos = speech_set.videos
    started = time.perf_counter()
    library = _library(work / "asr", videos, visual_model)
    visual_s = time.perf_counter() - started
    started = time.perf_counter()
    index_speech(library, backend, language=language, text_encoder=text_encoder, progress=progress)
    speech_s = time.perf_counter() - started
    ids = {r.path: r.id for r in library.indexed().values()}
    transcripts = [
        load_transcript(library.catalog, ids[str(Path(v.path).resolve())])
        or Transcript(segments=(), model="-")
        for v in videos
    ]
    report = SpeechBenchReport(
        backend=backend_name,
        transcription=score_transcripts(videos, transcripts),
        audio_seconds=sum(v.duration for v in videos),
        transcribe_seconds=speech_s,
        index_seconds={"visual": visual_s, "+ speech": speech_s},
    )
    queries = speech_queries(videos)
    modes: tuple[SpeechMode, ...] = (
        ("lexical", "semantic", "both") if text_encoder is not None else ("lexical",)
    )

    def spoken(lib: Library, mode: SpeechMode) -> Searcher:
        return lambda q: _hits(search_speech(lib, q, mode=mode, text_encoder=text_encoder, top_k=10))

    def visual(q: str) -> list[Hit]:
        return _hits(search(library, q, top_k=10))

    def fused(q: str) -> list[Hit]:
        said = search_speech(library, q, mode=modes[-1], text_encoder=text_encoder, top_k=20)
        return _hits(fuse(search(library, q, top_k=20), said, top_k=10))

    for mode in modes:
        report.retrieval += score_retrieval(f"speech {mode}", spoken(library, mode), queries)
    report.retrieval += score_retrieval("fused", fused, queries)
    report.retrieval += score_retrieval("visual", visual, queries)
    for video in videos:  # the true sentences as subtitles: a perfect recogniser
        truth = Transcript(
            segments=tuple(Segment(start=s.start, end=s.end, text=s.text) for s in video.sentences),
            model="truth",
        )
        Path(video.path).with_suffix(".srt").write_text(to_srt(truth), encoding="utf-8")
    oracle = _library(work / "oracle", videos, visual_model)
    try:
        index_speech(oracle, None, text_encoder=text_encoder, progress=False)
        for mode in modes:
            report.retrieval += score_retrieval(f"oracle {mode}", spoken(oracle, mode), queries)
    finally:
        oracle.close()
        library.close()
        for video in videos:
            Path(video.path).with_suffix(".srt").unlink(missing_ok=True)
    report.retrieval += random_retrieval(videos, queries)
    return report
