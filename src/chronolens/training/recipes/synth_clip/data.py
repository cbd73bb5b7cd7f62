"""Frame-caption pairs for training ``builtin:synth-clip`` from a synthetic benchmark directory.

Frames are decoded from the rendered mp4 files with the same reader the library uses at
inference (fixed-fps sampling, resized on decode to the model's input size) and cached as one
``.npz`` so later runs skip decoding. Each frame carries the texts that truly describe it:
every caption and paraphrase of each event on screen at that instant, the scene caption while
the opening scene is shown, and the video-level caption. ``hard_negative_captions`` gives the
texts that almost describe an event: the same caption with one object attribute swapped.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from chronolens.data.synth.scene import SynthDataset, SynthEvent, SynthVideo

__all__ = ["FrameBank", "FrameTexts", "build_frame_bank", "frame_texts", "hard_negative_captions"]

logger = logging.getLogger(__name__)

_CACHE_VERSION = 1  # bump when the cached arrays change meaning


@dataclass(frozen=True, slots=True)
class FrameTexts:
    """The texts that describe one frame."""

    events: tuple[tuple[str, ...], ...]  # per active event: (canonical caption, *paraphrases)
    scene: str  # the scene caption, or "" once the scene has cut away
    video: str  # the video-level caption

    @property
    def valid(self) -> frozenset[str]:
        """Every text that is a positive for this frame."""
        out = {t for texts in self.events for t in texts}
        if self.scene:
            out.add(self.scene)
        out.add(self.video)
        return frozenset(out)


@dataclass(frozen=True, slots=True)
class FrameBank:
    """Decoded frames of one split with their timestamps and texts."""

    images: np.ndarray  # (N, S, S, 3) uint8 RGB at the model's input size
    times: np.ndarray  # (N,) float64 seconds
    video_index: np.ndarray  # (N,) int64 index into ``videos``
    videos: tuple[SynthVideo, ...]  # the split's videos
    texts: tuple[FrameTexts, ...]  # (N,) per frame

    def __len__(self) -> int:
        return int(self.times.shape[0])

    @property
    def event_frames(self) -> np.ndarray:
        """Indices of frames on which at least one event is active."""
        return np.flatnonzero([bool(t.events) for t in self.texts])


def frame_texts(video: SynthVideo, t: float) -> FrameTexts:
    """The texts that describe ``video`` at time ``t`` seconds (events active on ``[start, end)``)."""
    events = tuple((e.caption, *e.paraphrases) for e in video.events if e.start <= t < e.end and e.caption)
    first_cut = min((e.start for e in video.events if e.kind == "scene_cut"), default=float("inf"))
    scene = video.scene_caption if t < first_cut else ""
    return FrameTexts(events=events, scene=scene, video=video.caption)


def hard_negative_captions(event: SynthEvent, video: SynthVideo, rng: np.random.Generator) -> tuple[str, ...]:
    """Captions of ``event`` with one object's shape, colour, size or texture swapped.

    NegCLIP-style hard negatives: they differ from a true caption in one visible attribute, so
    matching them costs a model that reads "red" but not "circle". A swap that would name a
    colour-shape pair shown anywhere in ``video`` is skipped (it might describe what is on
    screen), and so are colour swaps of a colour-change event (both colours are shown). Each
    swap is worded like the positives: the canonical caption one time in five, else a paraphrase.

    Args:
        event: an event of ``video`` (a scene cut has no objects and gets none).
        video: its video.
        rng: draws the wording.

    Returns:
        The hard-negative captions, in a fixed order for a given ``rng`` state.
    """
    from chronolens.data.synth.grammar import PARAPHRASES_PER_EVENT, canonical_caption, sample_paraphrases
    from chronolens.data.synth.vocab import COLORS, SHAPES, SIZES, TEXTURES

    shown = {(o.color, o.shape) for o in video.distractors}
    shown |= {(o.color, o.shape) for e in video.events for o in e.objects}
    out: list[str] = []
    for slot, obj in enumerate(event.objects):
        swaps = [replace(obj, shape=x) for x in SHAPES if x != obj.shape]
        if event.kind != "change_color":
            swaps += [replace(obj, color=x) for x in COLORS if x != obj.color]
        swaps += [replace(obj, size=x) for x in SIZES if x != obj.size]
        swaps += [replace(obj, texture=x) for x in TEXTURES if x != obj.texture]
        for new in swaps:
            if (new.color, new.shape) != (obj.color, obj.shape) and (new.color, new.shape) in shown:
                continue
            objects = tuple(new if i == slot else o for i, o in enumerate(event.objects))
            swapped = replace(event, objects=objects)
            if rng.random() < 1.0 / (1 + PARAPHRASES_PER_EVENT):
                out.append(canonical_caption(swapped))
            else:
                out.append(sample_paraphrases(swapped, rng, n=1)[0])
    return tuple(out)


def _cache_key(videos: tuple[SynthVideo, ...], fps: float, size: int) -> str:
    digest = hashlib.sha256(f"v{_CACHE_VERSION}|{fps}|{size}".encode())
    for v in videos:
        digest.update(f"|{v.id}:{v.n_frames}:{v.fps}".encode())
    return digest.hexdigest()[:16]


def build_frame_bank(
    dataset: SynthDataset,
    split: str,
    *,
    fps: float,
    size: int,
    cache_dir: str | os.PathLike[str] | None = None,
    max_videos: int | None = None,
    progress: bool = True,
) -> FrameBank:
    """Decode the frames of ``split`` at ``fps`` resized to ``size`` and attach their texts.

    Args:
        dataset: the loaded synthetic benchmark.
        split: ``"train"``, ``"val"``, ...
        fps: samples per second of video.
        size: shorter side after resize on decode (the model's input size).
        cache_dir: where to keep ``frames-<split>-<key>.npz``; ``None`` disables caching.
        max_videos: use only the first videos of the split (quick experiments).
        progress: show a progress bar while decoding.

    Returns:
        The split's ``FrameBank``.
    """
    from chronolens.video import FixedFps, read_frames

    videos = dataset.split(split)
    if max_videos is not None:
        videos = videos[:max_videos]
    if not videos:
        raise ValueError(f"split {split!r} of {dataset.root} has no videos")
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"frames-{split}-{_cache_key(videos, fps, size)}.npz"
    if cache is not None and cache.is_file():
        with np.load(cache) as data:
            images, times, vidx = data["images"], data["times"], data["video_index"]
        logger.info("loaded %d cached %s frames from %s", len(times), split, cache)
    else:
        from tqdm.auto import tqdm

        chunks, tchunks, ichunks = [], [], []
        for i, video in enumerate(tqdm(videos, desc=f"decode {split}", unit="video", disable=not progress)):
            frames = read_frames(dataset.video_path(video), sampling=FixedFps(fps=fps), size=size)
            chunks.append(_center_square(frames.images, size))
            tchunks.append(frames.timestamps)
            ichunks.append(np.full(len(frames), i, dtype=np.int64))
        images = np.concatenate(chunks)
        times = np.concatenate(tchunks).astype(np.float64)
        vidx = np.concatenate(ichunks)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_name(f".{cache.name}.partial.npz")
            np.savez(tmp, images=images, times=times, video_index=vidx)
            os.replace(tmp, cache)
    texts = tuple(frame_texts(videos[int(v)], float(t)) for v, t in zip(vidx, times, strict=True))
    logger.info("%s: %d frames from %d videos", split, len(times), len(videos))
    return FrameBank(images=images, times=times, video_index=vidx, videos=videos, texts=texts)


def _center_square(images: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop ``(N, H, W, 3)`` frames to ``(N, size, size, 3)`` (a no-op for square videos)."""
    h, w = images.shape[1:3]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(images[:, top : top + size, left : left + size])
