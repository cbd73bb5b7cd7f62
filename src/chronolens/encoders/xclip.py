"""X-CLIP video-text encoders through transformers (``xclip:<dir or hub id>``, and ``hf:`` X-CLIP dirs).

X-CLIP (Ni et al. 2022) adds to CLIP a cross-frame communication transformer inside the image
tower, a multi-frame integration transformer (MIT) pooling the frames, and a video-specific
prompt generator that conditions text embeddings on the video's patch features. All three are
transformers' ``XCLIPModel``; this module only feeds it:

- ``encode_clips`` is ``XCLIPModel.get_video_features`` (MIT-pooled, projected), normalised;
- ``encode_texts`` is ``get_text_features``: the plain, video-independent text embedding that an
  index can store and search;
- ``prompted_scores`` is the score ``XCLIPModel.forward`` computes (``logits_per_video`` over the
  logit scale): each text is refined by the prompt generator against each clip, so it needs both
  and is for re-ranking a short list, not for an index.

Frames are preprocessed in torch (``chronolens.encoders.preprocess``) with the checkpoint's
``preprocessor_config.json`` (XCLIPProcessor's image processor, VideoMAE's, needs torchvision).
The frame count per clip is fixed by the checkpoint (``vision_config.num_frames``: the MIT's
position table and the cross-frame attention are sized for it). X-CLIP has no frame mask:
padding frames (repeats of the last frame, see ``clip_base.clip_windows``) are seen as frames.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chronolens.encoders.fingerprint import weight_files, weights_sha256
from chronolens.encoders.hf import (
    _default_device,
    _features,
    _float32_kwarg,
    _int_size,
    _normalise,
    resolve_model_dir,
)
from chronolens.encoders.precision import autocast_context, resolve_precision
from chronolens.encoders.preprocess import (
    STANDARD_MEAN,
    STANDARD_STD,
    ImagePreprocessConfig,
    load_preprocess_config,
    preprocess_images,
)
from chronolens.errors import ModelNotFoundError

__all__ = [
    "XCLIP_MODEL_TYPE",
    "XClipEncoder",
    "is_xclip",
    "load_xclip_encoder",
    "local_model_type",
    "videomae_preprocess",
]

logger = logging.getLogger(__name__)

XCLIP_MODEL_TYPE = "xclip"  # config.json model_type of X-CLIP checkpoints


def videomae_preprocess(image_size: int) -> ImagePreprocessConfig:
    """VideoMAEImageProcessor's defaults (XCLIPProcessor's image side) at ``image_size``."""
    return ImagePreprocessConfig(
        shortest_edge=image_size,
        crop_size=(image_size, image_size),
        interpolation="bilinear",
        mean=STANDARD_MEAN,
        std=STANDARD_STD,
    )


def _config_model_type(path: Path) -> str | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return raw.get("model_type") if isinstance(raw, dict) else None


def local_model_type(ref: str) -> str | None:
    """``model_type`` of the config at ``ref`` (a local dir, or a hub id already in the cache), else None.

    Never touches the network: an uncached hub id answers None.
    """
    path = Path(ref).expanduser()
    if path.is_dir():
        return _config_model_type(path / "config.json")
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref, "config.json")
    except Exception:  # not a valid repo id, no hub library: nothing we can see
        return None
    return _config_model_type(Path(cached)) if isinstance(cached, str) else None


def is_xclip(ref: str) -> bool:
    """Whether ``ref`` holds an X-CLIP checkpoint we can see without the network (``local_model_type``)."""
    return local_model_type(ref) == XCLIP_MODEL_TYPE


class XClipEncoder:
    """A transformers ``XCLIPModel`` behind the ``ClipEncoder`` protocol (and the frame ``Encoder``'s).

    Build it with ``load_xclip_encoder``. ``encode_images`` embeds each frame as a still clip (the
    frame repeated ``clip_frames`` times), so frame-level code paths work with it unchanged.
    """

    def __init__(
        self,
        *,
        name: str,
        directory: Path,
        model: Any,
        tokenizer: Any,
        preprocess: ImagePreprocessConfig,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        max_text_tokens: int,
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
        self.batch_size = batch_size  # frames per forward pass (clips per pass: batch_size // T)
        self.max_text_tokens = max_text_tokens
        self._model = model
        self._tokenizer = tokenizer

    @functools.cached_property
    def weights_sha256(self) -> str:
        """sha256 over the weight files, computed once."""
        return weights_sha256(self.directory)

    @property
    def model(self) -> Any:
        """The underlying ``XCLIPModel`` (eval mode)."""
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The text tokenizer."""
        return self._tokenizer

    @property
    def _clips_per_pass(self) -> int:
        return max(1, self.batch_size // self.clip_frames)

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """``(N, T, H, W, 3)`` uint8 -> ``(N, T, 3, S, S)`` float32 on the CPU, as ``encode_clips`` feeds."""
        self._check_clips(frames)
        n, t = frames.shape[:2]
        flat = preprocess_images(frames.reshape(n * t, *frames.shape[2:]), self.preprocess)
        return flat.view(n, t, *flat.shape[1:])

    def _check_clips(self, frames: np.ndarray) -> None:
        if frames.ndim != 5 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        if frames.shape[1] != self.clip_frames:
            raise ValueError(
                f"{self.name} takes clips of {self.clip_frames} frames (vision_config.num_frames), "
                f"got {frames.shape[1]}"
            )

    def encode_clips(
        self, frames: np.ndarray, times: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray:
        """Embed clips (``get_video_features``).

        Args:
            frames: ``(N, T, H, W, 3)`` uint8 RGB, ``T == clip_frames``.
            times: ``(N, T)`` seconds; X-CLIP has no time input (order is the frames' order).
            mask: ``(N, T)`` padding mask; X-CLIP has none, so padding frames count as frames.

        Returns:
            ``(N, D)`` float32, L2-normalised.
        """
        self._check_clips(frames)
        del times, mask  # see the docstring: the model takes neither
        out = np.empty((len(frames), self.dim), dtype=np.float32)
        step = self._clips_per_pass
        with torch.inference_mode():
            for start in range(0, len(frames), step):
                batch = self.pixel_values(frames[start : start + step]).to(self.device)
                with autocast_context(self.device, self.dtype):
                    features = _features(self._model.get_video_features(pixel_values=batch))
                out[start : start + len(batch)] = _normalise(features)
        return out

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed each frame as a still clip: ``(N, H, W, 3)`` uint8 -> ``(N, D)`` unit rows."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        stills = np.broadcast_to(frames[:, None], (len(frames), self.clip_frames, *frames.shape[1:]))
        return self.encode_clips(stills, np.zeros(stills.shape[:2]))

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise as CLIP does: pad to the longest, truncate to the position limit."""
        encoded = self._tokenizer(
            list(texts),
            padding="longest",
            truncation=True,
            max_length=self.max_text_tokens,
            return_tensors="pt",
        )
        return {key: encoded[key] for key in ("input_ids", "attention_mask") if key in encoded}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts without a video (``get_text_features``): ``(M, D)`` float32 unit rows."""
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a sequence of strings, not one string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                inputs = {k: v.to(self.device) for k, v in self.tokenize(chunk).items()}
                with autocast_context(self.device, self.dtype):
                    features = _features(self._model.get_text_features(**inputs))
                out[start : start + len(chunk)] = _normalise(features)
        return out

    def prompted_scores(self, frames: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Cosine scores with video-conditioned text, as ``XCLIPModel.forward`` computes them.

        Each text embedding gets the prompt generator's refinement against each clip's mean patch
        features (``logits_per_video / logit_scale``). Cost grows with clips x texts.

        Args:
            frames: ``(N, T, H, W, 3)`` uint8 clips.
            texts: M strings.

        Returns:
            ``(N, M)`` float32 cosine similarities in [-1, 1].
        """
        self._check_clips(frames)
        if isinstance(texts, str):
            raise TypeError("prompted_scores takes a sequence of strings, not one string")
        model = self._model
        out = np.empty((len(frames), len(texts)), dtype=np.float32)
        inputs = {k: v.to(self.device) for k, v in self.tokenize(texts).items()}
        step = self._clips_per_pass
        with torch.inference_mode(), autocast_context(self.device, self.dtype):
            text = model.text_projection(model.text_model(**inputs).pooler_output)  # (M, D)
            for start in range(0, len(frames), step):
                pixels = self.pixel_values(frames[start : start + step]).to(self.device)
                video, patches = self._video_and_patches(pixels)  # (B, D), (B, P, D)
                prompted = text.unsqueeze(0).expand(len(video), -1, -1)
                prompted = prompted + model.prompts_generator(prompted, patches)  # (B, M, D)
                video = torch.nn.functional.normalize(video.float(), dim=-1)
                prompted = torch.nn.functional.normalize(prompted.float(), dim=-1)
                out[start : start + len(video)] = torch.einsum("bd,bkd->bk", video, prompted).cpu().numpy()
        return out

    def _video_and_patches(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The MIT-pooled video embedding and the frame-mean patch features the prompt generator reads.

        The same steps as the start of ``XCLIPModel.forward``.
        """
        model = self._model
        batch, frames = pixels.shape[:2]
        vision = model.vision_model(pixel_values=pixels.flatten(0, 1))
        cls = model.visual_projection(vision.pooler_output).view(batch, frames, -1)
        video = model.mit(cls).pooler_output  # (B, D)
        patches = model.prompts_visual_layernorm(vision.last_hidden_state[:, 1:, :])
        patches = patches @ model.prompts_visual_projection
        patches = patches.view(batch, frames, -1, video.shape[-1]).mean(dim=1)
        return video, patches

    def __repr__(self) -> str:
        return (
            f"XClipEncoder(name={self.name!r}, dim={self.dim}, clip_frames={self.clip_frames}, "
            f"device={self.device}, dtype={self.dtype})"
        )


def load_xclip_encoder(
    ref: str,
    *,
    name: str | None = None,
    device: str | None = None,
    precision: str = "auto",
    batch_size: int = 32,
) -> XClipEncoder:
    """Load a transformers X-CLIP checkpoint (e.g. ``microsoft/xclip-base-patch32``).

    Args:
        ref: a local model directory or a hub id (found in / fetched into the user's cache).
        name: registry name to report (default ``"xclip:" + ref``).
        device: torch device, default CUDA when available else CPU.
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"``.
        batch_size: frames per forward pass (clips of T frames: ``batch_size // T`` per pass).

    Raises:
        ModelNotFoundError: nothing loadable at ``ref``, or not an X-CLIP checkpoint.
    """
    import transformers

    started = time.perf_counter()
    directory = resolve_model_dir(ref)
    label = name or f"xclip:{ref}"
    torch_device = _default_device(device)
    dtype = resolve_precision(precision, torch_device)
    try:
        config = transformers.AutoConfig.from_pretrained(directory)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{label}: no readable config.json in {directory} ({exc})") from exc
    if config.model_type != XCLIP_MODEL_TYPE:
        raise ModelNotFoundError(
            f"{label}: model_type {config.model_type!r} is not X-CLIP ({XCLIP_MODEL_TYPE!r}); "
            f"load image-text models as hf:{ref}"
        )
    if not weight_files(directory):
        raise ModelNotFoundError(f"{label}: no *.safetensors or *.bin weights in {directory}")
    try:
        transformers.utils.logging.disable_progress_bar()
        model_class: Any = transformers.XCLIPModel  # Any: the dtype keyword is spelt per version
        model = model_class.from_pretrained(directory, **_float32_kwarg(transformers.__version__))
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    except OSError as exc:
        raise ModelNotFoundError(f"{label}: cannot load model or tokenizer from {directory} ({exc})") from exc
    model.eval().to(torch_device)
    image_size = _int_size(config.vision_config.image_size)
    preprocess = load_preprocess_config(directory, videomae_preprocess(image_size))
    encoder = XClipEncoder(
        name=label,
        directory=directory,
        model=model,
        tokenizer=tokenizer,
        preprocess=preprocess,
        device=torch_device,
        dtype=dtype,
        batch_size=batch_size,
        max_text_tokens=int(config.text_config.max_position_embeddings),
        clip_frames=int(config.vision_config.num_frames),
        dim=int(config.projection_dim),
    )
    logger.info(
        "loaded %s (xclip, D=%d, T=%d, %dpx) on %s in %.1fs",
        label,
        encoder.dim,
        encoder.clip_frames,
        encoder.image_size,
        torch_device,
        time.perf_counter() - started,
    )
    return encoder
