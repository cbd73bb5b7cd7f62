"""A tiny served library: colour-segment videos indexed with the colour-histogram test encoder.

``a.mp4`` (H.264, a browser plays it) is blue 0-3 s, red 3-6 s, blue 6-10 s; ``b.avi`` (MS-MPEG4,
which no browser plays) is green for 6 s; ``broken.mp4`` is not a video (it fails to index).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from tests.library.colorhist import COLORS

import chronolens
from chronolens.video.writer import write_video
from chronolens.web import ServeConfig, create_app

MODEL = "testcolor:web"


def color_video(
    path: Path,
    segments: list[tuple[str, float]],
    *,
    codec: str,
    fps: int = 10,
    size: tuple[int, int] = (48, 64),
) -> Path:
    """Write solid colour segments ``(name, seconds)`` with ``codec``."""
    frames = []
    for color, seconds in segments:
        frame = np.empty((*size, 3), np.uint8)
        frame[:] = COLORS[color]
        frames.extend([frame] * round(seconds * fps))
    return write_video(path, frames, fps=fps, codec=codec, gop=fps)


def build_library(root: Path, *, size: tuple[int, int] = (48, 64)) -> Path:
    """Videos under ``root/videos``, indexed into ``root/lib``; returns the library dir."""
    videos = root / "videos"
    color_video(videos / "a.mp4", [("blue", 3), ("red", 3), ("blue", 4)], codec="libx264", size=size)
    color_video(videos / "b.avi", [("green", 6)], codec="msmpeg4", size=size)
    (videos / "broken.mp4").write_bytes(b"not a video at all" * 10)
    library = root / "lib"
    with chronolens.Library.open(library, model=MODEL) as lib:
        chronolens.index(lib, [videos], progress=False)
    return library


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny library, built once per test module (tests only read it)."""
    return build_library(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(library: Path, tmp_path: Path) -> Iterator[TestClient]:
    """A test client of the read-only app over ``library`` (previews cached under ``tmp_path``)."""
    app = create_app(ServeConfig(library=library, cache_dir=tmp_path / "previews"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def video_id(client: TestClient, name: str) -> int:
    """The catalog id of the video named ``name``."""
    (found,) = [v["id"] for v in client.get("/api/videos").json()["videos"] if Path(v["path"]).name == name]
    return int(found)
