"""Zero-shot classification on the synthetic benchmark: top-1 / top-5 next to random and majority.

Samples are event windows of a split whose window overlaps no other event (so one object, one
action is on screen besides the static distractors). Three attributes are classified from the
window's mean frame embedding (``tasks.classify.segment_embeddings``):

- ``action``: the event kind (all 12, scene cuts included), labels are the canonical verb
  phrases (``"moves left"``);
- ``shape``: the event object's shape (7), single-object events only;
- ``color``: its colour family (9), single-object events whose colour holds (no ``change_color``).

Each is scored with three prompt sets: ``label`` (the bare label), ``generic`` (the CLIP-style
``DEFAULT_TEMPLATES``) and ``synth`` (an ensemble over the benchmark's own vocabulary: a colour
is prompted as ``"a {} circle"``, ``"a {} square"``, ... over every shape; a shape over every
colour; an action over every shape). Baselines: ``random`` is the expected top-k of uniformly
random scores (``min(k, C) / C``); ``majority`` ranks classes by their frequency in the scored
samples themselves (the best any constant prediction can do on this set).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chronolens.data.synth.qa import action_phrase
from chronolens.data.synth.scene import SynthDataset, SynthEvent
from chronolens.data.synth.vocab import COLORS, EVENT_KINDS, SHAPES
from chronolens.metrics.classification import TOPK, topk_accuracy
from chronolens.progress import progress_bar
from chronolens.tasks.classify import DEFAULT_TEMPLATES, label_embeddings, segment_embeddings
from chronolens.tasks.video import VideoEmbeddings
from chronolens.timebase import Span

__all__ = [
    "ATTRIBUTES",
    "ClassifyBenchReport",
    "ClassifyScore",
    "embed_videos",
    "event_samples",
    "format_classify_report",
    "run_classify_bench",
]

logger = logging.getLogger(__name__)

ATTRIBUTES: tuple[str, ...] = ("action", "shape", "color")
PROMPT_SETS: tuple[str, ...] = ("label", "generic", "synth")
_SCENE_CUT_LABEL = "the scene cuts"  # scene_cut's verb phrase has a background slot: a fixed label


def _class_names(attribute: str) -> list[str]:
    if attribute == "action":
        return list(EVENT_KINDS)
    return list(SHAPES) if attribute == "shape" else list(COLORS)


def _label_text(attribute: str, name: str) -> str:
    if attribute != "action":
        return name
    return _SCENE_CUT_LABEL if name == "scene_cut" else action_phrase(name)


def _templates(attribute: str, prompts: str) -> list[str]:
    """Templates of one prompt set (each holds one ``{}``)."""
    if prompts == "label":
        return ["{}"]
    if prompts == "generic":
        return list(DEFAULT_TEMPLATES)
    if attribute == "color":
        return [f"a {{}} {shape}" for shape in SHAPES]
    if attribute == "shape":
        return [f"a {color} {{}}" for color in COLORS]
    return [f"a {shape} {{}}" for shape in SHAPES]


def _value(attribute: str, event: SynthEvent) -> str | None:
    """The event's class for an attribute, or None when the event does not have one."""
    if attribute == "action":
        return event.kind
    if len(event.objects) != 1:
        return None
    if attribute == "shape":
        return event.objects[0].shape
    return None if event.kind == "change_color" else event.objects[0].color


def event_samples(dataset: SynthDataset, split: str) -> list[tuple[str, SynthEvent]]:
    """``(video path, event)`` of every event of ``split`` that overlaps no other event."""
    out = []
    for video in dataset.split(split):
        for event in video.events:
            alone = all(o is event or o.end <= event.start or o.start >= event.end for o in video.events)
            if alone:
                out.append((dataset.video_path(video), event))
    return out


def embed_videos(
    paths: Sequence[str], model: str, *, fps: float = 1.0, progress: bool = False
) -> dict[str, VideoEmbeddings]:
    """Decode and embed each video once (``fps`` samples per second) with one loaded encoder."""
    from chronolens.encoders import load_encoder
    from chronolens.ingest import embed_file
    from chronolens.video.sampling import FixedFps

    encoder = load_encoder(model)
    out: dict[str, VideoEmbeddings] = {}
    for path in progress_bar(list(dict.fromkeys(paths)), desc="embed", unit="video", enabled=progress):
        emb, ts, duration = embed_file(path, encoder=encoder, sampling=FixedFps(fps=fps))
        out[path] = VideoEmbeddings(
            path=path, embeddings=emb, timestamps=ts, duration=duration, encoder=encoder
        )
    return out


