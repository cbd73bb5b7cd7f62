"""Benchmarks on real datasets in their native formats: QVHighlights and Charades-STA.

``chronolens bench qvhighlights --videos DIR --annotations FILE.jsonl --model NAME`` and
``chronolens bench charades-sta --videos DIR --annotations charades_sta_test.txt --model NAME``:
index the videos into a library (incremental, so a rerun only embeds new videos), ground every
query with the training-free grounder (``chronolens.tasks.ground.tfvtg``), write the prediction file
(JSON lines, atomically) and score it: QVHighlights with ``evaluate_qvhighlights`` (moment_detr
parity), Charades-STA with R1@{0.3, 0.5, 0.7} and mIoU of the top window
(``metrics.grounding.evaluate_top_windows``).
A video is found in ``--videos`` by its file name without extension (``vid``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from chronolens.encoders.registry import encoder_slug
from chronolens.errors import ChronolensError
from chronolens.evaluation.videos import require_videos, video_files
from chronolens.ingest import index
from chronolens.metrics.grounding import GROUNDING_IOU_THRESHOLDS, evaluate_top_windows
from chronolens.tasks.ground.tfvtg import DEFAULT_TOP_K, GroundingConfig, ground_query
from chronolens.tasks.results import GroundingResult

__all__ = [
    "CHARADES_IOUS",
    "run_charades_bench",
    "run_qvhighlights_bench",
]

logger = logging.getLogger(__name__)

CHARADES_IOUS = GROUNDING_IOU_THRESHOLDS  # the IoU thresholds Charades-STA papers report R1 at


def _video_files(videos_dir: Path) -> dict[str, Path]:
    """``video_files`` with resolved paths, the form the library's records use."""
    return {vid: path.resolve() for vid, path in video_files(videos_dir).items()}


class _Grounder:
    """One library + encoder, grounding queries (plain or composite) in its videos."""

    def __init__(self, lib: Any, config: GroundingConfig, composite: bool) -> None:
        self.lib = lib
        self.config = config
        self.composite = composite

    def __call__(self, video: Path, query: str, duration: float, top_k: int) -> GroundingResult:
        from chronolens.tasks.ground.decompose import decompose

        emb, ts = self.lib.frame_embeddings(str(video))  # (T, D), (T,)
        parts = decompose(query) if self.composite else None
        if parts is not None and parts.relation != "single":
            text = self.lib.encoder.encode_texts(parts.parts)  # (P, D)
            return ground_query(
                emb, ts, duration, text, relation=parts.relation, config=self.config, top_k=top_k
            )
        text = self.lib.encoder.encode_texts([query])[0]  # (D,)
        return ground_query(emb, ts, duration, text, config=self.config, top_k=top_k)


def _open_library(
    videos_dir: Path, model: str, library_dir: str | os.PathLike[str] | None, fps: float
) -> Any:
    from chronolens.library import Library
    from chronolens.video.sampling import FixedFps

    root = Path(library_dir) if library_dir else videos_dir / ".chronolens-bench" / encoder_slug(model)
    return Library.open(root, model=model, sampling=FixedFps(fps=fps))


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    from chronolens.atomic import write_jsonl_atomic

    write_jsonl_atomic(path, records)
    logger.info("wrote %d predictions to %s", len(records), path)


def run_qvhighlights_bench(
    videos_dir: str | os.PathLike[str],
    annotations: str | os.PathLike[str],
    *,
    model: str,
    library_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    config: GroundingConfig | None = None,
    fps: float = 1.0,
    top_k: int = DEFAULT_TOP_K,
    composite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Index, ground every QVHighlights query, write the predictions and evaluate them.

    Args:
        videos_dir: directory holding ``<vid>.<ext>`` videos.
        annotations: QVHighlights jsonl (with ``relevant_windows`` and saliency for scoring).
        model: encoder registry name.
        library_dir: library used (default ``VIDEOS/.chronolens-bench/<model>``).
        out: prediction jsonl (default ``<annotations stem>_preds.jsonl`` beside the annotations).
        config: grounding settings.
        fps: indexing sample rate.
        top_k: windows per query (QVHighlights evaluates 10).
        composite: split composite queries (``tasks.decompose``) before grounding.
        progress: show the indexing progress bar.

    Returns:
        The evaluator's metrics dict (``brief``, ``MR-full-mAP``, ...; values x100).
    """
    from chronolens.data.formats.qvhighlights import read_qvhighlights
    from chronolens.metrics.qvhighlights import evaluate_qvhighlights

    videos = Path(videos_dir)
    records = read_qvhighlights(annotations)
    files = _video_files(videos)
    require_videos(files, (r.vid for r in records), Path(annotations), videos)
    cfg = config or GroundingConfig()
    predictions = []
    with _open_library(videos, model, library_dir, fps) as lib:
        index(lib, sorted({str(files[r.vid]) for r in records}), progress=progress)
        grounder = _Grounder(lib, cfg, composite)
        for r in records:
            result = grounder(files[r.vid], r.query, r.duration, top_k)
            predictions.append(result.to_qvhighlights(r.qid, r.query, r.vid))
    ann = Path(annotations)
    _write_jsonl(Path(out) if out else ann.with_name(f"{ann.stem}_preds.jsonl"), predictions)
    return evaluate_qvhighlights(predictions, [r.to_json() for r in records])


def run_charades_bench(
    videos_dir: str | os.PathLike[str],
    annotations: str | os.PathLike[str],
    *,
    model: str,
    library_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    config: GroundingConfig | None = None,
    fps: float = 1.0,
    top_k: int = 5,
    composite: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Index, ground every Charades-STA sentence, write the predictions and score the top window.

    Args: as :func:`run_qvhighlights_bench`; ``annotations`` is the ``vid start end##sentence`` txt.

    Returns:
        ``{"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}`` (x100, top-1 window, IoU over the union) and
        ``"n_queries"``.
    """
    from chronolens.data.formats.charades_sta import read_charades_sta

    videos = Path(videos_dir)
    records = read_charades_sta(annotations)
    if not records:
        raise ChronolensError(f"{annotations}: no queries")
    files = _video_files(videos)
    require_videos(files, (r.vid for r in records), Path(annotations), videos)
    cfg = config or GroundingConfig()
    predictions: list[dict[str, Any]] = []
    with _open_library(videos, model, library_dir, fps) as lib:
        index(lib, sorted({str(files[r.vid]) for r in records}), progress=progress)
        durations = {Path(v.path).resolve(): v.duration for v in lib.videos()}
        grounder = _Grounder(lib, cfg, composite)
        for n, r in enumerate(records):
            result = grounder(files[r.vid], r.sentence, float(durations[files[r.vid]]), top_k)
            predictions.append(
                {
                    "qid": n,
                    "vid": r.vid,
                    "query": r.sentence,
                    "gt": [r.start, r.end],
                    "pred_relevant_windows": [m.as_list() for m in result.windows],
                }
            )
    ann = Path(annotations)
    _write_jsonl(Path(out) if out else ann.with_name(f"{ann.stem}_preds.jsonl"), predictions)
    metrics: dict[str, Any] = evaluate_top_windows(
        [p["pred_relevant_windows"] for p in predictions],
        [[p["gt"]] for p in predictions],
        iou_thresholds=CHARADES_IOUS,
    )
    metrics["n_queries"] = len(predictions)
    return metrics
