"""Zero-shot classification of videos, windows and shots with prompt ensembles.

CLIP's zero-shot recipe (Radford et al. 2021; the ImageNet notebook's ``zeroshot_classifier``),
carried from images to video:

- every label is written into several templates (``"a video of {}."``, ...); each prompt is
  encoded and L2-normalised, the prompts of one label are averaged and the mean re-normalised:
  one ``(D,)`` class embedding per label;
- a segment's embedding is the mean of its frame embeddings, each frame weighted by how much
  of the segment its sample interval covers (:func:`chronolens.timebase.intervals.sample_intervals`),
  re-normalised; a segment shorter than the sampling step still gets the frame that covers it;
- the score of a label is the cosine of the two, ``prob`` its softmax at CLIP's logit scale 100.

Segments: the whole video, fixed windows (``per="window"``, ``window`` seconds, the last one
partial) or given shots (``per="shot"``, spans from :mod:`chronolens.tasks.shots`). A video in
the library is classified from its stored embeddings; any other video is decoded and embedded
now with the named encoder (nothing is written).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.encoders.base import Encoder
from chronolens.errors import ChronolensError
from chronolens.library.library import Library, default_library_path
from chronolens.tasks.video import VideoEmbeddings, video_embeddings
from chronolens.timebase import Span, clamp_span
from chronolens.timebase.intervals import sample_intervals

__all__ = [
    "DEFAULT_TEMPLATES",
    "DEFAULT_TOP_K",
    "DEFAULT_WINDOW",
    "LOGIT_SCALE",
    "PER_CHOICES",
    "Classification",
    "LabelScore",
    "SegmentLabels",
    "check_labels",
    "classify",
    "classify_embeddings",
    "label_embeddings",
    "parse_labels",
    "read_labels_file",
    "segment_embeddings",
    "window_spans",
]

logger = logging.getLogger(__name__)

# CLIP-style prompt templates: a subset of the 80 of CLIP's ImageNet notebook, worded for video.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "{}",
    "a video of {}.",
    "a video of a {}.",
    "a clip of {}.",
    "a photo of {}.",
    "a frame showing {}.",
)
DEFAULT_TOP_K = 5  # labels reported per segment
DEFAULT_WINDOW = 4.0  # seconds per window with per="window"
LOGIT_SCALE = 100.0  # CLIP's learned logit scale (exp(4.6052)), turns cosines into probabilities
PER_CHOICES: tuple[str, ...] = ("video", "window", "shot")


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelScore:
    """One label's score for a segment."""

    label: str
    score: float  # cosine of segment and class embedding, in [-1, 1]
    prob: float  # softmax over all labels of LOGIT_SCALE * score

    def to_json(self) -> dict[str, Any]:
        """``{"label", "score", "prob"}``."""
        return {"label": self.label, "score": self.score, "prob": self.prob}


@dataclass(frozen=True, kw_only=True, slots=True)
class SegmentLabels:
    """The top labels of one segment (the whole video, a window or a shot)."""

    span: Span  # seconds, [start, end)
    top: tuple[LabelScore, ...]  # best first

    def to_json(self) -> dict[str, Any]:
        """``{"start", "end", "labels": [...]}``."""
        return {"start": self.span.start, "end": self.span.end, "labels": [t.to_json() for t in self.top]}


@dataclass(frozen=True, kw_only=True)
class Classification:
    """Zero-shot labels of one video: for the whole video and per window or shot."""

    video: str  # the video file
    duration: float  # seconds
    model: str  # encoder name
    per: str  # "video", "window" or "shot"
    labels: tuple[str, ...]  # the label set, in the given order
    video_top: tuple[LabelScore, ...]  # the whole video's top labels, best first
    segments: tuple[SegmentLabels, ...]  # per window / shot (empty for per="video")
    scores: np.ndarray  # (S, C) cosines: row 0 the whole video, then one row per segment

    def to_json(self) -> dict[str, Any]:
        """``{"video", "duration", "model", "per", "labels": [top...], "segments": [...]}``."""
        return {
            "video": self.video,
            "duration": self.duration,
            "model": self.model,
            "per": self.per,
            "labels": [t.to_json() for t in self.video_top],
            "segments": [s.to_json() for s in self.segments],
        }


