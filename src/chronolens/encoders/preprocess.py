"""Image preprocessing for the image towers, in torch (no torchvision, no PIL).

Reproduces what transformers' ``CLIPImageProcessor`` / ``SiglipImageProcessor`` do, batched:
resize (shorter side to ``size`` keeping the aspect ratio, or to an exact ``(H, W)``) with
antialiased bicubic interpolation on uint8 (torch's uint8 kernel matches PIL's ``BICUBIC`` to
within one grey level), optional centre crop, rescale to ``[0, 1]`` and normalise per channel.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.errors import FormatError

if TYPE_CHECKING:
    import torch

__all__ = [
    "OPENAI_CLIP_MEAN",
    "OPENAI_CLIP_STD",
    "PREPROCESSOR_CONFIG",
    "STANDARD_MEAN",
    "STANDARD_STD",
    "ImagePreprocessConfig",
    "family_default",
    "load_preprocess_config",
    "preprocess_images",
]

logger = logging.getLogger(__name__)

PREPROCESSOR_CONFIG = "preprocessor_config.json"  # file name transformers saves image settings under

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # per-channel RGB mean CLIP was trained with
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)  # per-channel RGB std CLIP was trained with
STANDARD_MEAN = (0.5, 0.5, 0.5)  # SigLIP maps [0, 1] to [-1, 1]
STANDARD_STD = (0.5, 0.5, 0.5)

# PIL resample codes as stored in preprocessor_config.json -> torch interpolation mode.
_RESAMPLE_MODES = {2: "bilinear", 3: "bicubic"}
_DEFAULT_RESAMPLE = "bicubic"


@dataclass(frozen=True, kw_only=True)
class ImagePreprocessConfig:
    """How frames become ``pixel_values`` for an image tower.

    Either ``shortest_edge`` is set (resize the shorter side, keep aspect ratio, then centre crop
    to ``crop_size``: CLIP) or ``resize_to`` is set (resize to exactly that size: SigLIP).
    """

    shortest_edge: int | None = None  # target length of the shorter side in pixels (CLIP: 224)
    resize_to: tuple[int, int] | None = None  # exact (height, width) to resize to (SigLIP: 224x224)
    crop_size: tuple[int, int] | None = (224, 224)  # (height, width) of the centre crop; None = no crop
    interpolation: str = "bicubic"  # "bicubic" or "bilinear", always antialiased
    rescale_factor: float = 1 / 255  # multiplies uint8 values (1/255 maps to [0, 1])
    mean: tuple[float, float, float] = OPENAI_CLIP_MEAN  # per-channel mean subtracted after rescale
    std: tuple[float, float, float] = OPENAI_CLIP_STD  # per-channel std divided by after rescale

    def __post_init__(self) -> None:
        if (self.shortest_edge is None) == (self.resize_to is None):
            raise ValueError("exactly one of shortest_edge and resize_to must be set")
        if self.shortest_edge is not None and self.shortest_edge <= 0:
            raise ValueError(f"shortest_edge must be positive, got {self.shortest_edge}")
        if self.resize_to is not None and min(self.resize_to) <= 0:
            raise ValueError(f"resize_to must be positive, got {self.resize_to}")
        if self.crop_size is not None and min(self.crop_size) <= 0:
            raise ValueError(f"crop_size must be positive, got {self.crop_size}")
        if self.interpolation not in _RESAMPLE_MODES.values():
            raise ValueError(f"interpolation must be one of {sorted(_RESAMPLE_MODES.values())}")
        if self.rescale_factor <= 0:
            raise ValueError(f"rescale_factor must be positive, got {self.rescale_factor}")
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError("mean and std must have 3 entries (RGB)")
        if min(self.std) <= 0:
            raise ValueError(f"std entries must be positive, got {self.std}")

    @property
    def output_size(self) -> tuple[int, int]:
        """``(height, width)`` of the produced ``pixel_values`` for a large enough input."""
        if self.crop_size is not None:
            return self.crop_size
        if self.resize_to is not None:
            return self.resize_to
        raise ValueError("a shortest_edge resize without crop_size has no fixed output size")


def _pair(value: Any, field: str, path: Path) -> tuple[int, int]:
    """Read a size stored as an int, ``{"height", "width"}`` or ``{"shortest_edge"}`` mapping."""
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, Mapping):
        if "height" in value and "width" in value:
            return (int(value["height"]), int(value["width"]))
        if "shortest_edge" in value:
            edge = int(value["shortest_edge"])
            return (edge, edge)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return (int(value[0]), int(value[1]))
    raise FormatError(f"{path}: cannot read '{field}' = {value!r} as an image size")


def load_preprocess_config(directory: Path, default: ImagePreprocessConfig) -> ImagePreprocessConfig:
    """Read image settings from ``directory/preprocessor_config.json``, else return ``default``.

    Args:
        directory: a model directory as written by ``save_pretrained``.
        default: the family's settings at the model's image size, used for absent keys too.

    Returns:
        The settings the model was published with.
    """
    path = directory / PREPROCESSOR_CONFIG
    if not path.is_file():
        logger.debug("no %s in %s; using the model family's defaults", PREPROCESSOR_CONFIG, directory)
        return default
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise FormatError(f"{path}: expected a JSON object")

    shortest_edge, resize_to = default.shortest_edge, default.resize_to
    size = raw.get("size")
    if raw.get("do_resize", True) and size is not None:
        if isinstance(size, Mapping) and "shortest_edge" in size:
            shortest_edge, resize_to = int(size["shortest_edge"]), None
        elif isinstance(size, int) and shortest_edge is not None:
            shortest_edge = size  # legacy int size for a shortest-edge processor
        else:
            shortest_edge, resize_to = None, _pair(size, "size", path)

    crop_size = default.crop_size
    if "do_center_crop" in raw and not raw["do_center_crop"]:
        crop_size = None
    elif raw.get("do_center_crop") and raw.get("crop_size") is not None:
        crop_size = _pair(raw["crop_size"], "crop_size", path)
    elif "do_center_crop" not in raw and resize_to is not None:
        crop_size = None  # an exact resize needs no crop unless asked for

    resample = raw.get("resample")
    interpolation = _RESAMPLE_MODES.get(resample, _DEFAULT_RESAMPLE) if resample is not None else "bicubic"
    if resample is not None and resample not in _RESAMPLE_MODES:
        logger.warning("%s: resample=%r not supported; using %s", path, resample, _DEFAULT_RESAMPLE)

    rescale = float(raw.get("rescale_factor", default.rescale_factor)) if raw.get("do_rescale", True) else 1.0
    mean, std = default.mean, default.std
    if raw.get("do_normalize", True):
        mean = tuple(float(v) for v in raw.get("image_mean", default.mean))  # type: ignore[assignment]
        std = tuple(float(v) for v in raw.get("image_std", default.std))  # type: ignore[assignment]
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    try:
        return ImagePreprocessConfig(
            shortest_edge=shortest_edge,
            resize_to=resize_to,
            crop_size=crop_size,
            interpolation=interpolation,
            rescale_factor=rescale,
            mean=mean,
            std=std,
        )
    except ValueError as exc:
        raise FormatError(f"{path}: {exc}") from exc


def family_default(
    image_size: int, *, crop: bool, mean: tuple[float, float, float], std: tuple[float, float, float]
) -> ImagePreprocessConfig:
    """A family's processing at ``image_size`` when a checkpoint has no ``preprocessor_config.json``.

    Args:
        image_size: the image tower's square input side in pixels.
        crop: shorter side + centre crop (CLIP) instead of squashing to a square (SigLIP).
        mean: per-channel mean.
        std: per-channel std.
    """
    return ImagePreprocessConfig(
        shortest_edge=image_size if crop else None,
        resize_to=None if crop else (image_size, image_size),
        crop_size=(image_size, image_size) if crop else None,
        mean=mean,
        std=std,
    )


def _shortest_edge_size(height: int, width: int, edge: int) -> tuple[int, int]:
    """Output ``(H, W)`` when the shorter side becomes ``edge`` (truncating, as transformers does)."""
    if width <= height:
        return (int(edge * height / width), edge)
    return (edge, int(edge * width / height))


def preprocess_images(frames: np.ndarray, config: ImagePreprocessConfig) -> torch.Tensor:
    """Turn RGB frames into normalised ``pixel_values``.

    Args:
        frames: ``(N, H, W, 3)`` uint8 RGB.
        config: resize / crop / normalisation settings.

    Returns:
        ``(N, 3, h, w)`` float32 with ``(h, w) = config.output_size``.
    """
    import torch
    import torch.nn.functional as F

    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (N, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # (N, 3, H, W) uint8 view
    height, width = x.shape[-2:]
    if config.shortest_edge is not None:
        target = _shortest_edge_size(height, width, config.shortest_edge)
    elif config.resize_to is not None:
        target = config.resize_to
    else:  # unreachable: __post_init__ requires one of the two
        raise ValueError("config sets neither shortest_edge nor resize_to")
    if (height, width) != target:
        # uint8 in, uint8 out: clamps and rounds like PIL, so results track the reference processors.
        x = F.interpolate(x.contiguous(), size=target, mode=config.interpolation, antialias=True)
    if config.crop_size is not None:
        x = _center_crop(x, config.crop_size)
    mean = torch.tensor(config.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(config.std, dtype=torch.float32).view(1, 3, 1, 1)
    # (x * rescale - mean) / std as one multiply-add
    scale = config.rescale_factor / std
    shift = -mean / std
    return x.to(torch.float32).mul_(scale).add_(shift).contiguous()


def _center_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Centre-crop ``(N, C, H, W)`` to ``size``, zero-padding first if the image is smaller."""
    import torch.nn.functional as F

    crop_h, crop_w = size
    height, width = x.shape[-2:]
    if height < crop_h or width < crop_w:
        pad_h, pad_w = max(crop_h - height, 0), max(crop_w - width, 0)
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        height, width = x.shape[-2:]
    top = (height - crop_h) // 2
    left = (width - crop_w) // 2
    return x[..., top : top + crop_h, left : left + crop_w]
