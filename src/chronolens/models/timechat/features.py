"""The frozen image tower of TimeChat: patch features of sampled frames.

TimeChat reads every frame with a frozen ViT (EVA ViT-g/14 in the paper) and hands all patch
tokens to the frame Q-Former. Here the tower is the vision model of any encoder in chronolens'
registry (``builtin:synth-clip`` ships inside the package; ``hf:<dir>`` loads a CLIP / SigLIP
checkpoint), and the features are its last hidden state, ``(T, P, Dv)``.

:class:`VideoFeatures` is one video as the model sees it (those features, the frames' real
times, the duration); :func:`encode_video` makes one. The answer task (``tasks.answer``) and the
training recipe (its on-disk feature cache) both use them. With NumPro
(``TimeChatConfig.time_encoding_numpro``) ``encode_video`` draws each frame's number onto its
pixels before the tower (``chronolens.models.timechat.numpro``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from chronolens.errors import ModelNotFoundError

if TYPE_CHECKING:
    from chronolens.models.timechat.numpro import NumPro

__all__ = ["FrameFeatures", "VideoFeatures", "encode_video", "sample_video"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoFeatures:
    """One video as TimeChat sees it: its uniformly sampled frames' patch features and real times."""

    features: np.ndarray  # (T, P, Dv) float32 patch features of the frozen image tower
    timestamps: np.ndarray  # (T,) float64 seconds, from the decoder's PTS
    duration: float  # seconds
    path: str | None = None  # the video file, where known (crops made in training have none)


class FrameFeatures:
    """Frames -> patch features with the frozen vision tower of a registry encoder.

    Attributes:
        name: the encoder registry name.
        weights_sha256: sha256 of the encoder's weight files.
        dim: Dv, the width of the patch features.
        tokens: P, patch tokens per frame (a class token included where the tower has one).
    """

    def __init__(self, image_encoder: str, *, device: str | None = None, batch_size: int = 32) -> None:
        """Load the encoder and find its vision tower.

        Args:
            image_encoder: registry name, e.g. ``builtin:synth-clip`` or ``hf:/path/to/clip``.
            device: torch device; None picks CUDA when available.
            batch_size: frames per forward pass.

        Raises:
            ModelNotFoundError: unknown name, or the encoder exposes no transformers vision tower.
        """
        from chronolens.encoders.registry import load_encoder

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        encoder: Any = load_encoder(image_encoder, device=device, precision="fp32", batch_size=batch_size)
        model = getattr(encoder, "model", None)
        tower = getattr(model, "vision_model", None)
        if tower is None or not hasattr(encoder, "pixel_values"):
            raise ModelNotFoundError(
                f"{image_encoder}: TimeChat needs a transformers image tower (hf: or builtin: encoders); "
                f"{type(encoder).__name__} has none"
            )
        self.name = image_encoder
        self.batch_size = batch_size
        self.weights_sha256: str = encoder.weights_sha256  # identifies the weights, not just the name
        self._encoder = encoder
        self._tower = tower.eval()
        for param in self._tower.parameters():
            param.requires_grad_(False)
        self.device = next(self._tower.parameters()).device
        self.tokens = self.dim = 0
        probe = self(np.zeros((1, 8, 8, 3), dtype=np.uint8))
        self.tokens = int(probe.shape[1])
        self.dim = int(probe.shape[2])
        logger.info("TimeChat image tower %s: %d patch tokens x %d", image_encoder, self.tokens, self.dim)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """Patch features of RGB frames.

        Args:
            frames: ``(T, H, W, 3)`` uint8.

        Returns:
            ``(T, P, Dv)`` float32: the tower's last hidden state.
        """
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                pixels = self._encoder.pixel_values(frames[start : start + self.batch_size]).to(self.device)
                hidden = self._tower(pixel_values=pixels).last_hidden_state  # (b, P, Dv)
                chunks.append(hidden.float().cpu().numpy())
        if not chunks:
            raise ValueError("no frames to encode")
        return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)

    @property
    def embedding_dim(self) -> int:
        """Width of the encoder's image-text space (``image_embeddings``, ``text_embeddings``).

        Raises:
            ModelNotFoundError: the encoder has no CLIP-style visual projection.
        """
        projection = getattr(self._encoder.model, "visual_projection", None)
        if projection is None:
            raise ModelNotFoundError(f"{self.name}: no image-text space (no visual_projection)")
        return int(projection.out_features)

    def image_embeddings(self, features: torch.Tensor) -> torch.Tensor:
        """The encoder's own image-text embeddings of frames, from their patch features.

        The class token of the last hidden state goes through the tower's final layer norm and the
        model's visual projection, as ``CLIPModel.get_image_features`` does, so cached features
        need no second pass through the tower.

        Args:
            features: ``(..., P, Dv)`` patch features from ``__call__``.

        Returns:
            ``(..., D)`` float32 rows of unit norm, on ``features``' device.

        Raises:
            ModelNotFoundError: the encoder has no CLIP-style head (class token + visual projection).
        """
        model = self._encoder.model
        norm = getattr(self._tower, "post_layernorm", None)
        projection = getattr(model, "visual_projection", None)
        if norm is None or projection is None:
            raise ModelNotFoundError(
                f"{self.name}: image embeddings from patch features need a CLIP-style head "
                "(vision_model.post_layernorm + visual_projection)"
            )
        with torch.no_grad():
            cls = features[..., 0, :].to(device=self.device, dtype=torch.float32)
            embedded = projection(norm(cls))
        return torch.nn.functional.normalize(embedded.float(), dim=-1).to(features.device)

    def text_embeddings(self, texts: list[str]) -> torch.Tensor:
        """``(M, D)`` unit-norm text embeddings from the encoder's text tower."""
        return torch.from_numpy(self._encoder.encode_texts(texts))

    def knows_word(self, word: str) -> bool:
        """Whether the encoder's tokenizer reads ``word`` without an unknown-token id."""
        tokenizer = self._encoder.tokenizer
        unk = getattr(tokenizer, "unk_token_id", None)
        ids = tokenizer(word, add_special_tokens=False)["input_ids"]
        return bool(ids) and unk not in ids

    def __repr__(self) -> str:
        return f"FrameFeatures(name={self.name!r}, tokens={self.tokens}, dim={self.dim})"


