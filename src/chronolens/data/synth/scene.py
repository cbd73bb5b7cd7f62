"""The synthetic benchmark's ground-truth records: objects, backgrounds, events, videos, datasets.

Every record is a frozen dataclass built only from numbers, strings and tuples, so it is hashable
(the renderer caches per-scene layers on it) and round-trips exactly through ``synth.json``.
Positions are fractions of the frame (``x`` of the width, ``y`` of the height, origin top-left);
radii are fractions of the frame's shorter side; times are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from chronolens.data.split_names import SPLITS  # also read from here by data.formats.all
from chronolens.data.synth.vocab import (
    BACKGROUND_COLORS,
    BACKGROUND_KINDS,
    COLORS,
    EVENT_KINDS,
    SHAPES,
    SIZES,
    TEXTURES,
)

__all__ = ["SynthBackground", "SynthDataset", "SynthEvent", "SynthObject", "SynthVideo"]


def _check_in(owner: str, name: str, value: object, allowed: tuple[str, ...] | Mapping[str, object]) -> None:
    if value not in allowed:
        raise ValueError(f"{owner}.{name} must be one of {sorted(allowed)}, got {value!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthObject:
    """One drawn object: what it looks like and where it is when its event starts."""

    shape: str  # one of vocab.SHAPES
    color: str  # colour family, one of vocab.COLORS
    size: str  # "small" or "large"
    texture: str  # one of vocab.TEXTURES
    x: float  # centre, fraction of the frame width (0 left, 1 right)
    y: float  # centre, fraction of the frame height (0 top, 1 bottom)
    radius: float  # fraction of the frame's shorter side

    def __post_init__(self) -> None:
        _check_in("SynthObject", "shape", self.shape, SHAPES)
        _check_in("SynthObject", "color", self.color, COLORS)
        _check_in("SynthObject", "size", self.size, SIZES)
        _check_in("SynthObject", "texture", self.texture, TEXTURES)
        if not self.radius > 0:
            raise ValueError(f"SynthObject.radius must be > 0, got {self.radius!r}")

    @property
    def combo(self) -> tuple[str, str]:
        """The ``(colour, shape)`` pair that identifies the object within a video."""
        return (self.color, self.shape)


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthBackground:
    """A scene's background: a pattern drawn in one or two named colours."""

    kind: str  # one of vocab.BACKGROUND_KINDS
    color: str  # main colour, one of vocab.BACKGROUND_COLORS
    color2: str  # second colour (gradient end, checker cells, unused for plain/noise)
    cell: float = 0.125  # checkerboard cell size, fraction of the shorter side
    noise_seed: int = 0  # seed of the grain pattern of a "noise" background

    def __post_init__(self) -> None:
        _check_in("SynthBackground", "kind", self.kind, BACKGROUND_KINDS)
        _check_in("SynthBackground", "color", self.color, BACKGROUND_COLORS)
        _check_in("SynthBackground", "color2", self.color2, BACKGROUND_COLORS)
        if not 0 < self.cell <= 1:
            raise ValueError(f"SynthBackground.cell must be in (0, 1], got {self.cell!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthEvent:
    """One timed event with its captions; the unit of every query in every format.

    The window ``[start, end)`` is exactly when the event's object(s) are on screen (or, for a
    scene cut, the seconds after the cut that carry the cut cue).
    """

    kind: str  # one of vocab.EVENT_KINDS
    start: float  # seconds
    end: float  # seconds, > start
    objects: tuple[SynthObject, ...] = ()  # 1 object, 2 for "meet", none for "scene_cut"
    targets: tuple[tuple[float, float], ...] = ()  # (x, y) of each object at ``end``
    scale_to: float = 1.0  # radius multiplier reached at ``end`` (grow > 1 > shrink)
    color_to: str = ""  # new colour family of a "change_color" event
    turns: float = 0.0  # signed revolutions over the window of a "spin" event (+ clockwise)
    background: SynthBackground | None = None  # the new background of a "scene_cut" event
    caption: str = ""  # canonical caption
    paraphrases: tuple[str, ...] = ()  # other ways to say the caption (never equal to it)
    query: str = ""  # the paraphrase the query formats use (seeded choice)

    def __post_init__(self) -> None:
        _check_in("SynthEvent", "kind", self.kind, EVENT_KINDS)
        if not self.end > self.start >= 0:
            raise ValueError(f"SynthEvent.end must be > start >= 0, got [{self.start}, {self.end})")
        if len(self.targets) != len(self.objects):
            raise ValueError("SynthEvent.targets must have one (x, y) per object")
        if self.kind == "change_color":
            _check_in("SynthEvent", "color_to", self.color_to, COLORS)
        if self.kind == "scene_cut" and self.background is None:
            raise ValueError("SynthEvent.background is required for a scene_cut event")

    @property
    def duration(self) -> float:
        """Length of the window in seconds."""
        return self.end - self.start

    @property
    def combos(self) -> tuple[tuple[str, str, str], ...]:
        """The ``(colour, shape, kind)`` combinations this event shows (empty for a cut)."""
        return tuple((obj.color, obj.shape, self.kind) for obj in self.objects)


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthVideo:
    """One rendered video and everything true about it."""

    id: str  # unique within the dataset; also the file stem
    path: str  # relative to the dataset directory, e.g. "videos/train-0-00003.mp4"
    split: str  # "train", "val", "test" or "compositional"
    seed: int  # the dataset seed this video was drawn from
    index: int  # the video's index in its generation run
    duration: float  # seconds == n_frames / fps
    fps: float  # constant frame rate
    n_frames: int  # frames in the file
    width: int  # pixels
    height: int  # pixels
    background: SynthBackground  # the background before the first scene cut
    distractors: tuple[SynthObject, ...]  # static objects shown for the whole video
    events: tuple[SynthEvent, ...]  # sorted by start
    scene_caption: str  # describes the opening scene (distractors and background)
    caption: str  # video-level caption: scene + main events (the retrieval text)
    clip_saliency: tuple[float, ...] = field(default=())  # query-free saliency per 2 s clip, 0..4

    def __post_init__(self) -> None:
        _check_in("SynthVideo", "split", self.split, SPLITS)
        if self.fps <= 0 or self.n_frames < 1:
            raise ValueError(f"SynthVideo {self.id}: fps and n_frames must be positive")
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"SynthVideo {self.id}: width/height must be even and >= 16")

    def frame_time(self, index: int) -> float:
        """Presentation time in seconds of frame ``index`` (constant frame rate)."""
        return index / self.fps

    def frame_index(self, t: float) -> int:
        """Index of the frame on screen at time ``t`` seconds (clamped to the video)."""
        k = int(t * self.fps + 1e-6)
        return min(max(k, 0), self.n_frames - 1)


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthDataset:
    """A directory of synthetic videos and their manifest."""

    root: str  # absolute directory holding synth.json and the videos
    version: int  # manifest schema version
    seed: int  # generation seed
    clip_length: float  # seconds per saliency clip (2.0, as QVHighlights)
    videos: tuple[SynthVideo, ...]

    def split(self, name: str) -> tuple[SynthVideo, ...]:
        """The videos of one split (``"train"``, ``"val"``, ``"test"``, ``"compositional"``)."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
        return tuple(v for v in self.videos if v.split == name)

    def video_path(self, video: SynthVideo) -> str:
        """Absolute path of a video's file."""
        return str(Path(self.root) / video.path)

    def __len__(self) -> int:
        return len(self.videos)
