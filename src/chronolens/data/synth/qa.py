"""Video QA items with exact answers, from the synthetic benchmark's event annotations.

Only questions the rendered events determine are asked (each type checks its own condition):

- ``color``: "What colour is the object that moves left?" — the video has exactly one event of
  that kind (single-object kinds whose colour stays: moves, grows, shrinks, spins, appears,
  disappears); the answer is the object's colour family;
- ``shape``: "What shape is the object that grows?" — the same condition; the answer its shape;
- ``action``: "What does the red circle do?" — that colour-shape pair is in exactly one event of
  the video and no distractor; the answer is the action's verb phrase ("moves left");
- ``after_cut``: "What happens after the cut?" — exactly one scene cut, and one event starts
  first after it (no other starts within ``TIE_MARGIN`` s); the answer is that event's caption.

Every item has ``N_CANDIDATES`` candidates (the answer and distinct wrong ones drawn from the
same vocabulary or, for captions, from the video's other events, then other videos'), shuffled
by a generator seeded from the dataset seed and the video id, so the same dataset always yields
the same items. The answer text is also the open-ended reference.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chronolens.data.formats.qa import QAItem, write_qa
from chronolens.data.split_names import SPLITS
from chronolens.data.synth.grammar import VERB_PHRASES
from chronolens.data.synth.scene import SynthEvent, SynthVideo
from chronolens.data.synth.vocab import COLORS, SHAPES

__all__ = [
    "N_CANDIDATES",
    "QA_TYPES",
    "TIE_MARGIN",
    "action_phrase",
    "qa_file",
    "synth_qa_items",
    "write_synth_qa",
]

N_CANDIDATES = 4  # answer + 3 wrong ones
TIE_MARGIN = 0.5  # seconds: another event starting this close after the first makes "next" ambiguous
QA_TYPES: tuple[str, ...] = ("color", "shape", "action", "after_cut")
_QA_SALT = 0x51A  # separates the QA generator's stream from the other formats'
# Kinds with one object whose colour and shape hold for the whole event.
_STEADY_KINDS: tuple[str, ...] = (
    "appear",
    "disappear",
    "move_left",
    "move_right",
    "move_up",
    "move_down",
    "grow",
    "shrink",
    "spin",
)


def action_phrase(kind: str) -> str:
    """The canonical verb phrase of an event kind without its subject: ``"move_left"`` -> ``"moves left"``."""
    return VERB_PHRASES[kind][0].replace("{a} ", "", 1)


def _choices(answer: str, pool: Sequence[str], rng: np.random.Generator) -> tuple[tuple[str, ...], int]:
    """``N_CANDIDATES`` distinct candidates holding ``answer`` (fewer if the pool is small), shuffled."""
    wrong = [p for p in dict.fromkeys(pool) if p != answer]
    picked = [wrong[int(i)] for i in rng.permutation(len(wrong))[: N_CANDIDATES - 1]]
    candidates = [answer, *picked]
    order = rng.permutation(len(candidates))
    shuffled = tuple(candidates[int(i)] for i in order)
    return shuffled, shuffled.index(answer)


def _item(
    video: SynthVideo,
    kind: str,
    n: int,
    question: str,
    answer: str,
    pool: Sequence[str],
    rng: np.random.Generator,
) -> QAItem | None:
    candidates, index = _choices(answer, pool, rng)
    if len(candidates) < 2:
        return None
    return QAItem(
        question_id=f"{video.id}/{kind}/{n}",
        video=video.path,
        question=question,
        candidates=candidates,
        answer=index,
        answers=(answer,),
        type=kind,
        extra={"video_id": video.id, "duration": video.duration},
    )


def _object_items(video: SynthVideo, rng: np.random.Generator) -> list[QAItem]:
    items: list[QAItem] = []
    kinds = Counter(e.kind for e in video.events)
    for event in video.events:
        if event.kind not in _STEADY_KINDS or kinds[event.kind] != 1:
            continue
        obj, phrase = event.objects[0], action_phrase(event.kind)
        for kind, answer, pool in (("color", obj.color, tuple(COLORS)), ("shape", obj.shape, SHAPES)):
            what = "colour" if kind == "color" else "shape"
            item = _item(
                video, kind, len(items), f"What {what} is the object that {phrase}?", answer, pool, rng
            )
            if item is not None:
                items.append(item)
    pairs = Counter(o.combo for e in video.events for o in e.objects)
    pairs.update(d.combo for d in video.distractors)
    actions = tuple(action_phrase(k) for k in _STEADY_KINDS)
    for event in video.events:
        if event.kind not in _STEADY_KINDS or pairs[event.objects[0].combo] != 1:
            continue
        color, shape = event.objects[0].combo
        question = f"What does the {color} {shape} do?"
        item = _item(video, "action", len(items), question, action_phrase(event.kind), actions, rng)
        if item is not None:
            items.append(item)
    return items


def _next_after_cut(video: SynthVideo) -> SynthEvent | None:
    cuts = [e for e in video.events if e.kind == "scene_cut"]
    if len(cuts) != 1:
        return None
    after = sorted(
        (e for e in video.events if e.kind != "scene_cut" and e.start >= cuts[0].start), key=lambda e: e.start
    )
    if not after or (len(after) > 1 and after[1].start - after[0].start < TIE_MARGIN):
        return None
    return after[0]


def synth_qa_items(videos: Sequence[SynthVideo], *, seed: int) -> list[QAItem]:
    """Every QA item the videos' events determine, in video order (types in the module docstring).

    Args:
        videos: the dataset's videos (one split or all).
        seed: the dataset seed (items are a function of it and the videos).

    Returns:
        Multiple-choice items; ``answers`` holds the answer text for open-ended scoring.
    """
    captions = [e.caption for v in videos for e in v.events if e.kind != "scene_cut"]
    items: list[QAItem] = []
    for video in videos:
        rng = np.random.default_rng([seed, _QA_SALT, zlib.crc32(video.id.encode("utf-8"))])
        own = _object_items(video, rng)
        nxt = _next_after_cut(video)
        if nxt is not None:
            others = [e.caption for e in video.events if e.kind != "scene_cut" and e.caption != nxt.caption]
            # the video's own other events first (they are on screen too), then other videos'
            pool = others + [captions[int(i)] for i in rng.permutation(len(captions))]
            wrong = list(dict.fromkeys(p for p in pool if p != nxt.caption))[: N_CANDIDATES - 1]
            item = _item(video, "after_cut", len(own), "What happens after the cut?", nxt.caption, wrong, rng)
            if item is not None:
                own.append(item)
        items.extend(own)
    return items


def qa_file(root: str | os.PathLike[str], split: str) -> Path:
    """Where a split's QA items are written: ``<root>/annotations/qa_<split>.json``."""
    from chronolens.data.formats.all import ANNOTATIONS_DIR

    return Path(root) / ANNOTATIONS_DIR / f"qa_{split}.json"


def write_synth_qa(root: str | os.PathLike[str], videos: Sequence[SynthVideo], *, seed: int) -> list[Path]:
    """Write ``annotations/qa_<split>.json`` (chronolens QA layout) for every split present."""
    out = []
    for split in SPLITS:
        chosen = [v for v in videos if v.split == split]
        if chosen:
            out.append(write_qa(qa_file(root, split), synth_qa_items(chosen, seed=seed)))
    return out