def sample_video(path: str | os.PathLike[str], n_frames: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``n_frames`` frames spread uniformly over a video, with their decoder timestamps.

    Args:
        path: a video file.
        n_frames: frames to sample (fewer come back when the video has fewer).

    Returns:
        ``(frames (T, H, W, 3) uint8, timestamps (T,) float64 seconds from PTS, duration seconds)``.

    Raises:
        DecodeError: the file cannot be decoded.
    """
    from chronolens.video import UniformN, probe, read_frames

    frames = read_frames(path, sampling=UniformN(n=n_frames))
    duration = float(probe(path).duration)
    if len(frames) and frames.timestamps[-1] > duration:
        duration = float(frames.timestamps[-1])  # a header that under-reports the duration
    return frames.images, frames.timestamps.astype(np.float64), duration


def encode_video(
    path: str | os.PathLike[str], n_frames: int, tower: FrameFeatures, *, numpro: NumPro | None = None
) -> VideoFeatures:
    """Sample ``n_frames`` frames of a video uniformly and run them through the image tower.

    Args:
        path: a video file (recorded as given in the result's ``path``).
        n_frames: frames to sample (fewer when the video has fewer).
        tower: the frozen image tower.
        numpro: NumPro labels to draw on the frames first (``TimeChatConfig.numpro_settings()``);
            None draws nothing.

    Returns:
        Float32 ``(T, P, Dv)`` features, float64 timestamps and the duration.

    Raises:
        DecodeError: the file cannot be decoded.
    """
    frames, timestamps, duration = sample_video(path, n_frames)
    if numpro is not None:
        frames = numpro.draw(frames, timestamps)
    return VideoFeatures(
        features=np.asarray(tower(frames), dtype=np.float32),
        timestamps=np.asarray(timestamps, dtype=np.float64),
        duration=float(duration),
        path=str(path),
    )
