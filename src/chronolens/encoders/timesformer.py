"""TimeSformer video backbones through transformers (``timesformer:<dir or hub id>``).

TimeSformer (Bertasius et al. 2021) is a ViT whose blocks attend over time (the same patch in
every frame) and then over space (every patch of the frame): divided space-time attention, or
joint attention over all patches (``attention_type`` in the config). This module feeds
transformers' ``TimesformerModel``; a clip's embedding is its final-layernormed CLS token, the
feature ``TimesformerForVideoClassification`` classifies (for a Kinetics checkpoint such as
``facebook/timesformer-base-finetuned-k400``, whose classifier weights are simply not loaded).

It is video only: there is no text tower, so ``encode_texts`` raises. Use it to embed clips for
classification probes, shot / keyframe work or training a text head against it, not as a search
library's model. Frames per clip are fixed by ``config.num_frames`` (each block reshapes by it);
there is no frame mask, so padding frames count as frames.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chronolens.encoders.fingerprint import weight_files, weights_sha256
from chronolens.encoders.hf import _default_device, _float32_kwarg, _int_size, _normalise, resolve_model_dir
from chronolens.encoders.precision import autocast_context, resolve_precision
from chronolens.encoders.preprocess import ImagePreprocessConfig, load_preprocess_config, preprocess_images
from chronolens.encoders.xclip import videomae_preprocess
from chronolens.errors import ChronolensError, ModelNotFoundError

__all__ = ["TIMESFORMER_MODEL_TYPE", "TimesformerEncoder", "load_timesformer_encoder"]

logger = logging.getLogger(__name__)

TIMESFORMER_MODEL_TYPE = "timesformer"  # config.json model_type of TimeSformer checkpoints


class TimesformerEncoder:
    """A transformers ``TimesformerModel`` behind the video side of ``ClipEncoder`` (no text side).

    ``encode_images`` embeds each frame as a still clip, like ``XClipEncoder``'s.
    """

    def __init__(
        self,
        *,
        name: str,
        directory: Path,
        model: Any,
        preprocess: ImagePreprocessConfig,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        clip_frames: int,
        dim: int,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.name = name
        self.directory = directory
        self.dim = dim
        self.image_size = preprocess.output_size[0]
        self.clip_frames = clip_frames
        self.preprocess = preprocess
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size  # frames per forward pass
        self._model = model

    @functools.cached_property
    def weights_sha256(self) -> str:
        """sha256 over the weight files, computed once."""
        return weights_sha256(self.directory)

    @property
    def model(self) -> Any:
        """The underlying ``TimesformerModel`` (eval mode)."""
        return self._model

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """``(N, T, H, W, 3)`` uint8 -> ``(N, T, 3, S, S)`` float32 on the CPU."""
        if frames.ndim != 5 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if frames.shape[1] != self.clip_frames:
            raise ValueError(f"{self.name} takes clips of {self.clip_frames} frames, got {frames.shape[1]}")
        n, t = frames.shape[:2]
        flat = preprocess_images(frames.reshape(n * t, *frames.shape[2:]), self.preprocess)
        return flat.view(n, t, *flat.shape[1:])

    def encode_clips(
        self, frames: np.ndarray, times: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Embed clips: the CLS token of ``TimesformerModel``, ``(N, D)`` float32 unit rows.

        ``times`` and ``mask`` are not model inputs (frame order is the order given).
        """
        del times, mask
        out = np.empty((len(frames), self.dim), dtype=np.float32)
        step = max(1, self.batch_size // self.clip_frames)
        with torch.inference_mode():
            for start in range(0, len(frames), step):
                batch = self.pixel_values(frames[start : start + step]).to(self.device)
                with autocast_context(self.device, self.dtype):
                    cls = self._model(pixel_values=batch).last_hidden_state[:, 0]
                out[start : start + len(batch)] = _normalise(cls)
        return out

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed each frame as a still clip: ``(N, H, W, 3)`` uint8 -> ``(N, D)`` unit rows."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        stills = np.broadcast_to(frames[:, None], (len(frames), self.clip_frames, *frames.shape[1:]))
        return self.encode_clips(stills, np.zeros(stills.shape[:2]))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Not supported: TimeSformer has no text tower."""
        raise ChronolensError(
            f"{self.name} is a video backbone without a text tower; search needs a video-text model "
            f"such as xclip:<dir> or hf:<CLIP dir>"
        )

    def __repr__(self) -> str:
        return f"TimesformerEncoder(name={self.name!r}, dim={self.dim}, clip_frames={self.clip_frames})"


def load_timesformer_encoder(
    ref: str,
    *,
    name: str | None = None,
    device: str | None = None,
    precision: str = "auto",
    batch_size: int = 32,
) -> TimesformerEncoder:
    """Load a TimeSformer checkpoint (backbone or video classifier) as a clip embedder.

    Raises:
        ModelNotFoundError: nothing loadable at ``ref``, or not a TimeSformer checkpoint.
    """
    import transformers

    directory = resolve_model_dir(ref)
    label = name or f"timesformer:{ref}"
    torch_device = _default_device(device)
    dtype = resolve_precision(precision, torch_device)
    try:
        config = transformers.AutoConfig.from_pretrained(directory)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{label}: no readable config.json in {directory} ({exc})") from exc
    if config.model_type != TIMESFORMER_MODEL_TYPE:
        raise ModelNotFoundError(
            f"{label}: model_type {config.model_type!r} is not {TIMESFORMER_MODEL_TYPE!r}"
        )
    if not weight_files(directory):
        raise ModelNotFoundError(f"{label}: no *.safetensors or *.bin weights in {directory}")
    transformers.utils.logging.disable_progress_bar()
    model_class: Any = transformers.TimesformerModel  # Any: the dtype keyword is spelt per version
    model = model_class.from_pretrained(directory, **_float32_kwarg(transformers.__version__))
    model.eval().to(torch_device)
    image_size = _int_size(config.image_size)
    encoder = TimesformerEncoder(
        name=label,
        directory=directory,
        model=model,
        preprocess=load_preprocess_config(directory, videomae_preprocess(image_size)),
        device=torch_device,
        dtype=dtype,
        batch_size=batch_size,
        clip_frames=int(config.num_frames),
        dim=int(config.hidden_size),
    )
    logger.info(
        "loaded %s (timesformer %s, D=%d, T=%d)",
        label,
        config.attention_type,
        encoder.dim,
        encoder.clip_frames,
    )
    return encoder
