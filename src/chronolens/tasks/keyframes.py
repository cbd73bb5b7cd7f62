"""Keyframes: a budget of representative frames of one video, and writing them as images.

Selection (:func:`keyframes`), in two stages:

1. **One per shot.** Each shot's keyframe is its sampled frame closest (cosine) to the mean of
   the shot's frame embeddings; a shot without a sampled frame, or any shot when no embeddings
   are used, gets its middle instant. With fewer budget than shots, the shots' keyframes are
   chosen farthest-point first (seeded by the longest shot's), so different-looking shots win.
2. **Diversity.** While budget is left, the sampled frame farthest (largest minimum cosine
   distance) from every keyframe chosen so far is added; without embeddings, the midpoint of the
   longest stretch of video without a keyframe.

:func:`write_keyframes` decodes the chosen frames (PyAV), encodes each as JPEG (MJPEG, full
chroma) or PNG with PyAV's own encoders, and writes them with ``keyframes.json`` (times, shots)
into the output directory atomically: the directory is built beside it and swapped in whole.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from chronolens.atomic import atomic_directory, write_json_atomic
from chronolens.errors import ChronolensError
from chronolens.library.library import Library
from chronolens.tasks.shots import DEFAULT_DETECTOR, ShotResult, detect_shots
from chronolens.video.images import IMAGE_FORMATS, ImageFormat, encode_image

__all__ = [
    "IMAGE_FORMATS",
    "INDEX_NAME",
    "Keyframe",
    "KeyframeSet",
    "keyframe_images",
    "keyframes",
    "select_keyframes",
    "write_keyframes",
]

logger = logging.getLogger(__name__)

INDEX_NAME = "keyframes.json"  # the index written next to the images


@dataclass(frozen=True, kw_only=True, slots=True)
class Keyframe:
    """One chosen frame."""

    time: float  # seconds: a sampled frame's PTS, or a shot's middle instant (see ``write_keyframes``)
    shot: int  # index of the shot it lies in
    reason: Literal["shot", "diversity"]  # stage that chose it
    file: str | None = None  # image file name under the output directory, once written

    def to_json(self) -> dict[str, Any]:
        """``{"time", "shot", "reason", "file"}``."""
        return {"time": self.time, "shot": self.shot, "reason": self.reason, "file": self.file}


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyframeSet:
    """The keyframes of one video as written."""

    video: str  # the video file
    duration: float  # seconds
    detector: str  # shot detector used
    keyframes: tuple[Keyframe, ...]  # in time order
    out: str | None = None  # the directory written (None: not written)

    def to_json(self) -> dict[str, Any]:
        """``{"video", "duration", "detector", "out", "keyframes": [...]}``."""
        return {
            "video": self.video,
            "duration": self.duration,
            "detector": self.detector,
            "out": self.out,
            "keyframes": [k.to_json() for k in self.keyframes],
        }


def _shot_of(starts: np.ndarray, t: float) -> int:
    return max(0, int(np.searchsorted(starts, t, side="right")) - 1)


def _farthest(vectors: np.ndarray, chosen: list[int], candidates: Sequence[int], k: int) -> list[int]:
    """Farthest-point selection: add up to ``k`` of ``candidates`` maximising the min cosine distance.

    Args:
        vectors: ``(N, D)`` L2-normalised rows.
        chosen: rows already chosen (distances are measured to these too).
        candidates: rows that may be added.
        k: how many to add.
    """
    pool = [c for c in candidates if c not in set(chosen)]
    picked: list[int] = []
    if not pool or k <= 0:
        return picked
    pool_v = vectors[pool]  # (P, D)
    # (P,) cosine distance of each candidate to its nearest chosen row
    nearest = (1.0 - pool_v @ vectors[chosen].T).min(axis=1) if chosen else np.full(len(pool), np.inf)
    alive = np.ones(len(pool), dtype=bool)
    while len(picked) < k and alive.any():
        i = int(np.argmax(np.where(alive, nearest, -np.inf)))  # first on ties: earliest in time
        picked.append(pool[i])
        alive[i] = False
        nearest = np.minimum(nearest, 1.0 - pool_v @ pool_v[i])
    return picked


def select_keyframes(
    shots: ShotResult, budget: int, embeddings: np.ndarray | None = None, timestamps: np.ndarray | None = None
) -> list[Keyframe]:
    """Choose ``budget`` keyframes (module rule) from shots and, optionally, frame embeddings.

    Args:
        shots: the video's shots.
        budget: keyframes wanted, >= 1 (fewer come back when the samples run out).
        embeddings: ``(T, D)`` L2-normalised frame embeddings, or ``None`` (middle instants only).
        timestamps: ``(T,)`` seconds of the embeddings.

    Returns:
        Keyframes in time order, at distinct times.
    """
    if budget < 1:
        raise ValueError(f"keyframe budget must be >= 1, got {budget!r}")
    starts = np.asarray([s.start for s in shots.shots])
    if embeddings is None or timestamps is None or len(timestamps) == 0:
        return _by_time(shots, budget)
    e = np.asarray(embeddings, dtype=np.float32)
    ts = np.asarray(timestamps, dtype=np.float64)
    owner = np.asarray([_shot_of(starts, t) for t in ts])  # (T,) shot of each sample
    reps: list[int] = []  # one sample per shot (the one nearest its centroid, or nearest its middle)
    for i in range(len(shots.shots)):
        inside = np.flatnonzero(owner == i)
        if inside.size:
            centroid = e[inside].mean(axis=0)
            reps.append(int(inside[np.argmax(e[inside] @ centroid)]))
        else:
            reps.append(-1 - i)  # no sample: the middle instant, stands in as the nearest sample
    vectors_of = [r if r >= 0 else int(np.argmin(np.abs(ts - _middle(shots, -1 - r)))) for r in reps]
    order = sorted(range(len(reps)), key=lambda i: -shots.shots[i].length)  # longest shot first
    if budget < len(reps):
        seed = order[0]
        rep_vectors = e[vectors_of]  # (S, D)
        keep = [seed, *_farthest(rep_vectors, [seed], [i for i in range(len(reps)) if i != seed], budget - 1)]
    else:
        keep = list(range(len(reps)))
    chosen = [
        Keyframe(time=float(ts[reps[i]]) if reps[i] >= 0 else _middle(shots, i), shot=i, reason="shot")
        for i in keep
    ]
    taken = [vectors_of[i] for i in keep]
    extra = _farthest(e, taken, range(len(ts)), budget - len(chosen))
    chosen += [Keyframe(time=float(ts[j]), shot=int(owner[j]), reason="diversity") for j in extra]
    return _distinct(chosen)


def _middle(shots: ShotResult, i: int) -> float:
    span = shots.shots[i]
    return (span.start + span.end) / 2.0


def _by_time(shots: ShotResult, budget: int) -> list[Keyframe]:
    """Without embeddings: middle instants of the longest shots, then of the longest gaps."""
    starts = np.asarray([s.start for s in shots.shots])
    order = sorted(range(len(shots.shots)), key=lambda i: -shots.shots[i].length)[:budget]
    chosen = [Keyframe(time=_middle(shots, i), shot=i, reason="shot") for i in sorted(order)]
    while len(chosen) < budget:
        edges = [0.0, *sorted(k.time for k in chosen), shots.duration]
        gaps = np.diff(edges)
        g = int(np.argmax(gaps))
        if gaps[g] <= 1e-6:
            break
        t = (edges[g] + edges[g + 1]) / 2.0
        chosen.append(Keyframe(time=t, shot=_shot_of(starts, t), reason="diversity"))
    return _distinct(chosen)


def _distinct(frames: list[Keyframe]) -> list[Keyframe]:
    out: dict[float, Keyframe] = {}
    for k in frames:
        out.setdefault(round(k.time, 6), k)
    return sorted(out.values(), key=lambda k: k.time)


def keyframes(
    video: str | os.PathLike[str],
    budget: int,
    *,
    library: Library | str | os.PathLike[str] | None = None,
    model: str | None = None,
    detector: str = DEFAULT_DETECTOR,
    shots: ShotResult | None = None,
    use_embeddings: bool = True,
    progress: bool = False,
) -> list[Keyframe]:
    """Choose ``budget`` representative frames of a video (for thumbnails, reports, the web page).

    Args:
        video: a video file.
        budget: keyframes wanted, >= 1.
        library: where to look the video up (its stored shots and embeddings are used).
        model: encoder for a video outside the library (see ``tasks.video.video_embeddings``).
        detector: shot detector when ``shots`` is not given.
        shots: the video's shots, when already known.
        use_embeddings: use frame embeddings (stored, else made now); ``False``: middle frames.
        progress: show bars on long work (terminal only).

    Returns:
        Keyframes in time order (fewer than ``budget`` when the video has fewer distinct samples).
    """
    if budget < 1:
        raise ChronolensError(f"keyframe budget must be >= 1, got {budget}")
    found = shots or detect_shots(video, detector, library=library, progress=progress)
    if not use_embeddings:
        return select_keyframes(found, budget)
    from chronolens.tasks.video import video_embeddings

    source = video_embeddings(video, library=library, model=model)
    return select_keyframes(found, budget, source.embeddings, source.timestamps)


def keyframe_images(
    video: str | os.PathLike[str], picks: Sequence[Keyframe], *, size: int | None = None
) -> list[tuple[Keyframe, np.ndarray]]:
    """Decode the frames of ``picks`` (thumbnails for reports and the web page, nothing written).

    Args:
        video: the video file.
        picks: keyframes from :func:`keyframes`.
        size: shorter side in pixels (``None``: native).

    Returns:
        ``(keyframe, image (H, W, 3) uint8 RGB)`` in time order; each keyframe's ``time`` is now the
        PTS of the frame displayed at its instant, and two instants on one frame give it once.

    Raises:
        DecodeError: the video cannot be decoded.
    """
    from chronolens.video.reader import frames_at

    if not picks:
        return []
    frames = frames_at(video, [k.time for k in picks], size=size)
    out: list[tuple[Keyframe, np.ndarray]] = []
    used: set[int] = set()
    for k in sorted(picks, key=lambda k: k.time):
        # the frame displayed at k.time: the last decoded frame at or before it
        j = max(0, int(np.searchsorted(frames.timestamps, k.time + 1e-6, side="right")) - 1)
        if j not in used:
            used.add(j)
            out.append((replace(k, time=float(frames.timestamps[j])), frames.images[j]))
    return out


def _check_out(out: Path) -> None:
    """``out`` may be absent, empty, or a previous keyframes directory (it is replaced whole)."""
    if out.exists() and not out.is_dir():
        raise ChronolensError(f"--out {out} is a file; name a directory for the keyframes")
    if out.is_dir() and any(out.iterdir()) and not (out / INDEX_NAME).is_file():
        raise ChronolensError(
            f"--out {out} holds other files; name a new directory (it is replaced whole on each run)"
        )


def write_keyframes(
    video: str | os.PathLike[str],
    out: str | os.PathLike[str],
    budget: int,
    *,
    fmt: ImageFormat = "jpg",
    size: int | None = None,
    chosen: Sequence[Keyframe] | None = None,
    **options: Any,
) -> KeyframeSet:
    """Choose keyframes (see :func:`keyframes`; ``options`` go there) and write them under ``out``.

    Each image is ``NNN_<seconds>.<fmt>``; ``keyframes.json`` lists their times (the PTS of the
    frame displayed at each chosen instant), shots and files. ``out`` is replaced atomically.

    Args:
        video: a video file.
        out: output directory (absent, empty, or written by this function before).
        budget: keyframes wanted.
        fmt: ``"jpg"`` or ``"png"``.
        size: shorter side of the images in pixels (``None``: the video's own size).
        chosen: keyframes already selected (skips the selection).

    Raises:
        ChronolensError: bad ``out`` or ``fmt``; ``DecodeError`` for an undecodable video.
    """
    if fmt not in IMAGE_FORMATS:
        raise ChronolensError(f"unknown image format {fmt!r}; choose from {', '.join(IMAGE_FORMATS)}")
    target = Path(out).expanduser()
    _check_out(target)
    detector = str(options.get("detector", DEFAULT_DETECTOR))
    shots = options.pop("shots", None) or detect_shots(
        video, detector, library=options.get("library"), progress=bool(options.get("progress"))
    )
    picks = list(chosen) if chosen is not None else keyframes(video, budget, shots=shots, **options)
    written: list[Keyframe] = []
    with atomic_directory(target) as tmp:
        for k, image in keyframe_images(video, picks, size=size):
            name = f"{len(written):03d}_{k.time:010.3f}.{fmt}"
            (tmp / name).write_bytes(encode_image(image, fmt))
            written.append(replace(k, file=name))
        result = KeyframeSet(
            video=str(Path(video).expanduser().absolute()),
            duration=shots.duration,
            detector=shots.detector,
            keyframes=tuple(written),
            out=str(target.absolute()),
        )
        write_json_atomic(tmp / INDEX_NAME, result.to_json(), indent=2)
    return result
