"""The JSON API: the same objects the CLI's --json prints, bounded parameters, JSON errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import build_library, color_video, video_id

import chronolens
from chronolens.cli.main import main
from chronolens.web import ServeConfig, create_app


def _cli_json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _without_id(payload: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in payload.items() if k != "id"}


def test_search_is_what_the_cli_prints_plus_ids(
    client: TestClient, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = client.get("/api/search", params={"q": "red", "top_k": 2, "saliency": True}).json()
    cli = _cli_json(
        capsys, ["search", "red", "--library", str(library), "--top-k", "2", "--saliency", "--json"]
    )
    assert {**body, "results": [_without_id(r) for r in body["results"]]} == cli
    first = body["results"][0]
    assert Path(first["video"]).name == "a.mp4" and first["id"] == video_id(client, "a.mp4")
    start, end, _ = first["moments"][0]
    assert start < 4.0 and end > 5.0  # the red segment is 3-6 s


def test_ground_and_highlights_are_what_the_cli_prints(
    client: TestClient, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = video_id(client, "a.mp4")
    path = next(v["path"] for v in client.get("/api/videos").json()["videos"] if v["id"] == a)
    body = client.get("/api/ground", params={"video": a, "q": "red", "top_k": 3}).json()
    cli = _cli_json(capsys, ["ground", path, "red", "--library", str(library), "--top-k", "3", "--json"])
    assert _without_id(body) == cli and body["id"] == a
    free = client.get("/api/highlights", params={"video": a, "top_k": 2}).json()
    cli = _cli_json(capsys, ["highlights", path, "--library", str(library), "--top-k", "2", "--json"])
    assert _without_id(free) == cli and free["query"] is None
    assert len(free["saliency"]) == 5  # 10 s on the 2 s clip grid


def test_info_and_videos_show_status_failures_and_playability(
    client: TestClient, library: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = client.get("/api/info").json()
    cli = _cli_json(capsys, ["info", "--library", str(library), "--json"])
    assert {k: v for k, v in info.items() if k != "disk_bytes"} == {
        k: v for k, v in cli.items() if k != "disk_bytes"
    }
    assert info["encoder"] == "testcolor:web" and info["n_indexed"] == 2 and info["n_failed"] == 1
    videos = {Path(v["path"]).name: v for v in client.get("/api/videos").json()["videos"]}
    assert videos["a.mp4"]["playable"] is True and videos["a.mp4"]["playback_note"] is None
    assert videos["b.avi"]["playable"] is False and "msmpeg4" in videos["b.avi"]["playback_note"]
    assert videos["broken.mp4"]["status"] == "failed" and videos["broken.mp4"]["error"]
    detail = client.get(f"/api/video/{videos['a.mp4']['id']}").json()
    assert detail["video"] == videos["a.mp4"] and detail["transcript"] is None
    assert detail["shots"]["shots"][0][0] == 0.0  # the room for shots is fed by the API
    # keyframes: chosen from the stored shots and embeddings (no decoding), one per shot first
    shots = detail["shots"]["shots"]
    times = detail["keyframes"]
    assert times == sorted(times) and 1 <= len(times) <= 6
    assert all(0.0 <= t < detail["video"]["duration"] for t in times)
    assert all(any(s <= t < e for t in times) for s, e in shots[:6])
    thumb = client.get(f"/api/thumbnail/{videos['a.mp4']['id']}", params={"t": times[0]})
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"


def test_curve_is_the_query_similarity_of_every_stored_frame(client: TestClient) -> None:
    a = video_id(client, "a.mp4")
    body = client.get("/api/curve", params={"video": a, "q": "red"}).json()
    assert len(body["times"]) == len(body["similarity"]) == 10  # 1 fps over 10 s
    red = [s for t, s in zip(body["times"], body["similarity"], strict=True) if 3 < t < 6]
    blue = [s for t, s in zip(body["times"], body["similarity"], strict=True) if t < 3 or t > 6]
    assert min(red) > 0.99 and max(blue) < 0.01


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"q": ""}, 422, "q"),
        ({"q": "   "}, 400, "empty"),
        ({"q": "x" * 501}, 422, "500 characters"),
        ({"q": "red", "top_k": 0}, 422, "top_k"),
        ({"q": "red", "top_k": 101}, 422, "top_k"),
        ({"q": "red", "moments": 11}, 422, "moments"),
        ({}, 422, "q"),
    ],
)
def test_parameters_are_bounded_and_errors_are_json(
    client: TestClient, params: dict[str, object], status: int, says: str
) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status
    assert set(response.json()) == {"error"} and says in response.json()["error"]


def test_unknown_and_failed_videos_are_404_json(client: TestClient) -> None:
    broken = video_id(client, "broken.mp4")
    for url in ["/api/ground?video=999&q=red", f"/api/curve?video={broken}&q=red", "/api/video/abc", "/nope"]:
        response = client.get(url)
        assert response.status_code == 404 and set(response.json()) == {"error"}, url


def test_an_unexpected_error_is_json_without_a_traceback(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals /home/x")

    monkeypatch.setattr(chronolens, "search", boom)
    response = client.get("/api/search", params={"q": "red"})
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (RuntimeError); the server log has the details"}


def test_read_only_by_default_and_index_only_when_allowed(tmp_path: Path) -> None:
    library = build_library(tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in library.rglob("*") if p.is_file()}
    with TestClient(create_app(ServeConfig(library=library, cache_dir=tmp_path / "c"))) as client:
        refused = client.post("/api/index", json={"paths": [str(tmp_path)]})
        assert refused.status_code == 404 and set(refused.json()) == {"error"}  # no such endpoint
        client.get("/api/search", params={"q": "red"})
        client.get("/api/info")
    assert {p.name: p.stat().st_mtime_ns for p in library.rglob("*") if p.is_file()} == before
    new = color_video(tmp_path / "more" / "c.mp4", [("yellow", 4)], codec="libx264")
    config = ServeConfig(library=library, cache_dir=tmp_path / "c", allow_index=True)
    with TestClient(create_app(config)) as client:
        report = client.post("/api/index", json={"paths": [str(new.parent)]}).json()
        assert report["indexed"] == [str(new)]
        assert client.post("/api/index", json={"paths": []}).status_code == 422
        hit = client.get("/api/search", params={"q": "yellow", "top_k": 1}).json()["results"][0]
        assert hit["video"] == str(new) and hit["id"] == video_id(client, "c.mp4")


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/ground", "/api/highlights", "/api/videos", "/api/info"} <= set(paths)
    assert "/api/index" not in paths  # only with --allow-index


def test_the_page_and_its_assets_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "<video" in page.text and 'id="extras"' in page.text
    for asset in ("app.js", "style.css"):
        response = client.get(f"/static/{asset}")
        assert response.status_code == 200 and response.text
    assert "http" not in page.text.replace("http://www.w3.org", "")  # no CDN
    assert client.get("/static/../config.py").status_code == 404


def test_a_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(chronolens.LibraryError, match="no chronolens library"):
        create_app(ServeConfig(library=tmp_path / "none"))
