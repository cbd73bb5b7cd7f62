"""The demo (the README's main job) end to end on a tiny synthetic set, and its report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from chronolens.cli.main import main
from chronolens.demo.queries import DemoQuery, render_world
from chronolens.demo.report import ReportHeader, ReportItem, ReportPanel, render_report
from chronolens.demo.run import DemoConfig, DemoRow, _report_items, _search_rows, run_demo
from chronolens.encoders.builtin import get_builtin, is_built
from chronolens.errors import ChronolensError
from chronolens.timebase import Moment, Span
from chronolens.video.images import encode_image

needs_builtin = pytest.mark.skipif(
    not is_built(get_builtin("synth-clip")), reason="builtin:synth-clip weights not built"
)

TINY = DemoConfig(videos=3, queries=2, min_duration=10.0, max_duration=12.0)
HEADER = ReportHeader(intro="a test", facts=[("library", "/x")])


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny demo run shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    run_demo(out, config=TINY, progress=False)
    return out


def _panel(name: str, rank: int | None, truth: list[Span] | None, is_true: bool = False) -> ReportPanel:
    return ReportPanel(
        video=name,
        duration=10.0,
        score=0.4,
        found=[Moment(2.0, 4.0, 0.012)],
        times=np.arange(10.0),
        similarity=np.linspace(0.1, 0.5, 10),
        rank=rank,
        truth=truth,
        is_true=is_true,
    )


@needs_builtin
def test_demo_scores_every_bench_query_and_shows_a_sample(tiny_demo: Path) -> None:
    result = run_demo(tiny_demo, config=TINY, progress=False)  # a rerun: nothing is re-rendered
    world = render_world(tiny_demo / "data", videos=3, seed=TINY.seed, progress=False)
    assert result.scores is not None
    # Every caption and every event query of the split is scored, as the bench scores them.
    assert result.scores.video_queries == len(world.video_queries) == 3
    assert result.scores.moment_queries == len(world.moment_queries) > 0
    assert (
        0 <= result.scores.video_first <= 3 and 0 <= result.scores.moment_hits <= result.scores.moment_queries
    )
    kinds = [row.kind for row in result.rows]
    assert kinds == ["video"] * 2 + ["moment"] * 2  # `queries` of each kind are shown
    for row in result.rows:
        assert row.true_video is not None
        assert row.results and all(
            0 <= m.start <= m.end <= r.duration for r in row.results for m in r.moments
        )
    for row in result.rows[2:]:
        assert row.truth and row.top_iou is not None and [r.video for r in row.results] == [row.true_video]
    lines = result.scores.lines()
    assert "R@1" in lines[0] and "R1@0.5" in lines[1] and "bench synth" in lines[2]
    assert "synthetic world" in result.intro and "trained on this world only" in result.intro


@needs_builtin
def test_report_ranks_name_their_own_video_and_header_is_readable(tiny_demo: Path) -> None:
    result = run_demo(tiny_demo, config=TINY, progress=False)
    html = result.report.read_text(encoding="utf-8")
    for row in result.rows[:2]:
        for i, hit in enumerate(row.results):
            # The badge next to each video is that video's own rank (it once showed the true
            # video's rank next to the top video's name).
            assert f"<span class=rank>#{i + 1}</span> <b>{Path(hit.video).name}</b>" in html
    assert "{'indexed'" not in html and "'n_frames'" not in html  # no dict dump of the ingest report
    assert str(result.library.resolve()) in html and "3 in the library" in html
    assert re.search(r"render [\d.]+ s · index [\d.]+ s · search [\d.]+ s", html)
    assert "<text class=tick" in html and ">0:00:00.0</text>" in html  # a time axis under each curve
    assert "cosine similarity" in html and "true span" in html
    assert "data:image/jpeg;base64," in html


@needs_builtin
def test_a_missed_true_video_is_shown_with_its_rank(tiny_demo: Path) -> None:
    from chronolens.library import Library
    from chronolens.video.sampling import FixedFps

    world = render_world(tiny_demo / "data", videos=3, seed=TINY.seed, progress=False)
    # video 0's caption with video 1 named as the truth: with one video listed, video 1 is missed.
    query = DemoQuery(text=world.video_queries[0].text, kind="video", video=world.video_queries[1].video)
    cfg = DemoConfig(videos=3, queries=1, top_k=1)
    with Library.open(tiny_demo / "library", model=cfg.model, sampling=FixedFps(fps=1.0)) as lib:
        rows, ranks = _search_rows(lib, [query], [0], cfg)
        items = _report_items(lib, rows)
    row = rows[0]
    assert row.true_video_rank is not None and row.true_video_rank > 1 and ranks == [row.true_video_rank - 1]
    assert row.true_result is not None and str(Path(row.true_result.video).resolve()) == query.video
    panels = items[0].panels
    assert len(panels) == 2 and panels[0].rank == 1 and not panels[0].is_true
    assert panels[1].is_true and panels[1].rank == row.true_video_rank and panels[1].similarity.size > 0


@needs_builtin
def test_demo_on_a_folder_shows_no_truth(tiny_demo: Path, tmp_path: Path) -> None:
    result = run_demo(
        tmp_path / "out",
        folder=tiny_demo / "data" / "videos",
        queries=["a red circle"],
        config=TINY,
        progress=False,
    )
    assert [row.kind for row in result.rows] == ["search"] and result.scores is None
    assert result.rows[0].true_video is None and len(result.rows[0].results) == 3
    html = result.report.read_text(encoding="utf-8")
    assert "true span" not in html and "✓ true video" not in html and "A synthetic world" not in html
    assert "knows only chronolens&#x27; synthetic world" in html  # the built-in model on real footage


@needs_builtin
def test_demo_rebuilds_its_library_after_a_weights_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    first = run_demo(tmp_path / "demo", config=TINY, progress=False)
    manifest = first.library / "manifest.json"
    record = json.loads(manifest.read_text())
    record["weights_sha256"] = "0" * 64  # as if indexed with the previous built-in weights
    manifest.write_text(json.dumps(record))
    videos = sorted(p.name for p in (tmp_path / "demo").rglob("*.mp4"))
    with caplog.at_level(logging.WARNING, logger="chronolens.demo"):
        again = run_demo(tmp_path / "demo", config=TINY, progress=False)
    assert any("rebuilding the demo library" in r.getMessage() for r in caplog.records)
    assert json.loads(manifest.read_text())["weights_sha256"] != "0" * 64  # indexed anew
    assert [r.true_video_rank for r in again.rows] == [r.true_video_rank for r in first.rows]
    assert sorted(p.name for p in (tmp_path / "demo").rglob("*.mp4")) == videos  # the videos stay


@needs_builtin
def test_demo_cli_prints_stages_on_a_non_tty_stderr(
    tiny_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chronolens.demo.run.DemoConfig", lambda **kw: DemoConfig(**{**TINY.__dict__, **kw}))
    out = tmp_path / "d"
    assert main(["demo", "--out", str(out), "--seed", "3"]) == 0  # capsys: stderr is not a terminal
    captured = capsys.readouterr()
    stages = captured.err.splitlines()
    assert "rendering 3 synthetic videos…" in stages and "writing the report…" in stages
    assert any(line.startswith("indexing 3 videos") for line in stages)
    assert "synthetic world" in captured.out and "which video:" in captured.out and "when:" in captured.out
    assert json.loads((out / "data" / "synth.json").read_text())["seed"] == 3  # --seed reaches the world
    # -q: no stage lines; --json: one object with the scores.
    assert main(["-q", "demo", "--out", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    payload = json.loads(captured.out)
    assert Path(payload["report"]).exists() and len(payload["queries"]) == 4
    assert payload["scores"]["video_queries"] == 3 and {q["kind"] for q in payload["queries"]} == {
        "video",
        "moment",
    }


def test_demo_on_a_folder_needs_a_query(tmp_path: Path) -> None:
    with pytest.raises(ChronolensError, match="--query"):
        run_demo(tmp_path, folder=tmp_path, queries=())


def test_report_shades_truth_and_outlines_found_moments() -> None:
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, :32] = (255, 0, 0)
    jpeg = encode_image(image, "jpg", width=32)
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"  # a complete JPEG
    panel = ReportPanel(
        video="v.mp4",
        duration=10.0,
        score=0.4,
        found=[Moment(2.0, 4.0, 0.9)],
        times=np.arange(10.0),
        similarity=np.linspace(0, 1, 10),
        rank=1,
        truth=[Span(2.5, 4.5)],
        is_true=True,
        thumbnails=[(3.0, jpeg)],
    )
    html = render_report([ReportItem(query="a <red> circle", panels=[panel])], title="t", header=HEADER)
    assert "a &lt;red&gt; circle" in html  # escaped
    assert "true 0:00:02.5–0:00:04.5" in html and "found #1 0:00:02.0–0:00:04.0" in html
    assert html.count("<polyline") == 1 and "true span" in html


def test_report_without_truth_has_no_truth_legend() -> None:
    item = ReportItem(query="q", panels=[_panel("a.mp4", 1, None), _panel("b.mp4", 2, None)])
    html = render_report([item], title="t", header=HEADER)
    assert "true span" not in html and "true:" not in html
    assert (
        "<span class=rank>#1</span> <b>a.mp4</b>" in html
        and "<span class=rank>#2</span> <b>b.mp4</b>" in html
    )


def test_report_puts_every_score_on_one_similarity_scale() -> None:
    # A moment is shown by the mean similarity of its frames (the curve's scale), not by the
    # grounder's internal score (0.012 here), and every curve shares one y range.
    low = ReportPanel(
        video="a.mp4",
        duration=10.0,
        score=0.2,
        found=[Moment(2.0, 4.0, 0.012)],
        times=np.arange(10.0),
        similarity=np.full(10, 0.2),
    )
    high = ReportPanel(
        video="b.mp4",
        duration=10.0,
        score=0.6,
        found=[],
        times=np.arange(10.0),
        similarity=np.full(10, 0.6),
    )
    html = render_report([ReportItem(query="q", panels=[low, high])], title="t", header=HEADER)
    assert "#1 0:00:02.0–0:00:04.0 (0.20)" in html and "0.012" not in html
    assert html.count(">0.20</text>") == 2 and html.count(">0.60</text>") == 2  # same axis on both
    assert "video score 0.20" in html and "cosine similarity" in html


def test_demo_row_json_names_its_kind() -> None:
    row = DemoRow(
        query="q", kind="moment", results=[], true_video="/v.mp4", truth=(Span(1.0, 2.0),), top_iou=0.5
    )
    data = row.to_json()
    assert data["kind"] == "moment" and data["truth"] == [[1.0, 2.0]] and data["true_result"] is None
