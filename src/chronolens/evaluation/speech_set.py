"""The speech bench's set: synthetic benchmark videos that speak known sentences, and its queries.

Each video is a synthetic benchmark video (its frames show events with known times; test split,
10 fps, 20-40 s) whose audio track speaks two sentences of :data:`SENTENCES` (no sentence twice
in the set) at known times (:func:`chronolens.data.synth.speech.render_speech_video`, Debian's
espeak-ng), in a voice of :data:`VOICES` at a speed of :data:`SPEEDS`, clean or under white noise
at an SNR of :data:`SNRS`; :data:`N_SILENT` videos have an audio track with no speech. The true
span of a sentence is its voiced samples on the video's clock. Rendered once into a directory
(``speech_set.json`` records it) and reused while the settings match.

Queries (:func:`speech_queries`): each sentence by a phrase it contains (``lexical``) and by a
paraphrase sharing no content word with it (``semantic``); each shown event whose caption is
unique in the set (``visual``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.atomic import write_json_atomic
from chronolens.errors import ChronolensError
from chronolens.progress import progress_bar

__all__ = [
    "N_SILENT",
    "SENTENCES",
    "SNRS",
    "SPEEDS",
    "VOICES",
    "ShownEvent",
    "SpeechQuery",
    "SpeechSet",
    "SpeechVideo",
    "SpokenTruth",
    "render_speech_set",
    "speech_queries",
]

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
SET_VERSION = 3  # bump when the rendering rule changes (the cache is rebuilt)


@dataclass(frozen=True, kw_only=True)
class SpokenTruth:
    """One sentence of a video's ground truth."""

    index: int  # position in SENTENCES
    text: str
    start: float  # seconds of the first voiced sample
    end: float  # seconds just after the last


@dataclass(frozen=True, kw_only=True)
class ShownEvent:
    """One event the frames show (from the synthetic benchmark's ground truth)."""

    caption: str  # its canonical caption, the visual query
    start: float
    end: float


@dataclass(frozen=True, kw_only=True)
class SpeechVideo:
    """One video of the set."""

    path: str
    duration: float
    voice: str
    speed: int
    snr_db: float | None  # None: clean (or silent)
    sentences: tuple[SpokenTruth, ...]  # empty for a silent video
    events: tuple[ShownEvent, ...] = ()  # what the frames show

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
    root: str | Path, *, n_videos: int = 14, seed: int = 0, size: int = 224, progress: bool = False
) -> SpeechSet:
    """Render the set into ``root`` once (``speech_set.json`` records it; a match is reused).

    Each video is a synthetic benchmark video (``chronolens.data.synth``, test split, 10 fps,
    20-40 s, ``size`` pixels square) whose audio track speaks its sentences, so the frames show
    events that only a visual search can find and the audio says things only a spoken search can.

    Raises:
        EspeakMissingError: espeak-ng is not installed (``apt-get install espeak-ng``).
        ChronolensError: ``n_videos`` outside what the sentence bank allows.
    """
    from chronolens.data.synth import SynthConfig, plan_dataset
    from chronolens.data.synth.render import render_frames
    from chronolens.data.synth.speech import render_speech_video

    root = Path(root)
    manifest = root / "speech_set.json"
    key = {"version": SET_VERSION, "n_videos": n_videos, "seed": seed, "size": size}
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return _read_set(root, data)
    root.mkdir(parents=True, exist_ok=True)
    plans = _plan(n_videos, seed)
    sources = plan_dataset(
        SynthConfig(
            videos=n_videos,
            seed=seed,
            split="test",
            width=size,
            height=size,
            fps_choices=(10.0,),
            fps_weights=(),
            min_duration=20.0,
            max_duration=40.0,
            long_fraction=0.0,
            formats=False,
        )
    )
    videos: list[SpeechVideo] = []
    for i, (plan, source) in enumerate(
        progress_bar(
            list(zip(plans, sources, strict=True)), desc="speech set", unit="video", enabled=progress
        )
    ):
        path = root / f"speech-{i:03d}.mp4"
        at, placed = LEAD_S, []
        for index in plan["sentences"]:
            text = SENTENCES[index][0]
            placed.append((at, text, plan["voice"], plan["speed"]))
            at += _speech_length(text, plan["voice"], plan["speed"]) + GAP_S
        truth = render_speech_video(
            path,
            placed,
            duration=source.duration,
            noise_snr_db=plan["snr_db"] if placed else None,
            seed=seed + i,
            fps=source.fps,
            frames=render_frames(source),
        )
        sentences = tuple(
            SpokenTruth(index=index, text=t.text, start=t.start, end=t.end)
            for index, t in zip(plan["sentences"], truth, strict=True)
        )
        events = tuple(
            ShownEvent(caption=e.caption, start=e.start, end=e.end)
            for e in source.events
            if e.kind != "scene_cut"
        )
        videos.append(
            SpeechVideo(
                path=str(path),
                duration=source.duration,
                voice=plan["voice"],
                speed=plan["speed"],
                snr_db=plan["snr_db"] if placed else None,
                sentences=sentences,
                events=events,
            )
        )
    write_json_atomic(manifest, {"key": key, "videos": [asdict(v) for v in videos]})
    return SpeechSet(root=root, videos=tuple(videos))


def _read_set(root: Path, data: dict[str, Any]) -> SpeechSet:
    videos = []
    for v in data["videos"]:
        sentences = tuple(SpokenTruth(**s) for s in v.pop("sentences"))
        events = tuple(ShownEvent(**e) for e in v.pop("events"))
        videos.append(SpeechVideo(**v, sentences=sentences, events=events))
    missing = [v.path for v in videos if not Path(v.path).is_file()]
    if missing:
        raise ChronolensError(
            f"the speech set under {root} lost {missing[0]}; delete {root} to render it again"
        )
    return SpeechSet(root=root, videos=tuple(videos))


@dataclass(frozen=True, kw_only=True)
class SpeechQuery:
    """One spoken-search query with its answer."""

    text: str
    kind: str  # "lexical" or "semantic" (spoken), or "visual" (shown)
    video: str  # the path of the video that speaks it
    start: float  # the sentence's span
    end: float


def speech_queries(videos: Sequence[SpeechVideo]) -> list[SpeechQuery]:
    """Two queries per spoken sentence, its phrase (``lexical``) and its paraphrase (``semantic``),
    and one per shown event whose caption no other event of the set has (``visual``)."""
    out = []
    for v in videos:
        for s in v.sentences:
            _, phrase, paraphrase = SENTENCES[s.index]
            out.append(SpeechQuery(text=phrase, kind="lexical", video=v.path, start=s.start, end=s.end))
            out.append(SpeechQuery(text=paraphrase, kind="semantic", video=v.path, start=s.start, end=s.end))
    captions = Counter(e.caption for v in videos for e in v.events)
    for v in videos:
        for e in v.events:
            if captions[e.caption] == 1:
                out.append(SpeechQuery(text=e.caption, kind="visual", video=v.path, start=e.start, end=e.end))
    return out
