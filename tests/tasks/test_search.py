"""``chronolens.search``: retrieval + grounding over a library, composite queries like ``ground``."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.library.colorhist import ColorHistEncoder, segment_video

import chronolens
from chronolens.cli.main import main
from chronolens.library import Library
from chronolens.timebase.grid import n_clips


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


@pytest.fixture
def library(tmp_path: Path) -> Library:
    videos = tmp_path / "videos"
    segment_video(videos / "a.mkv", [("blue", 3), ("red", 3), ("yellow", 4)])  # red [3, 6), yellow [6, 10)
    segment_video(videos / "b.mkv", [("green", 9)])
    lib = Library.open(tmp_path / "lib", encoder=ColorHistEncoder("testcolor:x"))  # reloadable by name
    chronolens.index(lib, [videos], progress=False)
    return lib


def test_composite_query_is_decomposed_as_ground_does(library: Library) -> None:
    query = "a red scene then a yellow scene"
    with library:
        hit = chronolens.search(library, query, top_k=1, moments_per_video=3)[0]
        whole = chronolens.search(library, query, top_k=1, moments_per_video=3, decompose=False)[0]
        grounded = chronolens.ground(hit.video, query, library=library, top_k=3)
    assert Path(hit.video).name == "a.mkv" and whole.video == hit.video  # ranking: the whole text
    # decomposed: red [3, 6) then yellow [6, 10) -> their union, and the same windows as `ground`
    assert temporal_iou((hit.moments[0].start, hit.moments[0].end), (3.0, 10.0)) >= 0.8
    assert [m.as_list() for m in hit.moments] == [m.as_list() for m in grounded.windows]
    assert hit.moments != whole.moments  # --no-decompose grounds the mixed text as one query


def test_saliency_only_when_asked(library: Library) -> None:
    with library:
        plain = chronolens.search(library, "red", top_k=2)
        salient = chronolens.search(library, "red", top_k=2, saliency=True, moments_per_video=0)
    assert all(r.saliency is None and "saliency" not in r.to_json() for r in plain)
    top = salient[0]
    assert top.moments == [] and top.saliency is not None
    assert len(top.saliency) == n_clips(top.duration) == 5
    assert max(range(5), key=lambda i: top.saliency[i]) in (1, 2)  # red covers clips [2, 4) and [4, 6)
    assert top.to_json()["saliency"] == list(top.saliency)


def test_search_takes_a_library_path_and_validates(library: Library, tmp_path: Path) -> None:
    library.close()
    hits = chronolens.search(tmp_path / "lib", "green", top_k=1)
    assert Path(hits[0].video).name == "b.mkv"
    with pytest.raises(ValueError, match="top_k"):
        chronolens.search(tmp_path / "lib", "green", top_k=0)


def test_cli_search_flags(library: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    library.close()
    at = ["--library", str(tmp_path / "lib")]
    assert (
        main(["search", "a red scene then a yellow scene", *at, "--top-k", "1", "--json", "--saliency"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    (result,) = out["results"]
    assert len(result["saliency"]) == 5
    assert temporal_iou((result["moments"][0][0], result["moments"][0][1]), (3.0, 10.0)) >= 0.8
    assert (
        main(["search", "a red scene then a yellow scene", *at, "--top-k", "1", "--json", "--no-decompose"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["results"][0]["moments"] != result["moments"]
