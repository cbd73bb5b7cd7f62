"""The demo (the README's main job) end to end on a tiny synthetic set."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from chronolens.cli.main import main
from chronolens.demo.report import ReportItem, jpeg_bytes, render_report
from chronolens.demo.run import DemoConfig, run_demo
from chronolens.encoders.builtin import get_builtin, is_built
from chronolens.errors import ChronolensError
from chronolens.timebase import Moment, Span

needs_builtin = pytest.mark.skipif(
    not is_built(get_builtin("synth-clip")), reason="builtin:synth-clip weights not built"
)

TINY = DemoConfig(videos=3, queries=3, min_duration=10.0, max_duration=12.0)


@needs_builtin
def test_demo_finds_the_rendered_events_and_writes_a_report(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", config=TINY, progress=False)
    assert len(result.rows) == 3
    for row in result.rows:
        assert row.true_video is not None and row.truth
        assert row.results and all(
            0 <= m.start <= m.end <= r.duration for r in row.results for m in r.moments
        )
    html = result.report.read_text(encoding="utf-8")
    assert html.count("<section>") >= 1 and "<svg" in html and "data:image/jpeg;base64," in html
    # A rerun reuses the rendered data and the library (nothing is re-indexed).
    again = run_demo(tmp_path / "demo", config=TINY, progress=False)
    assert [r.query for r in again.rows] == [r.query for r in result.rows]


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
def test_demo_cli_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("chronolens.demo.run.DemoConfig", lambda **kw: DemoConfig(**{**TINY.__dict__, **kw}))
    assert main(["-q", "demo", "--out", str(tmp_path / "d"), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert Path(payload["report"]).exists() and len(payload["queries"]) == 3


def test_demo_on_a_folder_needs_a_query(tmp_path: Path) -> None:
    with pytest.raises(ChronolensError, match="--query"):
        run_demo(tmp_path, folder=tmp_path, queries=())


def test_report_shades_truth_and_outlines_found_moments() -> None:
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    image[:, :32] = (255, 0, 0)
    jpeg = jpeg_bytes(image, width=32)
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"  # a complete JPEG
    item = ReportItem(
        query="a <red> circle",
        video="v.mp4",
        duration=10.0,
        found=[Moment(2.0, 4.0, 0.9)],
        times=np.arange(10.0),
        similarity=np.linspace(0, 1, 10),
        truth=[Span(2.5, 4.5)],
        thumbnails=[(3.0, jpeg)],
    )
    html = render_report([item], title="t")
    assert "a &lt;red&gt; circle" in html  # escaped
    assert "true 2.5–4.5 s" in html and "found #1 2.0–4.0 s" in html
    assert html.count("<polyline") == 1
