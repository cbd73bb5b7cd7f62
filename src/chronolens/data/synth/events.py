"""Planning a synthetic video: duration, frame rate, scene, distractors, timed events, captions.

``plan_video`` is a pure function of ``(config, split, index)``: a numpy Generator seeded from
``(seed, split, index)`` draws everything, so any video can be re-planned alone and identically.
Event objects are unique within a video where the vocabulary allows (one colour-shape pair per
event), never share a colour-shape pair with a distractor, and exist only inside their window.
At most two events are on screen at once, placed apart from each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from chronolens.data.synth.config import SynthConfig
from chronolens.data.synth.grammar import (
    canonical_caption,
    sample_paraphrases,
    scene_caption,
    video_caption,
)
from chronolens.data.synth.scene import SynthBackground, SynthEvent, SynthObject, SynthVideo
from chronolens.data.synth.splits import is_heldout
from chronolens.data.synth.vocab import (
    BACKGROUND_COLORS,
    BACKGROUND_KINDS,
    COLORS,
    SHAPES,
    SIZE_RADIUS,
    SIZES,
    TEXTURES,
)
from chronolens.timebase.grid import n_clips

T = TypeVar("T")

__all__ = ["KIND_WEIGHTS", "clip_saliency", "plan_video", "video_id"]

# Relative frequency of each event kind.
KIND_WEIGHTS: dict[str, float] = {
    "appear": 1.0,
    "disappear": 1.0,
    "move_left": 0.5,
    "move_right": 0.5,
    "move_up": 0.5,
    "move_down": 0.5,
    "grow": 0.7,
    "shrink": 0.7,
    "change_color": 1.0,
    "spin": 1.0,
    "meet": 0.8,
    "scene_cut": 0.4,
}

# The seed code of each split of data.split_names.SPLITS. Written out, not derived from the order of
# SPLITS: every rendered video is a function of its code, so a code must never change.
SPLIT_CODES = {"train": 1, "val": 2, "test": 3, "compositional": 4}
GROW_SCALE = (1.5, 1.8)  # radius multiplier range of a grow event
SHRINK_SCALE = (0.4, 0.55)  # radius multiplier range of a shrink event
MOVE_DISTANCE = (0.35, 0.5)  # travel of a move event, fraction of the frame
SPIN_RATE = (0.25, 0.5)  # revolutions per second of a spin event
EDGE_MARGIN = 0.03  # objects keep this far (fraction of the frame) from the edges
MEET_SPREAD = (0.55, 0.7)  # initial centre distance of two meeting objects, fraction of the width
END_MARGIN = 0.5  # seconds kept free at the end of a video
PLACEMENT_TRIES = 40  # attempts to place an event apart from concurrent ones
DISTRACTOR_MIN_SEP = 0.3  # distractor centres keep at least this distance apart (frame fraction)


def video_id(seed: int, split: str, index: int) -> str:
    """The id (and file stem) of video ``index`` of a run: ``"train-7-00003"``."""
    return f"{split}-{seed}-{index:05d}"


def _rng(config: SynthConfig, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, SPLIT_CODES[split], index])


def _choice(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _pick_fps(config: SynthConfig, rng: np.random.Generator) -> float:
    weights = np.asarray(config.fps_weights or [1.0] * len(config.fps_choices), dtype=np.float64)
    return float(config.fps_choices[int(rng.choice(len(weights), p=weights / weights.sum()))])


def _pick_background(rng: np.random.Generator, not_like: SynthBackground | None = None) -> SynthBackground:
    names = list(BACKGROUND_COLORS)
    while True:
        kind = str(_choice(rng, BACKGROUND_KINDS))
        c1 = str(_choice(rng, names))
        c2 = str(_choice(rng, [n for n in names if n != c1]))
        bg = SynthBackground(
            kind=kind,
            color=c1,
            color2=c2 if kind in ("gradient", "checkerboard") else c1,
            cell=float(_choice(rng, (0.1, 0.125, 0.2))),
            noise_seed=int(rng.integers(2**31)),
        )
        if not_like is None or (bg.kind, bg.color) != (not_like.kind, not_like.color):
            return bg


def _windows(config: SynthConfig, duration: float, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Event windows: sequential with pauses, sometimes overlapping, never three at once."""
    out: list[tuple[float, float]] = []
    t = float(rng.uniform(config.gap_min / 2, config.gap_max))
    # Events end inside the last whole QVHighlights clip: the evaluator gives a video only
    # int(duration / clip_length) clips, so an event inside a partial last clip has no clip id.
    limit = min(duration - END_MARGIN, int(duration / config.clip_length) * config.clip_length)
    while True:
        length = float(rng.uniform(config.event_min, config.event_max))
        if t + length > limit:
            room = limit - t
            if room < (config.event_min if out else min(config.event_min, limit / 2)):
                break
            length = room  # shorten the last event to fit (a short video still gets one)
        out.append((t, t + length))
        if rng.random() < config.overlap_prob:
            nxt = t + length * float(rng.uniform(0.35, 0.75))
        else:
            nxt = t + length + float(rng.uniform(config.gap_min, config.gap_max))
        if len(out) >= 2:
            nxt = max(nxt, out[-2][1])  # at most two windows overlap at any time
        t = nxt
    return out


