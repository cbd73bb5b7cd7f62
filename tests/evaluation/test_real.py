"""bench qvhighlights / charades-sta on tiny synthetic videos written in those native formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chronolens.data.formats.all import annotation_files
from chronolens.data.synth import SynthConfig, generate
from chronolens.library import Library

pytestmark = [
    pytest.mark.slow,  # renders videos and indexes them (~20 s on 2 cores)
    pytest.mark.skipif(
        not hasattr(Library, "frame_embeddings"), reason="Library.frame_embeddings is not merged yet"
    ),
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from tests.encoders.tiny import save_tiny_clip

    root = tmp_path_factory.mktemp("synth")
    generate(
        root / "data",
        SynthConfig(videos=2, seed=1, split="test", width=32, height=32, min_duration=8, max_duration=8),
        progress=False,
    )
    model = save_tiny_clip(root / "tiny-clip")
    return root / "data", model


def test_qvhighlights_bench(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    from chronolens.evaluation.real import run_qvhighlights_bench

    data, model = dataset
    files = annotation_files(data, "test")
    out = tmp_path / "preds.jsonl"
    metrics = run_qvhighlights_bench(
        data / "videos", files["qvhighlights"], model=f"hf:{model}", library_dir=tmp_path / "lib", out=out
    )
    assert "MR-full-mAP" in metrics["brief"] and "HL-min-VeryGood-mAP" in metrics["brief"]
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    gt = [json.loads(x) for x in files["qvhighlights"].read_text().splitlines()]
    assert [p["qid"] for p in lines] == [g["qid"] for g in gt]
    for p, g in zip(lines, gt, strict=True):
        assert all(0 <= s <= e <= g["duration"] for s, e, _ in p["pred_relevant_windows"])
        assert len(p["pred_saliency_scores"]) >= int(g["duration"] / 2)


def test_charades_bench(dataset: tuple[Path, Path], tmp_path: Path) -> None:
    from chronolens.evaluation.real import run_charades_bench

    data, model = dataset
    files = annotation_files(data, "test")
    metrics = run_charades_bench(
        data / "videos", files["charades_sta"], model=f"hf:{model}", library_dir=tmp_path / "lib"
    )
    assert set(metrics) == {"R1@0.3", "R1@0.5", "R1@0.7", "mIoU", "n_queries"}
    assert metrics["R1@0.3"] >= metrics["R1@0.5"] >= metrics["R1@0.7"]
    assert 0 <= metrics["mIoU"] <= 100
    assert (files["charades_sta"].parent / "charades_sta_test_preds.jsonl").exists()
