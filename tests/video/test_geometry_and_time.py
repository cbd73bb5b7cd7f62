"""Resize on decode, display rotation, non-zero start PTS, probe."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from tests.video.video_helpers import frame_indices

from chronolens.video import Keyframes, probe, read_frames
from chronolens.video.transform import coded_size, normalize_rotation, rotate_upright

WHITE_CORNER = 255


def _corner_frames(n: int, height: int = 32, width: int = 64) -> list[np.ndarray]:
    """Black frames with a white top-left quadrant, so orientation is visible."""
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    frame[: height // 2, : width // 2] = WHITE_CORNER
    return [frame.copy() for _ in range(n)]


def _write(
    path: Path,
    frames: list[np.ndarray],
    *,
    fps: int = 10,
    pts_offset: int = 0,
    rotation: int | None = None,
    codec: str = "ffv1",
) -> Path:
    """Encode with PyAV directly: lets a test set a PTS offset and a display rotation."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "bgr0" if codec == "ffv1" else "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i + pts_offset
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_resize_shorter_side_keeps_aspect(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=10, fps=10, size=(48, 64))
    frames = read_frames(path, 1.0, size=24)
    assert frames.images.shape == (1, 24, 32, 3)
    assert frame_indices(frames.images, tolerance=2) == [0]


def test_resize_exact_width_height(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=10, fps=10, size=(48, 64))
    frames = read_frames(path, 1.0, size=(40, 20))
    assert frames.images.shape == (1, 20, 40, 3)


@pytest.mark.parametrize("bad", [0, -3, (10,), (0, 5), (1.5, 2), True])
def test_bad_size_rejected(make_video: Callable[..., Path], bad: object) -> None:
    path = make_video(n_frames=3)
    with pytest.raises(ValueError, match="size"):
        read_frames(path, size=bad)  # type: ignore[arg-type]


def test_coded_size_swaps_for_quarter_turns() -> None:
    assert coded_size(64, 32, 0, 16) == (32, 16)
    # Shown 32 wide x 64 tall: shorter side (width) -> 16, height 32; coded is the transpose.
    assert coded_size(64, 32, 90, 16) == (32, 16)
    assert coded_size(64, 32, 270, (10, 30)) == (30, 10)
    assert coded_size(64, 32, 180, None) == (64, 32)


def test_rotate_upright_is_counter_clockwise() -> None:
    image = np.zeros((2, 3, 1), dtype=np.uint8)
    image[0, 0] = 1  # top-left
    assert rotate_upright(image, 90).shape == (3, 2, 1)
    assert rotate_upright(image, 90)[-1, 0, 0] == 1  # -> bottom-left (FFmpeg's autorotate agrees)
    assert rotate_upright(image, 180)[-1, -1, 0] == 1  # -> bottom-right
    assert rotate_upright(image, 270)[0, -1, 0] == 1  # -> top-right
    assert rotate_upright(image, 0) is image
    assert normalize_rotation(-90) == 270
    assert normalize_rotation(90.4) == 90
    assert normalize_rotation(None) == 0


@pytest.mark.parametrize(("rotation", "corner"), [(90, (-1, 0)), (180, (-1, -1)), (270, (0, -1))])
def test_display_matrix_rotation_gives_upright_frames(
    tmp_path: Path, rotation: int, corner: tuple[int, int]
) -> None:
    path = _write(tmp_path / f"rot{rotation}.mkv", _corner_frames(5), rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation
    expected_wh = (32, 64) if rotation in (90, 270) else (64, 32)
    assert (info.width, info.height) == expected_wh
    frames = read_frames(path, 1.0)
    image = frames.images[0]
    assert image.shape == (expected_wh[1], expected_wh[0], 3)
    # The white quadrant moved where a counter-clockwise turn of `rotation` degrees puts it.
    assert image[corner[0], corner[1], 0] == WHITE_CORNER
    assert int(image[..., 0].sum()) == WHITE_CORNER * 16 * 32  # one white quadrant, nothing else
    np.testing.assert_array_equal(image, np.rot90(_corner_frames(1)[0], k=rotation // 90))
    resized = read_frames(path, 1.0, size=16)
    assert resized.images.shape[1:3] == ((32, 16) if rotation in (90, 270) else (16, 32))


def test_nonzero_start_pts_reported_from_zero(tmp_path: Path) -> None:
    from tests.media import index_color, solid_frames

    colours = [index_color(i) for i in range(30)]
    path = _write(tmp_path / "offset.mkv", list(solid_frames(colours)), pts_offset=14)  # starts at 1.4 s
    with av.open(str(path)) as container:
        assert container.streams.video[0].start_time == 1400  # mkv: ms time base
    frames = read_frames(path, 1.0)
    assert frame_indices(frames.images) == [0, 10, 20]
    np.testing.assert_allclose(frames.timestamps, [0.0, 1.0, 2.0], atol=1e-9)
    keys = read_frames(path, sampling=Keyframes())
    assert keys.timestamps[0] == 0.0


def test_probe_reports_header_facts(make_video: Callable[..., Path]) -> None:
    path = make_video(n_frames=25, fps=10, size=(48, 64))
    info = probe(path)
    assert info.codec == "ffv1"
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(2.5, abs=0.01)
    assert info.path == str(path)
