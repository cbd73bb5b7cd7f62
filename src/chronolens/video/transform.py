"""Per-frame pixel transforms applied on decode: resize (swscale) and display rotation.

Rotation follows FFmpeg's display matrix convention as PyAV reports it (``VideoFrame.rotation``):
degrees counter-clockwise that the coded picture must be turned to be shown upright. Flips in the
display matrix are not applied (they are rare outside EXIF-style stills).
"""

from __future__ import annotations

import logging

import av
import numpy as np

__all__ = [
    "RESIZE_INTERPOLATION",
    "coded_size",
    "display_size",
    "frame_to_rgb",
    "normalize_rotation",
    "rotate_upright",
]

logger = logging.getLogger(__name__)

# swscale interpolation used for resize on decode ("BILINEAR" in swscale filters over the whole
# downscale footprint, so it does not alias like naive bilinear sampling).
RESIZE_INTERPOLATION = "BILINEAR"
# Rotations within this many degrees of a multiple of 90 are snapped to it; others are ignored.
ROTATION_SNAP_DEG = 1.0

Size = int | tuple[int, int] | None


def normalize_rotation(degrees: float | None) -> int:
    """Snap a counter-clockwise rotation in degrees to one of 0, 90, 180, 270.

    Args:
        degrees: rotation as read from the display matrix (any sign, e.g. -90); None means 0.

    Returns:
        The rotation in ``{0, 90, 180, 270}``; 0 for angles that are not near a right angle.
    """
    if degrees is None:
        return 0
    snapped = round(degrees / 90.0) * 90
    if abs(degrees - snapped) > ROTATION_SNAP_DEG:
        logger.warning("ignoring non-right-angle display rotation of %.1f degrees", degrees)
        return 0
    return int(snapped % 360)


def rotate_upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a coded picture upright.

    Args:
        image: ``(H, W, C)`` array as decoded.
        rotation: counter-clockwise degrees in ``{0, 90, 180, 270}`` (see ``normalize_rotation``).

    Returns:
        ``(H', W', C)`` contiguous array; ``H'``/``W'`` are swapped for 90 and 270.
    """
    if rotation % 90 != 0:
        raise ValueError(f"rotation must be a multiple of 90, got {rotation!r}")
    k = (rotation // 90) % 4
    if k == 0:
        return image
    return np.ascontiguousarray(np.rot90(image, k=k))


def display_size(coded_width: int, coded_height: int, rotation: int) -> tuple[int, int]:
    """``(width, height)`` as shown, given the coded size and the display rotation."""
    if rotation in (90, 270):
        return coded_height, coded_width
    return coded_width, coded_height


def _check_size(size: Size) -> None:
    if size is None:
        return
    if isinstance(size, bool):
        raise ValueError(f"size must be an int, a (width, height) pair or None, got {size!r}")
    if isinstance(size, int):
        if size < 1:
            raise ValueError(f"size (shorter side) must be >= 1, got {size!r}")
        return
    if (
        isinstance(size, tuple)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)
    ):
        return
    raise ValueError(f"size must be an int >= 1, a (width, height) pair of ints >= 1, or None, got {size!r}")


def coded_size(coded_width: int, coded_height: int, rotation: int, size: Size) -> tuple[int, int]:
    """The ``(width, height)`` to scale the coded picture to, so that after rotation it matches ``size``.

    Args:
        coded_width: width of the decoded picture in pixels.
        coded_height: height of the decoded picture in pixels.
        rotation: counter-clockwise display rotation in ``{0, 90, 180, 270}``.
        size: ``None`` (keep), an int (shorter displayed side in pixels, aspect kept, other side
            rounded), or an exact displayed ``(width, height)``.

    Returns:
        ``(width, height)`` for ``VideoFrame.reformat`` before rotation.

    Raises:
        ValueError: if ``size`` is malformed.
    """
    _check_size(size)
    disp_w, disp_h = display_size(coded_width, coded_height, rotation)
    if size is None:
        out_w, out_h = disp_w, disp_h
    elif isinstance(size, int):
        if disp_w <= disp_h:
            out_w, out_h = size, max(1, round(disp_h * size / disp_w))
        else:
            out_w, out_h = max(1, round(disp_w * size / disp_h)), size
    else:
        out_w, out_h = size
    return (out_h, out_w) if rotation in (90, 270) else (out_w, out_h)


def frame_to_rgb(frame: av.VideoFrame, size: Size, rotation: int) -> np.ndarray:
    """Convert a decoded frame to an upright RGB array, resizing with swscale on the way.

    Args:
        frame: decoded PyAV video frame (any pixel format).
        size: see ``coded_size``.
        rotation: counter-clockwise display rotation in ``{0, 90, 180, 270}``.

    Returns:
        ``(H, W, 3)`` uint8 RGB, upright.
    """
    width, height = coded_size(frame.width, frame.height, rotation, size)
    if (width, height) == (frame.width, frame.height):
        rgb = frame.reformat(format="rgb24")
    else:
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation=RESIZE_INTERPOLATION)
    return rotate_upright(rgb.to_ndarray(), rotation)
