"""Choosing the compute precision an encoder runs at.

``"auto"`` uses bfloat16 autocast where the hardware does bf16 matrix maths natively (CPUs with
AVX512-BF16 or AMX, CUDA GPUs that support bf16), and float32 elsewhere: emulated bf16 on an
older CPU is slower than float32. Outputs are always returned as float32.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

__all__ = ["PRECISIONS", "Precision", "autocast_context", "cpu_has_native_bf16", "resolve_precision"]

logger = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX tiles)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    for check in checks:
        probe = getattr(torch.cpu, check, None)
        if probe is None:
            continue
        try:
            if probe():
                return True
        except RuntimeError:  # pragma: no cover - exotic builds
            continue
    return False


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Resolve a precision name to the autocast dtype for ``device``.

    Args:
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"``.
        device: where the model runs.

    Returns:
        ``torch.bfloat16`` (autocast) or ``torch.float32`` (no autocast).
    """
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision == "fp32":
        return torch.float32
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported()
    elif device.type == "cpu":
        native = cpu_has_native_bf16()
    else:
        native = False
    dtype = torch.bfloat16 if native else torch.float32
    logger.debug("precision auto on %s -> %s", device, dtype)
    return dtype


@contextlib.contextmanager
def autocast_context(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Autocast to ``dtype`` on ``device``; a no-op for float32."""
    import torch

    if dtype == torch.float32:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
