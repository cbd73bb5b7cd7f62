"""QVHighlights-format queries with chronolens' own features: what the moment-detr recipe trains on.

A dataset directory holds ``annotations/qvhighlights_<split>.jsonl`` (what ``chronolens synth``
writes; a real QVHighlights jsonl can be put there too) and the videos, ``<vid>.<ext>`` anywhere
below it. The videos are indexed into a library with the recipe's encoder (incremental: a rerun
decodes nothing), and each query becomes an :class:`Example`: its video's clip features
(``models.moment_detr.features``), its token features, its moments and per-clip saliency levels
(the annotators' scores summed, as QD-DETR's rank-contrastive loss reads them).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chronolens.data.formats.all import annotation_files
from chronolens.data.formats.qvhighlights import QVHRecord, read_qvhighlights
from chronolens.errors import ChronolensError
from chronolens.evaluation.videos import video_files
from chronolens.library import Library
from chronolens.models.moment_detr.features import library_clip_features
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = ["Example", "crop", "load_examples", "read_split"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Example:
    """One query of one video, as features."""

    record: QVHRecord  # the annotation it came from
    clips: np.ndarray  # (C, D) float32 clip features of the whole video
    tokens: np.ndarray  # (L, D) float32 query token features
    windows: np.ndarray  # (N, 2) float64 moments in seconds
    levels: np.ndarray  # (C,) float64 saliency level per clip (0 outside the moments)


def read_split(data_dir: str | os.PathLike[str], split: str) -> list[QVHRecord]:
    """The QVHighlights records of ``split`` under ``data_dir``.

    Raises:
        ChronolensError: no such annotation file.
    """
    path = annotation_files(data_dir, split)["qvhighlights"]
    if not path.is_file():
        raise ChronolensError(f"no {path.name} in {path.parent} (write one with 'chronolens synth')")
    return read_qvhighlights(path)


def _levels(record: QVHRecord, n: int) -> np.ndarray:
    levels = np.zeros(n)
    for clip, scores in zip(record.relevant_clip_ids, record.saliency_scores, strict=True):
        if 0 <= clip < n:
            levels[clip] = float(sum(scores))
    for start, end in record.relevant_windows:  # a record without saliency: its moments are level 1
        first, last = int(start // CLIP_LENGTH), int(np.ceil(end / CLIP_LENGTH))
        window = levels[first : min(last, n)]
        window[window == 0] = 1.0
    return levels


def load_examples(
    data_dir: str | os.PathLike[str],
    records: Sequence[QVHRecord],
    library: Library,
    *,
    progress: bool = False,
) -> list[Example]:
    """Index the records' videos into ``library`` (incremental) and turn each record into an Example.

    Raises:
        ChronolensError: a record's video is not under ``data_dir`` or failed to index.
    """
    from chronolens.ingest import index

    files = {vid: path.resolve() for vid, path in video_files(Path(data_dir)).items()}
    missing = sorted({r.vid for r in records} - set(files))
    if missing:
        raise ChronolensError(
            f"{len(missing)} videos of the annotations are not under {data_dir}: {missing[:5]}"
        )
    index(library, sorted({str(files[r.vid]) for r in records}), progress=progress)
    queries = sorted({r.query for r in records})
    tokens = dict(zip(queries, library.encoder.encode_texts(queries).astype(np.float32), strict=True))
    clips = {vid: library_clip_features(library, files[vid]) for vid in sorted({r.vid for r in records})}
    out = []
    for r in records:
        feats = clips[r.vid].features
        out.append(
            Example(
                record=r,
                clips=feats,
                tokens=tokens[r.query][None],
                windows=np.asarray(r.relevant_windows, dtype=np.float64).reshape(-1, 2),
                levels=_levels(r, feats.shape[0]),
            )
        )
    logger.info("%d queries over %d videos", len(out), len(clips))
    return out


def crop(
    example: Example, max_clips: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A training window of at most ``max_clips`` clips holding (part of) one of the example's moments.

    Returns:
        ``(clips (w, D), moments (N', 2) in seconds from the window start, levels (w,))``; a
        video that fits is returned whole.
    """
    c = example.clips.shape[0]
    if c <= max_clips:
        return example.clips, example.windows, example.levels
    start_s, end_s = example.windows[int(rng.integers(len(example.windows)))]
    centre = int((start_s + end_s) / 2 // CLIP_LENGTH)
    lo = int(rng.integers(max(0, centre - max_clips + 1), min(centre, c - max_clips) + 1))
    offset, length = lo * CLIP_LENGTH, max_clips * CLIP_LENGTH
    moments = np.clip(example.windows - offset, 0.0, length)
    moments = moments[moments[:, 1] > moments[:, 0]]
    return example.clips[lo : lo + max_clips], moments, example.levels[lo : lo + max_clips]
