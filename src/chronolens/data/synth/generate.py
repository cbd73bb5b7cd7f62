"""Rendering a synthetic dataset to disk: videos, ``synth.json`` and the benchmark formats."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from chronolens.data.synth.config import SynthConfig
from chronolens.data.synth.events import plan_video
from chronolens.data.synth.manifest import load_synth, save_manifest
from chronolens.data.synth.render import render_frames
from chronolens.data.synth.scene import SynthDataset, SynthVideo
from chronolens.data.synth.splits import assign_splits
from chronolens.progress import progress_bar

__all__ = ["generate", "plan_dataset", "render_video"]

logger = logging.getLogger(__name__)


def plan_dataset(config: SynthConfig) -> list[SynthVideo]:
    """The ground truth of every video of a run, without rendering anything."""
    splits = assign_splits(config.videos, config.split, config.split_fractions, config.seed)
    return [plan_video(config, split, i) for i, split in enumerate(splits)]


def render_video(
    video: SynthVideo, root: str | os.PathLike[str], *, crf: int = 20, preset: str = "veryfast"
) -> Path:
    """Encode one planned video to ``root / video.path`` (H.264, atomic)."""
    from chronolens.video.writer import write_video

    return write_video(
        Path(root) / video.path,
        render_frames(video),
        fps=video.fps,
        codec="libx264",
        crf=crf,
        # The bytes (and so the decoded frames) must be a function of the seed alone. x264's
        # macroblock-tree rate control gave different bitstreams for the same pictures from one
        # encode to the next in the same process (seen once torch was imported, 2026-11 on
        # libx264 in PyAV 18.1 wheels); with mbtree off and one thread, 60 repeated encodes of
        # each test video were byte-identical.
        options={"preset": preset, "threads": "1", "x264-params": "mbtree=0"},
    )


def _render_job(args: tuple[SynthVideo, str, int, str]) -> str:
    video, root, crf, preset = args
    return str(render_video(video, root, crf=crf, preset=preset))


def generate(
    out: str | os.PathLike[str], config: SynthConfig, *, workers: int = 1, progress: bool = True
) -> SynthDataset:
    """Render ``config.videos`` videos under ``out`` and write all ground truth.

    Writes ``out/videos/<id>.mp4``, ``out/synth.json`` and, when ``config.formats``, the
    QVHighlights, Charades-STA, dense-caption, retrieval and TimeIT files (see
    ``chronolens.data.formats.write_all``) and the QA items (``data.synth.qa``). Deterministic:
    the same config gives the same manifest and the same frames.

    Args:
        out: output directory (created).
        config: what to render.
        workers: processes rendering in parallel (1: in this process).
        progress: show a progress bar on stderr (drawn only when stderr is a terminal).

    Returns:
        The dataset as ``load_synth(out)`` reads it back.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    videos = plan_dataset(config)
    total_frames = sum(v.n_frames for v in videos)
    logger.info("rendering %d videos (%d frames) to %s", len(videos), total_frames, root)
    t0 = time.perf_counter()
    jobs = [(v, str(root), config.crf, config.preset) for v in videos]
    bar = progress_bar(total=len(videos), desc="synth", unit="video", enabled=progress)
    try:
        if workers > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(_render_job, jobs):
                    bar.update(1)
        else:
            for job in jobs:
                _render_job(job)
                bar.update(1)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    logger.info(
        "rendered %d frames in %.1f s (%.0f frames/s)",
        total_frames,
        elapsed,
        total_frames / max(elapsed, 1e-9),
    )
    settings = asdict(config)
    save_manifest(root, videos, seed=config.seed, clip_length=config.clip_length, config=settings)
    if config.formats:
        from chronolens.data.formats.all import write_all
        from chronolens.data.synth.qa import write_synth_qa

        write_all(root, videos, seed=config.seed, clip_length=config.clip_length)
        write_synth_qa(root, videos, seed=config.seed)
    return load_synth(root)
