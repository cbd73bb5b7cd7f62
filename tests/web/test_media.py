"""Media by catalog id only: Range requests, traversal and symlink refusals, thumbnails, previews."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import build_library, video_id

import chronolens
from chronolens.web import ServeConfig, create_app


def _file(client: TestClient, name: str) -> bytes:
    path = next(v["path"] for v in client.get("/api/videos").json()["videos"] if Path(v["path"]).name == name)
    return Path(path).read_bytes()


def test_whole_file_advertises_ranges(client: TestClient) -> None:
    a = video_id(client, "a.mp4")
    response = client.get(f"/api/media/{a}")
    assert response.status_code == 200 and response.content == _file(client, "a.mp4")
    assert response.headers["accept-ranges"] == "bytes" and response.headers["content-type"] == "video/mp4"


@pytest.mark.parametrize(
    ("header", "lo", "hi"),
    [("bytes=0-0", 0, 1), ("bytes=10-99", 10, 100), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_a_range_gets_206_and_exactly_its_bytes(
    client: TestClient, header: str, lo: int, hi: int | None
) -> None:
    a = video_id(client, "a.mp4")
    data = _file(client, "a.mp4")
    response = client.get(f"/api/media/{a}", headers={"Range": header})
    expected = data[lo:hi]
    assert response.status_code == 206 and response.content == expected
    start = lo if lo >= 0 else len(data) + lo
    assert response.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{len(data)}"


def test_an_unsatisfiable_range_gets_416(client: TestClient) -> None:
    a = video_id(client, "a.mp4")
    size = len(_file(client, "a.mp4"))
    response = client.get(f"/api/media/{a}", headers={"Range": f"bytes={size}-"})
    assert response.status_code == 416 and response.headers["content-range"] == f"bytes */{size}"


@pytest.mark.parametrize(
    "url",
    [
        "/api/media/..%2F..%2Fetc%2Fpasswd",
        "/api/media/%2Fetc%2Fpasswd",
        "/api/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/api/media/..%252F..%252Fetc%252Fpasswd",
        "/api/media/etc/passwd",
        "/api/media/-1",
        "/api/media/1.0",
        "/api/media/99999",
        "/api/thumbnail/..%2F..%2Fetc%2Fpasswd",
        "/api/preview/%2Fetc%2Fpasswd?start=0&end=1",
    ],
)
def test_media_is_served_only_by_catalog_id(client: TestClient, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 404 and set(response.json()) == {"error"}
    assert b"root:" not in response.content


def test_a_failed_video_is_not_served(client: TestClient) -> None:
    broken = video_id(client, "broken.mp4")
    assert client.get(f"/api/media/{broken}").status_code == 404


def test_a_file_swapped_for_a_symlink_out_of_the_library_is_404(tmp_path: Path) -> None:
    library = build_library(tmp_path)
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the contents of a private file\n")
    with TestClient(create_app(ServeConfig(library=library, cache_dir=tmp_path / "c"))) as client:
        a = video_id(client, "a.mp4")
        video = tmp_path / "videos" / "a.mp4"
        assert client.get(f"/api/media/{a}").status_code == 200
        video.unlink()
        video.symlink_to(secret)
        for url in (f"/api/media/{a}", f"/api/thumbnail/{a}?t=1", f"/api/preview/{a}?start=0&end=1"):
            response = client.get(url)
            assert response.status_code == 404 and b"private" not in response.content, url


def test_thumbnail_is_a_jpeg_of_the_frame_at_the_moment(client: TestClient) -> None:
    a = video_id(client, "a.mp4")
    response = client.get(f"/api/thumbnail/{a}", params={"t": 4.5})
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8"
    with av.open(io.BytesIO(response.content)) as container:
        image = next(container.decode(video=0)).to_ndarray(format="rgb24")
    red, green, blue = image.reshape(-1, 3).mean(axis=0)
    assert red > 180 and green < 70 and blue < 70  # 3-6 s is red
    assert client.get(f"/api/thumbnail/{a}", params={"t": 1e6}).status_code == 200  # clamped to the end


def test_preview_transcodes_a_moment_once_and_reuses_it(client: TestClient, tmp_path: Path) -> None:
    b = video_id(client, "b.avi")
    first = client.get(f"/api/preview/{b}", params={"start": 1.0, "end": 3.0})
    assert first.status_code == 200 and first.headers["content-type"] == "video/mp4"
    (cached,) = (tmp_path / "previews").glob("*.mp4")
    info = chronolens.probe(cached)
    assert info.codec == "h264" and info.duration == pytest.approx(2.0, abs=0.15)
    stamp = cached.stat().st_mtime_ns
    again = client.get(
        f"/api/preview/{b}", params={"start": 1.0, "end": 3.0}, headers={"Range": "bytes=0-99"}
    )
    assert again.status_code == 206 and again.content == first.content[:100]
    assert cached.stat().st_mtime_ns == stamp and len(list((tmp_path / "previews").iterdir())) == 1
    with av.open(str(cached)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(frame.reshape(-1, 3).mean(axis=0) - (30, 220, 30)).max() < 25  # b.avi is green


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": 3, "end": 2}, 400),
        ({"start": 0, "end": 500}, 400),
        ({"start": 7, "end": 8}, 400),
        ({}, 422),
    ],
)
def test_preview_spans_are_bounded(client: TestClient, params: dict[str, float], status: int) -> None:
    b = video_id(client, "b.avi")  # 6 s long; previews are at most 120 s
    response = client.get(f"/api/preview/{b}", params=params)
    assert response.status_code == status and set(response.json()) == {"error"}
