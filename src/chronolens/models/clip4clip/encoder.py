"""``Clip4ClipEncoder``: a chronolens frame ``Encoder`` plus a CLIP4Clip pooling head (a ``ClipEncoder``)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import torch

from chronolens.encoders.base import Encoder
from chronolens.models.clip4clip.heads import PoolingHead

__all__ = ["DEFAULT_CLIP_FRAMES", "Clip4ClipEncoder", "head_sha256"]

DEFAULT_CLIP_FRAMES = 12  # frames per clip: CLIP4Clip's max_frames on MSR-VTT


def head_sha256(head: torch.nn.Module) -> str:
    """sha256 over a head's parameters and buffers (name, dtype, shape, bytes), in name order."""
    digest = hashlib.sha256()
    for key, value in sorted(head.state_dict().items()):
        tensor = value.detach().cpu().contiguous()
        digest.update(f"{key}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(
            tensor.numpy().tobytes() if tensor.dtype != torch.bfloat16 else tensor.float().numpy().tobytes()
        )
    return digest.hexdigest()


class Clip4ClipEncoder:
    """CLIP4Clip's two-stage video encoder: frame embeddings from ``frame_encoder``, pooled by ``head``.

    Only real frames are embedded (padding frames never reach the frame encoder); the head sees
    the padded ``(N, T, D)`` grid with its mask. Texts go to the frame encoder's text side, as in
    CLIP4Clip. Satisfies ``chronolens.encoders.clip_base.ClipEncoder``.
    """

    def __init__(
        self,
        frame_encoder: Encoder,
        head: PoolingHead,
        *,
        clip_frames: int = DEFAULT_CLIP_FRAMES,
        name: str | None = None,
    ) -> None:
        if clip_frames <= 0:
            raise ValueError(f"clip_frames must be positive, got {clip_frames}")
        config = getattr(head, "config", None)
        if config is not None and config.dim != frame_encoder.dim:
            raise ValueError(
                f"head dim {config.dim} != frame encoder dim {frame_encoder.dim} ({frame_encoder.name})"
            )
        self.frame_encoder = frame_encoder
        self.head = head.eval()
        self.clip_frames = clip_frames
        self.name = name or f"clip4clip-{head.kind}:{frame_encoder.name}"
        self.dim = frame_encoder.dim
        self.image_size = frame_encoder.image_size

    @property
    def weights_sha256(self) -> str:
        """sha256 over the frame encoder's fingerprint and the head's weights."""
        return hashlib.sha256(
            f"{self.frame_encoder.weights_sha256}:{head_sha256(self.head)}".encode()
        ).hexdigest()

    def frame_embeddings(self, frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``(N, T, D)`` float32 frame embeddings of the real frames; zeros where ``mask`` is False."""
        grid = np.zeros((*frames.shape[:2], self.dim), dtype=np.float32)
        if mask.any():
            grid[mask] = self.frame_encoder.encode_images(np.ascontiguousarray(frames[mask]))
        return grid

    def encode_clips(
        self, frames: np.ndarray, times: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Embed clips.

        Args:
            frames: ``(N, T, H, W, 3)`` uint8 RGB.
            times: ``(N, T)`` seconds (the heads use frame order, not times).
            mask: ``(N, T)`` bool, False for padding; None: all frames real.

        Returns:
            ``(N, D)`` float32, L2-normalised.
        """
        if frames.ndim != 5 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if times.shape != frames.shape[:2]:
            raise ValueError(f"times must be (N, T) = {frames.shape[:2]}, got {times.shape}")
        mask = np.ones(frames.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if mask.shape != frames.shape[:2]:
            raise ValueError(f"mask must be (N, T) = {frames.shape[:2]}, got {mask.shape}")
        if len(frames) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        grid = self.frame_embeddings(frames, mask)
        device = next(iter(self.head.parameters()), torch.zeros(())).device
        with torch.inference_mode():
            pooled = self.head(torch.from_numpy(grid).to(device), torch.from_numpy(mask).to(device))
            return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts with the frame encoder's text tower: ``(M, D)`` float32 unit rows."""
        return self.frame_encoder.encode_texts(texts)

    def __repr__(self) -> str:
        return f"Clip4ClipEncoder(name={self.name!r}, dim={self.dim}, clip_frames={self.clip_frames})"