class _Planner:
    """Draws the objects and geometry of one video's events."""

    def __init__(self, config: SynthConfig, split: str, rng: np.random.Generator) -> None:
        self.config = config
        self.split = split
        self.rng = rng
        self.taken: set[tuple[str, str]] = set()  # colour-shape pairs already on screen in this video
        self.used: set[tuple[str, str, str]] = set()
        self.aspect_x = min(config.width, config.height) / config.width
        self.aspect_y = min(config.width, config.height) / config.height

    def allowed(self, color: str, shape: str, kind: str) -> bool:
        heldout = is_heldout(color, shape, kind, self.config.holdout_fraction)
        return heldout == (self.split == "compositional")

    def pick_combo(self, kind: str, exclude: set[tuple[str, str]]) -> tuple[str, str]:
        """A (colour, shape) allowed for ``kind`` in this split, fresh in this video if possible."""
        pairs = [(c, s) for c in COLORS for s in SHAPES if self.allowed(c, s, kind) and (c, s) not in exclude]
        fresh = [p for p in pairs if p not in self.taken]
        unused = [p for p in pairs if (*p, kind) not in self.used]
        pool = fresh or unused or pairs
        if not pool:  # cannot happen with the shipped vocabulary; keep the planner total anyway
            pool = [(c, s) for c in COLORS for s in SHAPES if (c, s) not in exclude]
        color, shape = pool[int(self.rng.integers(len(pool)))]
        self.taken.add((color, shape))
        self.used.add((color, shape, kind))
        return color, shape

    def make_object(self, color: str, shape: str, x: float = 0.5, y: float = 0.5) -> SynthObject:
        size = str(_choice(self.rng, SIZES))
        return SynthObject(
            shape=shape,
            color=color,
            size=size,
            texture=str(_choice(self.rng, TEXTURES)),
            x=x,
            y=y,
            radius=SIZE_RADIUS[size],
        )

    def half_extent(self, obj: SynthObject, scale: float = 1.0) -> tuple[float, float]:
        r = obj.radius * scale
        return r * self.aspect_x + EDGE_MARGIN, r * self.aspect_y + EDGE_MARGIN

    def place(
        self, kind: str, objs: list[SynthObject], avoid: list[tuple[float, float, float, float]]
    ) -> tuple[list[SynthObject], list[tuple[float, float]], float, tuple[float, float, float, float]]:
        """Positions, targets, scale and bounding box (x0, y0, x1, y1) for an event's objects."""
        rng = self.rng
        best: tuple[list[SynthObject], list[tuple[float, float]], float, tuple[float, float, float, float]]
        best = (objs, [], 1.0, (0.0, 0.0, 1.0, 1.0))
        for _ in range(PLACEMENT_TRIES):
            scale = 1.0
            if kind == "grow":
                scale = float(rng.uniform(*GROW_SCALE))
            elif kind == "shrink":
                scale = float(rng.uniform(*SHRINK_SCALE))
            big = max(scale, 1.0)
            placed: list[SynthObject] = []
            targets: list[tuple[float, float]] = []
            if kind == "meet":
                a, b = objs
                hx_a, hy_a = self.half_extent(a)
                hx_b, hy_b = self.half_extent(b)
                spread = float(rng.uniform(*MEET_SPREAD))
                lo, hi = hx_a, 1.0 - hx_b - spread
                xa = float(rng.uniform(lo, max(lo, hi)))
                xb = xa + spread
                hy = max(hy_a, hy_b)
                y = float(rng.uniform(hy, 1.0 - hy))
                touch = a.radius * self.aspect_x + b.radius * self.aspect_x
                mid = (xa + xb) / 2.0 + (a.radius - b.radius) * self.aspect_x / 2.0
                placed = [_moved(a, xa, y), _moved(b, xb, y)]
                targets = [(mid - touch / 2.0, y), (mid + touch / 2.0, y)]
            else:
                obj = objs[0]
                hx, hy = self.half_extent(obj, big)
                x = float(rng.uniform(hx, 1.0 - hx))
                y = float(rng.uniform(hy, 1.0 - hy))
                tx, ty = x, y
                if kind.startswith("move_"):
                    dist = float(rng.uniform(*MOVE_DISTANCE))
                    direction = kind.removeprefix("move_")
                    if direction in ("left", "right"):
                        x = (
                            float(rng.uniform(hx + dist, 1.0 - hx))
                            if direction == "left"
                            else float(rng.uniform(hx, 1.0 - hx - dist))
                        )
                        tx = x - dist if direction == "left" else x + dist
                    else:
                        y = (
                            float(rng.uniform(hy + dist, 1.0 - hy))
                            if direction == "up"
                            else float(rng.uniform(hy, 1.0 - hy - dist))
                        )
                        ty = y - dist if direction == "up" else y + dist
                    tx, ty = (tx, y) if direction in ("left", "right") else (x, ty)
                placed = [_moved(obj, x, y)]
                targets = [(tx, ty)]
            box = _bbox(placed, targets, big, self.aspect_x, self.aspect_y)
            best = (placed, targets, scale, box)
            if not any(_overlaps(box, other) for other in avoid):
                break
        return best


