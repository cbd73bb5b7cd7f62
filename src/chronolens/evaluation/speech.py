"""``chronolens bench speech``: what a speech model hears, when, and whether spoken search finds it.

The set: synthetic videos whose audio tracks speak sentences at known times
(:func:`chronolens.data.synth.speech.render_speech_video`, Debian's espeak-ng), built once into
the cache. Each video speaks two sentences of :data:`SENTENCES` (no sentence twice in the set),
in a voice of :data:`VOICES` at a speed of :data:`SPEEDS`, clean or under white noise at an SNR
of :data:`SNRS`; :data:`N_SILENT` videos have an audio track with no speech. The true span of a
sentence is its voiced samples on the video's clock.

Transcription figures (:func:`score_transcripts`), overall and per SNR:

- ``wer``: corpus word error rate (``chronolens.metrics.wer``: total edits / total reference
  words) of each video's segments joined against its sentences joined;
- ``start_error`` / ``end_error``: mean seconds between each sentence and the recognised segment
  of highest temporal IoU (``segment_time_error``), with the sentences no segment overlaps;
- ``silent_segments``: segments recognised in the silent videos (made-up speech);
- ``speed``: seconds of audio transcribed per second of wall time.

Retrieval figures (:func:`score_retrieval`): every sentence is asked twice, by a phrase it
contains (``lexical`` queries) and by a paraphrase sharing no content word with it (``semantic``
queries). A searcher returns ranked ``(video, start, end, score)`` hits; ``R@1`` counts queries
whose first hit is in the video that speaks the sentence, ``R1@0.5`` those whose first hit also
overlaps the sentence's span with IoU >= 0.5 (``chronolens.metrics.temporal``), ``R1@in`` those
whose first hit's centre lies inside the sentence (a lexical hit is trimmed to the matched words,
so it is far shorter than the sentence: inside it, not IoU 0.5, is its success). ``random`` is the
expectation of a uniform pick: ``1 / videos`` for R@1, and for R1@0.5 that times the chance that
a random sentence-long span of its video hits the sentence (computed per query by sampling).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.atomic import write_json_atomic
from chronolens.errors import ChronolensError
from chronolens.metrics.temporal import temporal_iou
from chronolens.metrics.wer import corpus_word_error_rate, segment_time_error
from chronolens.progress import progress_bar
from chronolens.speech.base import Segment, SpeechBackend, Transcript

if TYPE_CHECKING:
    from chronolens.encoders.sentence import TextEncoder
    from chronolens.library.library import Library
    from chronolens.tasks.speech_search import SpeechMode

__all__ = [
    "N_SILENT",
    "SENTENCES",
    "SNRS",
    "SPEEDS",
    "VOICES",
    "RetrievalScore",
    "SpeechBenchReport",
    "SpeechQuery",
    "SpeechSet",
    "SpeechVideo",
    "TranscriptionScore",
    "format_speech_report",
    "random_retrieval",
    "render_speech_set",
    "run_speech_bench",
    "score_retrieval",
    "score_transcripts",
    "speech_queries",
]

logger = logging.getLogger(__name__)

# (sentence, a phrase it contains, a paraphrase sharing none of its content words)
SENTENCES: tuple[tuple[str, str, str], ...] = (
    ("Now we add two cups of flour to the bowl and stir slowly.", "two cups of flour", "baking"),
    ("The red car drives into the garage at night.", "red car", "a vehicle parks indoors"),
    ("Tomorrow it will rain heavily across the northern hills.", "rain heavily", "weather forecast"),
    ("Please turn off your phones before the concert begins.", "turn off your phones", "silence mobiles"),
    ("The goalkeeper saved the penalty in the final minute.", "saved the penalty", "football match"),
    ("Our train to Berlin leaves from platform nine.", "platform nine", "railway journey"),
    ("Chop the onions finely and fry them in butter.", "chop the onions", "cooking vegetables"),
    ("The doctor says you should drink more water every day.", "drink more water", "health advice"),
    ("Stocks fell sharply after the bank raised interest rates.", "interest rates", "market news"),
    ("A small cat is sleeping on the warm windowsill.", "small cat", "a pet naps"),
    ("Remember to save your work before closing the program.", "save your work", "computer tips"),
    ("The museum opens at ten and closes at six.", "museum opens", "gallery hours"),
    ("We planted tomatoes and beans in the garden this spring.", "planted tomatoes", "growing food"),
    ("The pilot announced that we will land in twenty minutes.", "pilot announced", "airplane arrival"),
    ("Mix the paint with a little water until it is smooth.", "mix the paint", "art supplies"),
    ("The children built a sandcastle near the waves.", "built a sandcastle", "beach play"),
    ("Tighten every bolt on the wheel before you drive.", "tighten every bolt", "repairing a tyre"),
    ("The orchestra played a quiet piece by Mozart.", "quiet piece by Mozart", "classical music"),
    ("Heavy snow closed the mountain road this morning.", "heavy snow", "winter storm"),
    ("Her new book tells the story of a lost sailor.", "lost sailor", "a novel"),
    ("Add a pinch of salt and taste the soup again.", "pinch of salt", "seasoning food"),
    ("The team will meet on Monday to plan the launch.", "plan the launch", "business meeting"),
    ("Lions hunt mostly at dusk on the open plains.", "lions hunt", "wildlife"),
    ("Keep your passport ready at the security gate.", "passport ready", "airport checks"),
)
VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-gb-scotland")
SPEEDS: tuple[int, ...] = (150, 180)
SNRS: tuple[float | None, ...] = (None, 20.0, 10.0)  # dB; None: clean
N_SILENT = 2  # videos whose audio holds no speech
LEAD_S = 1.0  # seconds before the first sentence
GAP_S = 2.5  # seconds of silence between the two sentences
TAIL_S = 1.5  # seconds after the last sentence
SET_VERSION = 2  # bump when the rendering rule changes (the cache is rebuilt)


@dataclass(frozen=True, kw_only=True)
class SpokenTruth:
    """One sentence of a video's ground truth."""

    index: int  # position in SENTENCES
    text: str
    start: float  # seconds of the first voiced sample
    end: float  # seconds just after the last


