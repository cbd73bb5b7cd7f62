"""`chronolens bench synth` end to end on a tiny rendered split, with the shipped builtin model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from chronolens.cli.main import main
from chronolens.data.synth import SynthConfig, SynthEvent, generate, plan_video
from chronolens.encoders.builtin import get_builtin, is_built
from chronolens.evaluation.baselines import BASELINES, BaselineConfig, baseline_prediction
from chronolens.evaluation.synth import (
    MIN_OVERLAP_SECONDS,
    SynthBenchConfig,
    composite_queries,
    format_report,
    run_synth_bench,
)
from chronolens.tasks.ground.decompose import decompose
from chronolens.timebase.grid import clip_means

pytestmark = pytest.mark.skipif(
    not is_built(get_builtin("synth-clip")), reason="builtin:synth-clip weights not built"
)


@pytest.fixture(scope="module")
def tiny_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth-bench")
    generate(
        root,
        SynthConfig(
            videos=4,
            seed=3,
            split="test",
            width=96,
            height=96,
            min_duration=10,
            max_duration=14,
            long_fraction=0,
        ),
        progress=False,
    )
    return root


def test_bench_scores_every_method_and_baseline(tiny_split: Path) -> None:
    report = run_synth_bench(tiny_split, config=SynthBenchConfig(split="test"), progress=False)
    assert report.n_videos == 4 and report.n_queries >= 4
    assert set(report.retrieval) == {"chronolens", "random"}
    for row in report.retrieval.values():
        assert 0 <= row["R1"] <= row["R5"] <= row["R10"] <= 100
    rows = report.moments["all"]
    assert set(rows) == {"chronolens", *BASELINES}
    for row in rows.values():
        for key in ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "mAP", "HIT@1"):
            assert row[key] is not None and 0 <= row[key] <= 100, (key, row)
        assert row["R1@0.3"] >= row["R1@0.5"] >= row["R1@0.7"]
    # The whole video never matches a 2-7 s event in a 10-14 s video at IoU 0.7.
    assert rows["whole-video"]["R1@0.7"] == 0
    text = format_report(report)
    assert "uniform-window" in text and "R@1" in text
    # Two-event queries from the ground truth, each method on the whole text and decomposed.
    assert report.n_composite == len(composite_queries(_videos(tiny_split))) > 0
    composite = report.moments["composite"]
    assert set(composite) == {"chronolens", "chronolens+decompose", *BASELINES}
    for row in composite.values():
        assert set(row) == {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU"}
        assert 100 >= row["R1@0.3"] >= row["R1@0.5"] >= row["R1@0.7"] >= 0  # type: ignore[operator]
    assert "composite queries" in text
    assert run_synth_bench(
        tiny_split, config=SynthBenchConfig(composite=False), progress=False
    ).moments.keys() == {"all", "single-event"}


def _videos(root: Path) -> list:  # type: ignore[type-arg]
    from chronolens.data.synth import load_synth

    return list(load_synth(root).split("test"))


def test_composite_queries_from_ground_truth() -> None:
    video = plan_video(SynthConfig(videos=1, seed=0, split="test"), "test", 0)
    events = (
        SynthEvent(kind="appear", start=1.0, end=4.0, query="a red circle appears"),
        SynthEvent(kind="grow", start=3.0, end=6.0, query="a blue star grows"),  # overlaps 1 s
        SynthEvent(kind="spin", start=8.0, end=10.0, query="a green ring spins"),
        SynthEvent(kind="shrink", start=9.5, end=12.0, query="a big cross shrinks"),  # overlaps 0.5 s
    )
    queries = composite_queries([replace(video, events=events)])
    got = [(q.query, q.relation, q.window) for q in queries]
    assert got == [
        ("a red circle appears then a green ring spins", "sequential", (1.0, 10.0)),
        ("a green ring spins after a blue star grows", "sequential", (3.0, 10.0)),
        ("a red circle appears while a blue star grows", "simultaneous", (3.0, 4.0)),
    ]
    assert MIN_OVERLAP_SECONDS > 0.5
    assert len({q.qid for q in queries}) == len(queries)
    # The rule decomposer recovers both events, in time order, with the right relation.
    for q in queries:
        d = decompose(q.query)
        assert d.relation == q.relation and len(d.parts) == 2
        assert {*d.parts} <= {e.query for e in events}


def test_bench_cli_json_is_one_object(tiny_split: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "bench", "synth", "--data", str(tiny_split), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["split"] == "test" and payload["n_videos"] == 4
    assert {"grounder", "tfvtg-paper", "simple", "random"} <= set(payload["moments"]["all"])
    assert {"grounder", "grounder+decompose", "simple"} <= set(payload["moments"]["composite"])
    assert payload["n_composite"] > 0


def test_bench_saliency_means_samples_per_clip_and_fills_gaps() -> None:
    sims = np.array([1.0, 3.0, 5.0, 7.0])
    ts = np.array([0.0, 1.0, 2.5, 6.5])  # clip 0: 1, 3; clip 1: 5; clip 2: none; clip 3: 7
    assert clip_means(sims, ts, 8.0, 2.0).tolist() == [
        2.0,
        5.0,
        7.0,
        7.0,
    ]  # clip 2 (centre 5 s): t=6.5 is nearest


def test_baselines_are_valid_windows() -> None:
    rng = np.random.default_rng(0)
    for name in BASELINES:
        windows, saliency = baseline_prediction(name, 31.0, rng, BaselineConfig(n_windows=7))
        assert len(saliency) == 16
        scores = [w[2] for w in windows]
        assert scores == sorted(scores, reverse=True)
        assert all(0 <= s < e <= 31.0 for s, e, _ in windows)
    with pytest.raises(ValueError, match="unknown baseline"):
        baseline_prediction("oracle", 10.0, rng)
