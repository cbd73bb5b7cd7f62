"""The ``embedding`` shot detector: cosine jumps between consecutive stored frame embeddings.

Reads the frame embeddings a library already holds (no decoding): the jump between samples
``i - 1`` and ``i`` is ``1 - cos(e_{i-1}, e_i)`` (embeddings are L2-normalised), and
:class:`~chronolens.tasks.shots.base.CutRule` turns jumps into cuts. A cut is reported at the
first sample of the new shot; with 1 fps sampling the true cut lies up to one sampling step
before it, so its cuts are late by up to that step (see ``chronolens bench shots``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from chronolens.errors import ChronolensError
from chronolens.tasks.shots.base import CutRule, ShotResult, pick_cuts, register_detector, shots_from_cuts

__all__ = ["EmbeddingConfig", "EmbeddingDetector", "embedding_jumps"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EmbeddingConfig:
    """Settings of the embedding detector.

    Defaults were chosen on the seed-1 synthetic bench sets (``chronolens bench shots --seed 1``,
    ``builtin:synth-clip`` at 1 fps; the reported figures use seed 0): a plain threshold beat every
    neighbour-ratio setting there, since at 1 fps neighbouring samples are seconds apart.
    """

    # jumps: 1 - cosine similarity; ratio 0: no neighbour test; a shot may be a single sample
    rule: CutRule = field(default_factory=lambda: CutRule(threshold=0.5, ratio=0.0, min_shot_s=0.0))


def embedding_jumps(embeddings: np.ndarray) -> np.ndarray:
    """``(T - 1,)`` ``1 - cos`` between consecutive rows of ``(T, D)`` L2-normalised embeddings."""
    e = np.asarray(embeddings, dtype=np.float32)
    return (1.0 - np.einsum("td,td->t", e[:-1], e[1:])).astype(np.float64)


class EmbeddingDetector:
    """Cuts where consecutive frame embeddings stop resembling each other."""

    name = "embedding"

    def __init__(self, config: EmbeddingConfig | None = None) -> None:
        self.config = config or EmbeddingConfig()

    def __call__(
        self,
        path: str,
        *,
        embeddings: np.ndarray | None = None,
        timestamps: np.ndarray | None = None,
        duration: float | None = None,
        progress: bool = False,
    ) -> ShotResult:
        """Cut the stored samples of ``path`` (``embeddings (T, D)``, ``timestamps (T,)`` required)."""
        if embeddings is None or timestamps is None:
            raise ChronolensError(
                f"the embedding shot detector needs frame embeddings of {path}: index it first "
                "(`chronolens index VIDEO`) or choose --detector histogram"
            )
        began = time.perf_counter()
        ts = np.asarray(timestamps, dtype=np.float64)
        end = max(float(duration) if duration is not None else 0.0, float(ts[-1]) if ts.size else 0.0)
        cuts, scores = pick_cuts(embedding_jumps(embeddings), ts, end, self.config.rule)
        return ShotResult(
            video=str(path),
            detector=self.name,
            duration=end,
            shots=shots_from_cuts(cuts.tolist(), end),
            cut_scores=tuple(float(s) for s in scores),
            n_frames=int(ts.size),
            seconds=time.perf_counter() - began,
        )

    def rows(
        self, path: str, embeddings: np.ndarray, timestamps: np.ndarray, duration: float
    ) -> list[tuple[float, float, float]]:
        """``(start, end, score)`` per shot, for the library's shots table."""
        return self(path, embeddings=embeddings, timestamps=timestamps, duration=duration).rows()


@register_detector("embedding")
def _build(config: EmbeddingConfig | None = None) -> EmbeddingDetector:
    return EmbeddingDetector(config)