def _moved(obj: SynthObject, x: float, y: float) -> SynthObject:
    return SynthObject(
        shape=obj.shape, color=obj.color, size=obj.size, texture=obj.texture, x=x, y=y, radius=obj.radius
    )


def _bbox(
    objs: list[SynthObject], targets: list[tuple[float, float]], scale: float, ax: float, ay: float
) -> tuple[float, float, float, float]:
    xs0, ys0, xs1, ys1 = [], [], [], []
    for obj, (tx, ty) in zip(objs, targets, strict=True):
        rx, ry = obj.radius * scale * ax * 1.7, obj.radius * scale * ay * 1.7  # rays / arcs reach 1.7 r
        xs0.append(min(obj.x, tx) - rx)
        xs1.append(max(obj.x, tx) + rx)
        ys0.append(min(obj.y, ty) - ry)
        ys1.append(max(obj.y, ty) + ry)
    return (min(xs0), min(ys0), max(xs1), max(ys1))


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _pick_kind(rng: np.random.Generator, allow_cut: bool) -> str:
    kinds = [k for k in KIND_WEIGHTS if allow_cut or k != "scene_cut"]
    weights = np.asarray([KIND_WEIGHTS[k] for k in kinds], dtype=np.float64)
    return kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]


def clip_saliency(events: tuple[SynthEvent, ...], duration: float, clip_length: float) -> tuple[float, ...]:
    """Query-free saliency per clip: 4 x the largest fraction of the clip any event covers.

    Args:
        events: the video's events.
        duration: video length in seconds.
        clip_length: seconds per clip; the last clip may be shorter.

    Returns:
        One score in [0, 4] per clip, ``ceil(duration / clip_length)`` clips.
    """
    n = n_clips(duration, clip_length)
    out = []
    for i in range(n):
        c0, c1 = i * clip_length, min((i + 1) * clip_length, duration)
        span = max(c1 - c0, 1e-9)
        cover = max((max(0.0, min(c1, e.end) - max(c0, e.start)) / span for e in events), default=0.0)
        out.append(round(4.0 * min(cover, 1.0), 3))
    return tuple(out)