# -- labels -----------------------------------------------------------------------------------


def parse_labels(text: str) -> list[str]:
    """Labels from ``"a, b, c"`` (comma-separated, blanks dropped); see :func:`check_labels`."""
    return check_labels(part for part in text.split(","))


def read_labels_file(path: str | os.PathLike[str]) -> list[str]:
    """Labels from a text file, one per line (blank lines and ``#`` comments skipped).

    Raises:
        ChronolensError: the file cannot be read, or the labels are empty or repeated.
    """
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ChronolensError(f"no such labels file: {file}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ChronolensError(f"cannot read the labels file {file}: {exc}") from exc
    lines = [line.strip() for line in text.splitlines()]
    labels = [line for line in lines if line and not line.startswith("#")]
    if not labels:
        raise ChronolensError(f"the labels file {file} holds no labels (one per line)")
    return check_labels(labels)


def check_labels(labels: Iterable[str]) -> list[str]:
    """Stripped labels, with blanks dropped.

    Raises:
        ChronolensError: no label is left, or a label repeats (case-insensitively).
    """
    out = [label.strip() for label in labels if label.strip()]
    if not out:
        raise ChronolensError("no labels given (e.g. --labels 'cat,dog,car')")
    seen: dict[str, str] = {}
    for label in out:
        key = label.casefold()
        if key in seen:
            raise ChronolensError(f"duplicate label {label!r} (also given as {seen[key]!r})")
        seen[key] = label
    return out


def label_embeddings(
    encoder: Encoder, labels: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES
) -> np.ndarray:
    """One class embedding per label: the re-normalised mean of its normalised prompt embeddings.

    Args:
        encoder: the text tower.
        labels: C labels.
        templates: M templates, each holding one ``{}``.

    Returns:
        ``(C, D)`` float32, L2-normalised rows.
    """
    if not templates:
        raise ValueError("templates: at least one template is needed")
    bad = [t for t in templates if t.count("{}") != 1]
    if bad:
        raise ChronolensError(f"a prompt template must hold exactly one '{{}}', got {bad[0]!r}")
    prompts = [t.format(label) for label in labels for t in templates]
    text = np.asarray(encoder.encode_texts(prompts), dtype=np.float32)  # (C * M, D)
    text = text.reshape(len(labels), len(templates), -1)  # (C, M, D)
    text = text / np.maximum(np.linalg.norm(text, axis=-1, keepdims=True), 1e-12)
    mean = text.mean(axis=1)  # (C, D)
    return (mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


# -- segments ---------------------------------------------------------------------------------


def window_spans(duration: float, window: float = DEFAULT_WINDOW) -> list[Span]:
    """Consecutive ``window``-second spans tiling ``[0, duration]``; the last may be shorter."""
    if not window > 0:
        raise ValueError(f"window: must be > 0 seconds, got {window}")
    if not duration > 0:
        return []
    n = int(np.ceil(duration / window - 1e-9))
    return [clamp_span(k * window, (k + 1) * window, duration) for k in range(n)]


def segment_embeddings(
    embeddings: np.ndarray, timestamps: np.ndarray, duration: float, spans: Sequence[Span]
) -> np.ndarray:
    """One embedding per span: the overlap-weighted mean of the frames covering it, re-normalised.

    Each frame stands for its sample interval (halfway to its neighbours); its weight in a span
    is the seconds of that interval inside the span, so a span shorter than the sampling step
    still gets the frame that covers it. A span no interval touches takes the nearest frame.

    Args:
        embeddings: ``(T, D)`` frame embeddings (T >= 1).
        timestamps: ``(T,)`` seconds.
        duration: seconds.
        spans: S spans in seconds.

    Returns:
        ``(S, D)`` float32, L2-normalised rows.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    ts = np.asarray(timestamps, dtype=np.float64)
    starts, ends = sample_intervals(ts, duration)  # (T,), (T,)
    out = np.empty((len(spans), emb.shape[1]), dtype=np.float32)
    for i, span in enumerate(spans):
        weight = np.clip(np.minimum(ends, span.end) - np.maximum(starts, span.start), 0.0, None)  # (T,)
        if weight.sum() <= 0:
            weight = np.zeros_like(weight)
            weight[int(np.argmin(np.abs(ts - (span.start + span.end) / 2)))] = 1.0
        out[i] = (weight[:, None] * emb).sum(axis=0) / weight.sum()
    norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out / norms


def _top(scores: np.ndarray, labels: Sequence[str], top_k: int) -> tuple[LabelScore, ...]:
    logits = LOGIT_SCALE * scores.astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    order = np.argsort(-scores, kind="stable")[:top_k]  # ties: the label given first wins
    return tuple(
        LabelScore(label=labels[int(c)], score=float(scores[c]), prob=float(probs[c])) for c in order
    )


def classify_embeddings(
    source: VideoEmbeddings,
    labels: Sequence[str],
    *,
    class_embeddings: np.ndarray | None = None,
    per: str = "video",
    window: float = DEFAULT_WINDOW,
    shots: Sequence[Span] | None = None,
    top_k: int = DEFAULT_TOP_K,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
) -> Classification:
    """Classify one video's frame embeddings (the pure part of :func:`classify`).

    Args:
        source: the video's frame embeddings and encoder (:func:`chronolens.tasks.video.video_embeddings`).
        labels: the label set.
        class_embeddings: ``(C, D)`` from :func:`label_embeddings` (made now when None).
        per: ``"video"``, ``"window"`` or ``"shot"``.
        window: seconds per window (``per="window"``).
        shots: shot spans (required for ``per="shot"``).
        top_k: labels kept per segment.
        templates: prompt templates (used when ``class_embeddings`` is None).

    Raises:
        ChronolensError: a video without frames; ``per="shot"`` without shots; unknown ``per``.
    """
    if per not in PER_CHOICES:
        raise ChronolensError(f"--per must be one of {', '.join(PER_CHOICES)}, got {per!r}")
    if top_k < 1:
        raise ValueError(f"top_k: must be >= 1, got {top_k}")
    if source.embeddings.shape[0] == 0:
        raise ChronolensError(f"{source.path}: no frames to classify (zero-frame video)")
    labels = check_labels(labels)
    text = (
        class_embeddings
        if class_embeddings is not None
        else label_embeddings(source.encoder, labels, templates)
    )
    if text.shape[0] != len(labels):
        raise ValueError(f"class_embeddings has {text.shape[0]} rows for {len(labels)} labels")
    if per == "shot" and shots is None:
        raise ChronolensError("per='shot' needs the video's shots (chronolens.tasks.shots)")
    duration = float(source.duration)
    spans: list[Span] = []
    if per == "window":
        spans = window_spans(duration, window)
    elif per == "shot" and shots is not None:
        spans = [clamp_span(s.start, s.end, duration) for s in shots]
    whole = Span(0.0, max(duration, 0.0))
    seg = segment_embeddings(source.embeddings, source.timestamps, duration, [whole, *spans])  # (S, D)
    scores = seg @ text.T  # (S, C)
    k = min(top_k, len(labels))
    return Classification(
        video=source.path,
        duration=duration,
        model=str(getattr(source.encoder, "name", "")),
        per=per,
        labels=tuple(labels),
        video_top=_top(scores[0], labels, k),
        segments=tuple(
            SegmentLabels(span=span, top=_top(scores[i + 1], labels, k)) for i, span in enumerate(spans)
        ),
        scores=scores,
    )


# -- files ------------------------------------------------------------------------------------

ShotsFn = Callable[[str], Sequence[Span]]  # video path -> its shot spans


def classify(
    videos: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    labels: Sequence[str],
    *,
    library: Library | str | os.PathLike[str] | None = None,
    model: str | None = None,
    per: str = "video",
    window: float = DEFAULT_WINDOW,
    shots: ShotsFn | None = None,
    top_k: int = DEFAULT_TOP_K,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    on_video: Callable[[Classification], None] | None = None,
) -> list[Classification]:
    """Zero-shot labels of one or more video files.

    Class embeddings are made once per encoder. A video indexed in the library is read from its
    stored embeddings when ``model`` is None or names the library's encoder; any other video is
    decoded at 1 fps and embedded with ``model`` (default ``DEFAULT_ENCODER``).

    Args:
        videos: a video file or several.
        labels: the label set (checked by :func:`check_labels`).
        library: a library (or its path) to look videos up in (default: the default library).
        model: encoder name, e.g. ``builtin:synth-clip`` or ``hf:openai/clip-vit-base-patch32``.
        per: ``"video"``, ``"window"`` or ``"shot"``.
        window: seconds per window.
        shots: video path -> shot spans, for ``per="shot"`` (e.g. ``tasks.shots.shots_for``).
        top_k: labels kept per segment.
        templates: prompt templates.
        on_video: called after each video (progress).

    Raises:
        ChronolensError: bad labels, a missing file; ``DecodeError`` for an undecodable or
            zero-frame video; ``ModelNotFoundError`` for an unknown encoder name.
    """
    labels = check_labels(labels)
    if per not in PER_CHOICES:
        raise ChronolensError(f"--per must be one of {', '.join(PER_CHOICES)}, got {per!r}")
    files = [videos] if isinstance(videos, (str, os.PathLike)) else list(videos)
    lib, opened = _open_library(library)
    encoders: dict[str, Encoder] = {}
    texts: dict[str, np.ndarray] = {}
    try:
        out = []
        for video in files:
            source = _source(Path(video), lib, model, encoders)
            name = str(getattr(source.encoder, "name", id(source.encoder)))
            if name not in texts:
                texts[name] = label_embeddings(source.encoder, labels, templates)
            spans = shots(source.path) if per == "shot" and shots is not None else None
            result = classify_embeddings(
                source, labels, class_embeddings=texts[name], per=per, window=window, shots=spans, top_k=top_k
            )
            out.append(result)
            if on_video is not None:
                on_video(result)
        return out
    finally:
        if opened and lib is not None:
            lib.close()


def _open_library(library: Library | str | os.PathLike[str] | None) -> tuple[Library | None, bool]:
    if isinstance(library, Library):
        return library, False
    root = Path(library) if library is not None else default_library_path()
    if not Library.exists(root):
        return None, False
    return Library.open(root, create=False, read_only=True), True


def _source(
    path: Path, lib: Library | None, model: str | None, encoders: dict[str, Encoder]
) -> VideoEmbeddings:
    """Stored embeddings when the library holds the video (for this encoder), else made now."""
    if not path.expanduser().is_file():
        raise ChronolensError(f"no such video file: {path.expanduser().absolute()}")
    if lib is not None and (model is None or model == lib.manifest.encoder):
        record = lib.lookup(path)
        if record is not None and record.status == "indexed" and record.n_frames > 0:
            return video_embeddings(path, library=lib)
    from chronolens.encoders import DEFAULT_ENCODER, load_encoder
    from chronolens.ingest import embed_file
    from chronolens.video.sampling import FixedFps

    name = model or DEFAULT_ENCODER
    if name not in encoders:
        encoders[name] = load_encoder(name)
    resolved = path.expanduser().resolve()
    emb, ts, duration = embed_file(resolved, encoder=encoders[name], sampling=FixedFps(fps=1.0))
    logger.debug("%s: %d frames embedded with %s", resolved, len(ts), name)
    return VideoEmbeddings(
        path=str(resolved), embeddings=emb, timestamps=ts, duration=duration, encoder=encoders[name]
    )
