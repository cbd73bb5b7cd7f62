"""Still images from decoded frames: JPEG or PNG bytes through PyAV's own encoders (no Pillow).

The one image writer of chronolens: keyframes (``chronolens keyframes``), the web page's
thumbnails and the demo report's inline thumbnails all call :func:`encode_image`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal, cast

import av
import numpy as np

__all__ = ["IMAGE_FORMATS", "JPEG_QSCALE", "ImageFormat", "encode_image"]

ImageFormat = Literal["jpg", "png"]
IMAGE_FORMATS: tuple[str, ...] = ("jpg", "png")
JPEG_QSCALE = 2  # MJPEG quantiser (2: near-lossless, 31: worst); full-chroma yuvj444p


def encode_image(image: np.ndarray, fmt: ImageFormat = "jpg", *, width: int | None = None) -> bytes:
    """Encode one ``(H, W, 3)`` uint8 RGB image as JPEG or PNG file bytes.

    Args:
        image: the frame.
        fmt: ``"jpg"`` (MJPEG at ``JPEG_QSCALE``, full chroma) or ``"png"`` (lossless).
        width: scale to this many pixels wide first, keeping the aspect ratio (both sides rounded
            to even numbers); ``None`` keeps the image's own size.

    Returns:
        The image file's bytes.
    """
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {fmt!r}; choose from {', '.join(IMAGE_FORMATS)}")
    codec, pix_fmt = ("png", "rgb24") if fmt == "png" else ("mjpeg", "yuvj444p")
    h, w = int(image.shape[0]), int(image.shape[1])
    if width is not None:
        w_out = max(2, width - width % 2)
        h, w = max(2, round(h * w_out / w / 2) * 2), w_out
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    frame = frame.reformat(width=w, height=h, format=pix_fmt)
    context = cast("av.video.codeccontext.VideoCodecContext", av.CodecContext.create(codec, "w"))
    context.width, context.height = w, h
    context.pix_fmt = pix_fmt
    context.time_base = Fraction(1, 1)
    if codec == "mjpeg":
        context.qmin = context.qmax = JPEG_QSCALE
    return b"".join(bytes(p) for p in [*context.encode(frame), *context.encode(None)])
