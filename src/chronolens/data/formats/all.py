"""Writing a synthetic dataset's ground truth in every benchmark format.

Files (under ``<root>/annotations/``, one set per split present)::

    qvhighlights_<split>.jsonl    charades_sta_<split>.txt    dense_captions_<split>.json
    retrieval_<split>.json        timeit_<split>.json

Every event is one query; the query text is the event's seeded paraphrase (``SynthEvent.query``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from chronolens.data.formats.charades_sta import CharadesRecord, write_charades_sta
from chronolens.data.formats.dense_captions import DenseCaptionRecord, write_dense_captions
from chronolens.data.formats.qvhighlights import QVHRecord, relevant_clip_ids, write_qvhighlights
from chronolens.data.formats.retrieval import write_retrieval_pairs
from chronolens.data.formats.timeit import (
    DVC_INSTRUCTIONS,
    HIGHLIGHT_INSTRUCTIONS,
    STEP_INSTRUCTIONS,
    TVG_INSTRUCTIONS,
    dvc_answer,
    grounding_answer,
    highlight_answer,
    instruction,
    timeit_entry,
    write_timeit,
)
from chronolens.data.split_names import SPLITS
from chronolens.data.synth.scene import SynthEvent, SynthVideo

__all__ = ["ANNOTATIONS_DIR", "annotation_files", "qvh_saliency", "write_all"]

ANNOTATIONS_DIR = "annotations"
ANNOTATORS = 3  # QVHighlights has three saliency annotators per clip
JITTER_PROBS = (0.15, 0.7, 0.15)  # probability of an annotator scoring -1 / 0 / +1 off the truth
_FORMAT_SALT = 0xF0A7


def annotation_files(root: str | os.PathLike[str], split: str) -> dict[str, Path]:
    """Paths of every format file of ``split`` under ``root``."""
    base = Path(root) / ANNOTATIONS_DIR
    return {
        "qvhighlights": base / f"qvhighlights_{split}.jsonl",
        "charades_sta": base / f"charades_sta_{split}.txt",
        "dense_captions": base / f"dense_captions_{split}.json",
        "retrieval": base / f"retrieval_{split}.json",
        "timeit": base / f"timeit_{split}.json",
    }


def qvh_saliency(
    event: SynthEvent, duration: float, clip_length: float, rng: np.random.Generator
) -> tuple[list[int], list[list[int]]]:
    """Relevant clip ids of one event and three jittered 0..4 scores per clip.

    The true score of a clip is ``1 + 3 x`` (rounded) where ``x`` is the fraction of the clip the
    event covers, so a fully covered clip scores 4 and a barely touched one 1; each annotator
    adds -1/0/+1 (seeded) and scores are clipped to 0..4.
    """
    ids = relevant_clip_ids([(event.start, event.end)], duration, clip_length)
    scores = []
    for cid in ids:
        c0, c1 = cid * clip_length, min((cid + 1) * clip_length, duration)
        cover = max(0.0, min(c1, event.end) - max(c0, event.start)) / max(c1 - c0, 1e-9)
        truth = 1 + round(3 * min(cover, 1.0))
        jitter = rng.choice(np.array([-1, 0, 1]), size=ANNOTATORS, p=JITTER_PROBS)
        scores.append([int(min(max(truth + int(j), 0), 4)) for j in jitter])
    return ids, scores


def _step_label(caption: str) -> str:
    for article in ("a ", "an "):
        if caption.startswith(article):
            return caption[len(article) :]
    return caption


def write_all(
    root: str | os.PathLike[str],
    videos: list[SynthVideo] | tuple[SynthVideo, ...],
    *,
    seed: int,
    clip_length: float,
) -> list[Path]:
    """Write every format for every split present in ``videos``; returns the files written."""
    # One function on purpose: every format is built from the same per-video draws in one order
    # (the rng below); split up, that order would be spread over helpers that must not reorder it.
    written: list[Path] = []
    qid = 0
    for split in SPLITS:
        members = [v for v in videos if v.split == split]
        if not members:
            continue
        files = annotation_files(root, split)
        qvh: list[QVHRecord] = []
        charades: list[CharadesRecord] = []
        dense: list[DenseCaptionRecord] = []
        pairs: list[tuple[str, str]] = []
        timeit: list[dict[str, object]] = []
        for n, video in enumerate(members):
            rng = np.random.default_rng([seed, _FORMAT_SALT, video.index, len(split)])
            duration = round(video.duration, 3)
            last_tenth = math.floor(video.duration * 10 + 1e-6) / 10
            segments = [(round(e.start, 1), min(round(e.end, 1), last_tenth)) for e in video.events]
            for event, (s1, e1) in zip(video.events, segments, strict=True):
                ids, scores = qvh_saliency(event, video.duration, clip_length, rng)
                qvh.append(
                    QVHRecord(
                        qid=qid,
                        query=event.query,
                        vid=video.id,
                        duration=duration,
                        relevant_windows=((round(event.start, 2), round(min(event.end, video.duration), 2)),),
                        relevant_clip_ids=tuple(ids),
                        saliency_scores=tuple(tuple(s) for s in scores),
                    )
                )
                qid += 1
                charades.append(CharadesRecord(vid=video.id, start=s1, end=e1, sentence=event.query))
                timeit.append(
                    timeit_entry(
                        video.path,
                        instruction(TVG_INSTRUCTIONS, rng, event.query),
                        grounding_answer(s1, e1),
                        "synth_tvg",
                    )
                )
                timeit.append(
                    timeit_entry(
                        video.path,
                        instruction(HIGHLIGHT_INSTRUCTIONS, rng, event.query),
                        highlight_answer(ids, scores, clip_length),
                        "synth_vhd",
                    )
                )
            captions = [e.caption for e in video.events]
            dense.append(
                DenseCaptionRecord(
                    image_id=f"{video.id}.mp4",
                    id=n,
                    duration=duration,
                    segments=tuple(segments),
                    sentences=tuple(captions),
                )
            )
            pairs.append((video.id, video.caption))
            if video.events:
                timeit.append(
                    timeit_entry(
                        video.path,
                        instruction(DVC_INSTRUCTIONS, rng),
                        dvc_answer(segments, captions),
                        "synth_dvc",
                    )
                )
                timeit.append(
                    timeit_entry(
                        video.path,
                        instruction(STEP_INSTRUCTIONS, rng),
                        dvc_answer(segments, [_step_label(c) for c in captions]),
                        "synth_step",
                    )
                )
        written.append(write_qvhighlights(files["qvhighlights"], qvh))
        written.append(write_charades_sta(files["charades_sta"], charades))
        written.append(write_dense_captions(files["dense_captions"], dense))
        written.append(write_retrieval_pairs(files["retrieval"], pairs))
        written.append(write_timeit(files["timeit"], timeit))
    return written
