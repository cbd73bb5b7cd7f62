"""The one image writer: JPEG/PNG bytes that decode back to the frame (through PyAV itself)."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest

from chronolens.video.images import encode_image


def _decode(data: bytes, fmt: str) -> np.ndarray:
    with av.open(io.BytesIO(data), format="image2pipe" if fmt == "jpg" else "png_pipe") as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="rgb24")


def _image() -> np.ndarray:
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, :32] = (255, 0, 0)
    image[:, 32:] = (0, 0, 255)
    return image


def test_png_round_trips_exactly() -> None:
    image = _image()
    data = encode_image(image, "png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(_decode(data, "png"), image)


def test_jpeg_is_complete_and_close_at_full_size() -> None:
    image = _image()
    data = encode_image(image, "jpg")
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    back = _decode(data, "jpg")
    assert back.shape == image.shape
    assert np.abs(back.astype(int) - image).mean() < 4  # near-lossless, full chroma


def test_width_scales_and_keeps_the_aspect_with_even_sides() -> None:
    back = _decode(encode_image(_image(), "jpg", width=33), "jpg")
    assert back.shape == (24, 32, 3)  # 33 -> 32 wide, 48 * 32 / 64 = 24 high
    assert back[:, :12, 0].mean() > 200 and back[:, 20:, 2].mean() > 200  # red left, blue right


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown image format"):
        encode_image(_image(), "gif")  # type: ignore[arg-type]