@dataclass(frozen=True, kw_only=True)
class ClassifyScore:
    """Top-k of one attribute with one prompt set, next to its baselines (all x100)."""

    attribute: str
    prompts: str  # "label", "generic" or "synth"
    n: int  # samples scored
    classes: int
    model: dict[str, float]  # {"top1", "top5"}
    random: dict[str, float]
    majority: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """Every field."""
        return {
            "attribute": self.attribute,
            "prompts": self.prompts,
            "n": self.n,
            "classes": self.classes,
            "model": self.model,
            "random": self.random,
            "majority": self.majority,
        }


@dataclass(frozen=True, kw_only=True)
class ClassifyBenchReport:
    """Zero-shot classification scores of one encoder on one synthetic split."""

    data: str
    split: str
    encoder: str
    scores: tuple[ClassifyScore, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"data", "split", "encoder", "scores": [...]}``."""
        return {
            "data": self.data,
            "split": self.split,
            "encoder": self.encoder,
            "scores": [s.to_json() for s in self.scores],
        }


def _baselines(labels: np.ndarray, classes: int) -> tuple[dict[str, float], dict[str, float]]:
    random = {f"top{k}": 100.0 * min(k, classes) / classes for k in TOPK}
    counts = np.bincount(labels, minlength=classes).astype(np.float64)  # (C,)
    majority = topk_accuracy(np.tile(counts, (len(labels), 1)), labels)
    return random, majority


def run_classify_bench(
    dataset: SynthDataset,
    *,
    split: str = "test",
    model: str = "builtin:synth-clip",
    embeddings: dict[str, VideoEmbeddings] | None = None,
    progress: bool = False,
) -> ClassifyBenchReport:
    """Score zero-shot classification of the split's isolated events (module docstring).

    Args:
        dataset: a synthetic dataset.
        split: the split scored.
        model: encoder name (used when ``embeddings`` is None).
        embeddings: video path -> frame embeddings already made (e.g. shared with ``bench qa``);
            videos missing from it are embedded with ``model``.
        progress: bars on stderr (terminal only).

    Raises:
        ChronolensError: the split has no isolated event.
    """
    from chronolens.errors import ChronolensError

    samples = event_samples(dataset, split)
    if not samples:
        raise ChronolensError(f"{dataset.root}: split {split!r} has no event to classify")
    missing = [p for p, _ in samples if embeddings is None or p not in embeddings]
    embeddings = (
        {**(embeddings or {}), **embed_videos(missing, model, progress=progress)} if missing else embeddings
    )
    assert embeddings is not None  # every sample's video is embedded by now
    encoder = next(iter(embeddings.values())).encoder
    scores = []
    for attribute in ATTRIBUTES:
        names = _class_names(attribute)
        chosen = [(p, e, _value(attribute, e)) for p, e in samples]
        kept = [(p, e, v) for p, e, v in chosen if v is not None]
        if not kept:
            continue
        seg = np.stack(
            [
                segment_embeddings(
                    embeddings[p].embeddings,
                    embeddings[p].timestamps,
                    embeddings[p].duration,
                    [Span(e.start, e.end)],
                )[0]
                for p, e, _ in kept
            ]
        )  # (N, D)
        labels = np.array([names.index(v) for _, _, v in kept])  # (N,)
        random, majority = _baselines(labels, len(names))
        texts = [_label_text(attribute, n) for n in names]
        for prompts in PROMPT_SETS:
            text = label_embeddings(encoder, texts, _templates(attribute, prompts))  # (C, D)
            scores.append(
                ClassifyScore(
                    attribute=attribute,
                    prompts=prompts,
                    n=len(kept),
                    classes=len(names),
                    model=topk_accuracy(seg @ text.T, labels),
                    random=random,
                    majority=majority,
                )
            )
    logger.debug("classified %d events; kinds %s", len(samples), Counter(e.kind for _, e in samples))
    return ClassifyBenchReport(
        data=str(dataset.root), split=split, encoder=str(encoder.name), scores=tuple(scores)
    )


def format_classify_report(report: ClassifyBenchReport) -> str:
    """A table: attribute, prompts, n, classes, top-1 / top-5 of the model, random, majority."""
    lines = [
        f"zero-shot classification  split: {report.split}  encoder: {report.encoder}",
        f"{'attribute':<10}{'prompts':<9}{'n':>5}{'C':>4}  {'top1':>6}{'top5':>7}  "
        f"{'rand1':>6}{'rand5':>7}  {'maj1':>6}{'maj5':>7}",
    ]
    for s in report.scores:
        figures = "  ".join(f"{d['top1']:>6.1f}{d['top5']:>7.1f}" for d in (s.model, s.random, s.majority))
        lines.append(f"{s.attribute:<10}{s.prompts:<9}{s.n:>5}{s.classes:>4}  {figures}")
    return "\n".join(lines)