def plan_video(config: SynthConfig, split: str, index: int) -> SynthVideo:
    """Draw everything about video ``index`` of ``split`` (no rendering).

    Args:
        config: generator settings (seed, sizes, durations, ...).
        split: "train", "val", "test" or "compositional"; compositional videos use only held-out
            colour-shape-action combinations, the others never use them.
        index: the video's index in the run.

    Returns:
        The video's full ground truth; its ``path`` is ``videos/<id>.mp4``.
    """
    # One function on purpose: every draw below comes from one rng in one order, and that order
    # is what makes a seed render the same videos (and the published figures) on every machine.
    rng = _rng(config, split, index)
    fps = _pick_fps(config, rng)
    if rng.random() < config.long_fraction:
        target = float(rng.uniform(*config.long_duration))
    else:
        target = float(rng.uniform(config.min_duration, config.max_duration))
    n_frames = max(1, round(target * fps))
    duration = n_frames / fps
    planner = _Planner(config, split, rng)

    background = _pick_background(rng)
    n_distractors = int(rng.integers(config.distractors[0], config.distractors[1] + 1))
    distractors: list[SynthObject] = []
    for _ in range(n_distractors):
        color, shape = str(_choice(rng, list(COLORS))), str(_choice(rng, SHAPES))
        if (color, shape) in planner.taken:
            continue
        obj = planner.make_object(color, shape)
        hx, hy = planner.half_extent(obj)
        for _try in range(PLACEMENT_TRIES):
            x, y = float(rng.uniform(hx, 1 - hx)), float(rng.uniform(hy, 1 - hy))
            if all(math.hypot(x - d.x, y - d.y) >= DISTRACTOR_MIN_SEP for d in distractors):
                break
        distractors.append(_moved(obj, x, y))
        planner.taken.add((color, shape))
    distractor_pairs = {d.combo for d in distractors}

    events: list[SynthEvent] = []
    boxes: list[tuple[float, float, float, float, float, float]] = []  # t0, t1, box
    current_bg = background
    last_cut_end = -math.inf
    for start, end in _windows(config, duration, rng):
        kind = _pick_kind(rng, allow_cut=start > last_cut_end + config.cut_window)
        if kind == "scene_cut":
            end = min(start + config.cut_window, duration)
            current_bg = _pick_background(rng, not_like=current_bg)
            last_cut_end = end
            draft = SynthEvent(kind=kind, start=start, end=end, background=current_bg)
        else:
            n_obj = 2 if kind == "meet" else 1
            objs: list[SynthObject] = []
            for _ in range(n_obj):
                color, shape = planner.pick_combo(kind, distractor_pairs | {o.combo for o in objs})
                objs.append(planner.make_object(color, shape))
            avoid = [(b[2], b[3], b[4], b[5]) for b in boxes if b[0] < end and start < b[1]]
            placed, targets, scale, box = planner.place(kind, objs, avoid)
            boxes.append((start, end, *box))
            color_to = ""
            if kind == "change_color":
                shape = placed[0].shape
                options = [c for c in COLORS if c != placed[0].color and (c, shape) not in distractor_pairs]
                color_to = str(_choice(rng, options))
            turns = 0.0
            if kind == "spin":
                turns = float(rng.uniform(*SPIN_RATE)) * (end - start) * (1 if rng.random() < 0.5 else -1)
            draft = SynthEvent(
                kind=kind,
                start=start,
                end=end,
                objects=tuple(placed),
                targets=tuple(targets),
                scale_to=scale,
                color_to=color_to,
                turns=turns,
            )
        events.append(_with_captions(draft, rng))
    events.sort(key=lambda e: (e.start, e.end))
    ordered = tuple(events)
    scene = scene_caption(tuple(distractors), background)
    vid = video_id(config.seed, split, index)
    return SynthVideo(
        id=vid,
        path=f"videos/{vid}.mp4",
        split=split,
        seed=config.seed,
        index=index,
        duration=duration,
        fps=fps,
        n_frames=n_frames,
        width=config.width,
        height=config.height,
        background=background,
        distractors=tuple(distractors),
        events=ordered,
        scene_caption=scene,
        caption=video_caption(scene, ordered),
        clip_saliency=clip_saliency(ordered, duration, config.clip_length),
    )


def _with_captions(event: SynthEvent, rng: np.random.Generator) -> SynthEvent:
    caption = canonical_caption(event)
    paraphrases = tuple(sample_paraphrases(event, rng))
    query = paraphrases[int(rng.integers(len(paraphrases)))] if paraphrases else caption
    return SynthEvent(
        kind=event.kind,
        start=round(event.start, 3),
        end=round(event.end, 3),
        objects=event.objects,
        targets=event.targets,
        scale_to=event.scale_to,
        color_to=event.color_to,
        turns=event.turns,
        background=event.background,
        caption=caption,
        paraphrases=paraphrases,
        query=query,
    )
