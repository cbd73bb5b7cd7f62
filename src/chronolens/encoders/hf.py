"""CLIP and SigLIP dual encoders loaded through transformers (``hf:<hub id or local dir>``).

The model class is picked from the checkpoint's ``config.json`` ``model_type``; what differs per
family (model class, text padding, default image processing, embedding width) lives in one table,
``FAMILIES``. Images are preprocessed in torch (``chronolens.encoders.preprocess``), so neither
torchvision nor PIL is needed.

Supported ``model_type`` values: ``clip`` (OpenAI CLIP and every transformers-format CLIP such as
the LAION ones) and ``siglip`` (SigLIP and the fixed-resolution SigLIP 2 checkpoints, which
ship as ``siglip``). The NaFlex ``siglip2`` variant takes variable-size patch sequences and is
not supported yet.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from chronolens.encoders.fingerprint import weight_files, weights_sha256
from chronolens.encoders.precision import autocast_context, resolve_precision
from chronolens.encoders.preprocess import (
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    STANDARD_MEAN,
    STANDARD_STD,
    ImagePreprocessConfig,
    family_default,
    load_preprocess_config,
    preprocess_images,
)
from chronolens.errors import ModelNotFoundError

__all__ = ["FAMILIES", "HFEncoder", "ModelFamily", "load_hf_encoder", "resolve_model_dir"]

logger = logging.getLogger(__name__)

_HUB_ID_MAX_SLASHES = 1  # hub ids are "name" or "owner/name"; anything deeper is a path


@dataclass(frozen=True, kw_only=True)
class ModelFamily:
    """What one transformers dual-encoder family needs that the others do not."""

    model_class: str  # transformers class that holds both towers, e.g. "CLIPModel"
    text_padding: str  # tokenizer padding: "longest" (CLIP) or "max_length" (SigLIP was trained so)
    text_attention_mask: bool  # pass the attention mask to the text tower (SigLIP was trained without)
    crop: bool  # default processing: shorter side + centre crop (True) or squash to a square (False)
    mean: tuple[float, float, float]  # default per-channel mean when no preprocessor_config.json
    std: tuple[float, float, float]  # default per-channel std when no preprocessor_config.json
    has_projection: bool  # embeddings go through projection_dim (CLIP) or stay at hidden_size (SigLIP)

    def __post_init__(self) -> None:
        if self.text_padding not in ("longest", "max_length"):
            raise ValueError(f"text_padding must be 'longest' or 'max_length', got {self.text_padding!r}")


FAMILIES: dict[str, ModelFamily] = {
    "clip": ModelFamily(
        model_class="CLIPModel",
        text_padding="longest",
        text_attention_mask=True,
        crop=True,
        mean=OPENAI_CLIP_MEAN,
        std=OPENAI_CLIP_STD,
        has_projection=True,
    ),
    "siglip": ModelFamily(
        model_class="SiglipModel",
        text_padding="max_length",
        text_attention_mask=False,
        crop=False,
        mean=STANDARD_MEAN,
        std=STANDARD_STD,
        has_projection=False,
    ),
}


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~", "\\")) or ref.count("/") > _HUB_ID_MAX_SLASHES


def resolve_model_dir(ref: str) -> Path:
    """Find the local directory of ``ref``: a directory path, or a hub id in the user's cache.

    A hub id is fetched with ``huggingface_hub.snapshot_download`` (into the user's cache, or
    taken from it when ``HF_HUB_OFFLINE=1`` / no network), restricted to the files a dual encoder
    needs.

    Raises:
        ModelNotFoundError: the directory does not exist, or the id is neither cached nor
            downloadable; the message says how to get it.
    """
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    if _looks_like_path(ref):
        raise ModelNotFoundError(f"hf:{ref}: no such model directory")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError
    except ImportError as exc:  # pragma: no cover - transformers depends on huggingface_hub
        raise ModelNotFoundError(f"hf:{ref}: huggingface_hub is not installed ({exc})") from exc
    patterns = ["*.json", "*.txt", "*.model", "model*.safetensors"]
    try:
        local = snapshot_download(ref, allow_patterns=patterns)
        if not weight_files(Path(local)):
            # Older repositories only have pytorch_model.bin.
            local = snapshot_download(ref, allow_patterns=[*patterns[:-1], "pytorch_model*.bin"])
    except HFValidationError as exc:
        raise ModelNotFoundError(f"hf:{ref}: not a hub id or an existing directory ({exc})") from exc
    except Exception as exc:  # offline / not cached / no such repo / gated / HTTP: one remedy for all
        raise ModelNotFoundError(
            f"hf:{ref} is not a local directory nor in the Hugging Face cache, and cannot be downloaded now "
            f"({type(exc).__name__}); download it once with network access "
            f"(e.g. `hf download {ref}`), or pass a local directory: hf:/path/to/model"
        ) from exc
    return Path(local)


class HFEncoder:
    """A transformers CLIP / SigLIP model behind the ``Encoder`` protocol.

    Build it with ``load_hf_encoder``. Both sides return float32 rows of unit L2 norm.
    """

    def __init__(
        self,
        *,
        name: str,
        directory: Path,
        model: Any,
        tokenizer: Any,
        family: ModelFamily,
        preprocess: ImagePreprocessConfig,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int,
        max_text_tokens: int,
        dim: int,
        compile: bool = False,
    ) -> None:
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.name = name
        self.directory = directory
        self.dim = dim
        self.image_size = preprocess.output_size[0]
        self.family = family
        self.preprocess = preprocess
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.max_text_tokens = max_text_tokens
        self._model = model
        self._tokenizer = tokenizer
        self._image_fn: Callable[[torch.Tensor], Any] = model.get_image_features
        self._text_fn: Callable[..., Any] = model.get_text_features
        if compile:
            # dynamic=None: recompile once for the tail batch, then treat the batch dim as dynamic.
            self._image_fn = torch.compile(self._image_fn)
            self._text_fn = torch.compile(self._text_fn)

    @functools.cached_property
    def weights_sha256(self) -> str:
        """sha256 over the weight files (see ``chronolens.encoders.fingerprint``), computed once."""
        return weights_sha256(self.directory)

    @property
    def model(self) -> Any:
        """The underlying transformers model (eval mode)."""
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The text tokenizer ``encode_texts`` uses."""
        return self._tokenizer

    def pixel_values(self, frames: np.ndarray) -> torch.Tensor:
        """Preprocess frames exactly as ``encode_images`` does.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB.

        Returns:
            ``(N, 3, S, S)`` float32 on the CPU, ``S = image_size``.
        """
        return preprocess_images(frames, self.preprocess)

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Embed RGB frames.

        Args:
            frames: ``(N, H, W, 3)`` uint8 RGB, any H, W.

        Returns:
            ``(N, D)`` float32, L2-normalised.
        """
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"frames must be (N, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
        out = np.empty((len(frames), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(frames), self.batch_size):
                batch = self.pixel_values(frames[start : start + self.batch_size]).to(self.device)
                with autocast_context(self.device, self.dtype):
                    features = _features(self._image_fn(batch))  # (B, D)
                out[start : start + len(batch)] = _normalise(features)
        return out

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise as ``encode_texts`` does: family padding, truncation to the position limit."""
        encoded = self._tokenizer(
            list(texts),
            padding=self.family.text_padding,
            truncation=True,
            max_length=self.max_text_tokens,
            return_tensors="pt",
        )
        inputs = {"input_ids": encoded["input_ids"]}
        if self.family.text_attention_mask and "attention_mask" in encoded:
            inputs["attention_mask"] = encoded["attention_mask"]
        return inputs

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts.

        Args:
            texts: M strings.

        Returns:
            ``(M, D)`` float32, L2-normalised.
        """
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a sequence of strings, not one string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = texts[start : start + self.batch_size]
                inputs = {k: v.to(self.device) for k, v in self.tokenize(chunk).items()}
                with autocast_context(self.device, self.dtype):
                    features = _features(self._text_fn(**inputs))  # (B, D)
                out[start : start + len(chunk)] = _normalise(features)
        return out

    def __repr__(self) -> str:
        return f"HFEncoder(name={self.name!r}, dim={self.dim}, device={self.device}, dtype={self.dtype})"


def _features(output: Any) -> torch.Tensor:
    """The projected embedding from ``get_*_features`` (a tensor in transformers 4, an output in 5)."""
    if isinstance(output, torch.Tensor):
        return output
    return output.pooler_output


def _normalise(features: torch.Tensor) -> np.ndarray:
    """``(B, D)`` any dtype -> ``(B, D)`` float32 numpy with unit rows."""
    features = features.float()
    return torch.nn.functional.normalize(features, dim=-1).cpu().numpy()


def _default_device(device: str | None) -> torch.device:
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


_DTYPE_KWARG_SINCE = (4, 56)  # transformers renamed from_pretrained's torch_dtype to dtype here


def _float32_kwarg(version: str) -> dict[str, torch.dtype]:
    """``{"dtype": float32}`` for transformers >= 4.56, else the older ``torch_dtype`` spelling."""
    major_minor = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    key = "dtype" if major_minor >= _DTYPE_KWARG_SINCE else "torch_dtype"
    return {key: torch.float32}


def _int_size(value: Any) -> int:
    """Vision configs store ``image_size`` as an int or an (H, W) pair."""
    if isinstance(value, (list, tuple)):
        return int(value[0])
    return int(value)


def load_hf_encoder(
    ref: str,
    *,
    name: str | None = None,
    device: str | None = None,
    precision: str = "auto",
    batch_size: int = 32,
    compile: bool = False,
) -> HFEncoder:
    """Load a transformers CLIP / SigLIP checkpoint as an encoder.

    Args:
        ref: a local model directory or a hub id (found in / fetched into the user's cache).
        name: registry name to report (default ``"hf:" + ref``).
        device: torch device, default CUDA when available else CPU.
        precision: ``"auto"`` (bf16 autocast where native), ``"fp32"`` or ``"bf16"``.
        batch_size: frames / texts per forward pass.
        compile: wrap both towers in ``torch.compile`` (first calls are slow while it compiles).

    Returns:
        The encoder, in eval mode on ``device``.

    Raises:
        ModelNotFoundError: nothing loadable at ``ref``, or an unsupported ``model_type``.
    """
    import transformers

    started = time.perf_counter()
    directory = resolve_model_dir(ref)
    torch_device = _default_device(device)
    dtype = resolve_precision(precision, torch_device)
    try:
        config = transformers.AutoConfig.from_pretrained(directory)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"hf:{ref}: no readable config.json in {directory} ({exc})") from exc
    family = FAMILIES.get(config.model_type)
    if family is None:
        raise ModelNotFoundError(
            f"hf:{ref}: model_type {config.model_type!r} is not an image-text dual encoder chronolens "
            f"supports; supported: {', '.join(sorted(FAMILIES))}"
        )
    if not weight_files(directory):
        raise ModelNotFoundError(f"hf:{ref}: no *.safetensors or *.bin weights in {directory}")
    model_class = getattr(transformers, family.model_class)
    try:
        # float32 explicitly: checkpoints stored in fp16 would otherwise load as fp16 on the CPU.
        # transformers' per-weight loading bar is noise next to chronolens' own progress bars.
        transformers.utils.logging.disable_progress_bar()
        model = model_class.from_pretrained(directory, **_float32_kwarg(transformers.__version__))
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    except OSError as exc:
        raise ModelNotFoundError(
            f"hf:{ref}: cannot load model or tokenizer from {directory} ({exc})"
        ) from exc
    model.eval().to(torch_device)

    image_size = _int_size(config.vision_config.image_size)
    default_pre = family_default(image_size, crop=family.crop, mean=family.mean, std=family.std)
    preprocess = load_preprocess_config(directory, default_pre)
    dim = int(config.projection_dim) if family.has_projection else int(config.vision_config.hidden_size)
    encoder = HFEncoder(
        name=name or f"hf:{ref}",
        directory=directory,
        model=model,
        tokenizer=tokenizer,
        family=family,
        preprocess=preprocess,
        device=torch_device,
        dtype=dtype,
        batch_size=batch_size,
        max_text_tokens=int(config.text_config.max_position_embeddings),
        dim=dim,
        compile=compile,
    )
    logger.info(
        "loaded %s (%s, D=%d, %dpx) on %s at %s in %.1fs",
        encoder.name,
        config.model_type,
        dim,
        encoder.image_size,
        torch_device,
        str(dtype).removeprefix("torch."),
        time.perf_counter() - started,
    )
    return encoder