@dataclass(frozen=True, kw_only=True)
class SpeechVideo:
    """One video of the set."""

    path: str
    duration: float
    voice: str
    speed: int
    snr_db: float | None  # None: clean (or silent)
    sentences: tuple[SpokenTruth, ...]  # empty for a silent video

    @property
    def condition(self) -> str:
        """``silent``, ``clean`` or ``snr NN dB``: the row this video is reported in."""
        if not self.sentences:
            return "silent"
        return "clean" if self.snr_db is None else f"snr {self.snr_db:g} dB"


@dataclass(frozen=True, kw_only=True)
class SpeechSet:
    """The rendered set and where it lives."""

    root: Path
    videos: tuple[SpeechVideo, ...]


def _speech_length(text: str, voice: str, speed: int) -> float:
    from chronolens.data.synth.speech import synthesize_speech

    samples, rate = synthesize_speech(text, voice=voice, speed=speed)
    return len(samples) / rate


def _plan(n_videos: int, seed: int) -> list[dict[str, Any]]:
    """Which sentences, voice, speed and SNR each video gets (silent videos last)."""
    n_spoken = n_videos - N_SILENT
    if n_spoken < 1 or 2 * n_spoken > len(SENTENCES):
        raise ChronolensError(
            f"bench speech renders {N_SILENT + 1}..{N_SILENT + len(SENTENCES) // 2} videos, got {n_videos}"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(SENTENCES))[: 2 * n_spoken]
    plans = [
        {
            "sentences": [int(order[2 * i]), int(order[2 * i + 1])],
            # a Latin square: every 9 videos cover each voice under each noise condition once
            "voice": VOICES[i % len(VOICES)],
            "speed": SPEEDS[i % len(SPEEDS)],
            "snr_db": SNRS[(i + i // len(VOICES)) % len(SNRS)],
        }
        for i in range(n_spoken)
    ]
    plans += [{"sentences": [], "voice": VOICES[0], "speed": SPEEDS[0], "snr_db": None}] * N_SILENT
    return plans


def render_speech_set(
    root: str | Path, *, n_videos: int = 14, seed: int = 0, progress: bool = False
) -> SpeechSet:
    """Render the set into ``root`` once (``speech_set.json`` records it; a match is reused).

    Raises:
        EspeakMissingError: espeak-ng is not installed (``apt-get install espeak-ng``).
        ChronolensError: ``n_videos`` outside what the sentence bank allows.
    """
    from chronolens.data.synth.speech import render_speech_video

    root = Path(root)
    manifest = root / "speech_set.json"
    key = {"version": SET_VERSION, "n_videos": n_videos, "seed": seed}
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return _read_set(root, data)
    root.mkdir(parents=True, exist_ok=True)
    videos: list[SpeechVideo] = []
    for i, plan in enumerate(
        progress_bar(_plan(n_videos, seed), desc="speech set", unit="video", enabled=progress)
    ):
        path = root / f"speech-{i:03d}.mp4"
        at, placed = LEAD_S, []
        for index in plan["sentences"]:
            text = SENTENCES[index][0]
            placed.append((at, text, plan["voice"], plan["speed"]))
            at += _speech_length(text, plan["voice"], plan["speed"]) + GAP_S
        duration = round(at - GAP_S + TAIL_S if placed else 6.0, 2)
        truth = render_speech_video(
            path, placed, duration=duration, noise_snr_db=plan["snr_db"] if placed else None, seed=seed + i
        )
        sentences = tuple(
            SpokenTruth(index=index, text=t.text, start=t.start, end=t.end)
            for index, t in zip(plan["sentences"], truth, strict=True)
        )
        videos.append(
            SpeechVideo(
                path=str(path),
                duration=duration,
                voice=plan["voice"],
                speed=plan["speed"],
                snr_db=plan["snr_db"] if placed else None,
                sentences=sentences,
            )
        )
    write_json_atomic(manifest, {"key": key, "videos": [asdict(v) for v in videos]})
    return SpeechSet(root=root, videos=tuple(videos))


def _read_set(root: Path, data: dict[str, Any]) -> SpeechSet:
    videos = []
    for v in data["videos"]:
        sentences = tuple(SpokenTruth(**s) for s in v.pop("sentences"))
        videos.append(SpeechVideo(**v, sentences=sentences))
    missing = [v.path for v in videos if not Path(v.path).is_file()]
    if missing:
        raise ChronolensError(
            f"the speech set under {root} lost {missing[0]}; delete {root} to render it again"
        )
    return SpeechSet(root=root, videos=tuple(videos))


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


@dataclass(frozen=True, kw_only=True)
class SpeechQuery:
    """One spoken-search query with its answer."""

    text: str
    kind: str  # "lexical" or "semantic"
    video: str  # the path of the video that speaks it
    start: float  # the sentence's span
    end: float


def speech_queries(videos: Sequence[SpeechVideo]) -> list[SpeechQuery]:
    """Two queries per spoken sentence: its phrase (lexical) and its paraphrase (semantic)."""
    out = []
    for v in videos:
        for s in v.sentences:
            _, phrase, paraphrase = SENTENCES[s.index]
            out.append(SpeechQuery(text=phrase, kind="lexical", video=v.path, start=s.start, end=s.end))
            out.append(SpeechQuery(text=paraphrase, kind="semantic", video=v.path, start=s.start, end=s.end))
    return out


Hit = tuple[str, float, float, float]  # (video path, start, end, score), best first
Searcher = Callable[[str], Sequence[Hit]]


@dataclass(frozen=True, kw_only=True)
class RetrievalScore:
    """R@1 and R1@0.5 (x100) of one searcher on one kind of query."""

    searcher: str
    kind: str  # "lexical", "semantic" or "all"
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
    for kind in ("lexical", "semantic", "all"):
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
    for kind in ("lexical", "semantic", "all"):
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
    import chronolens
    from chronolens.ingest.speech import index_speech
    from chronolens.library.transcripts import load_transcript
    from chronolens.speech.formats import to_srt
    from chronolens.tasks.fusion import fuse
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
        return _hits(chronolens.search(library, q, top_k=10))

    def fused(q: str) -> list[Hit]:
        said = search_speech(library, q, mode=modes[-1], text_encoder=text_encoder, top_k=20)
        return _hits(fuse(chronolens.search(library, q, top_k=20), said, top_k=10))

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
