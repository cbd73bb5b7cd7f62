"""The moment-detr recipe end to end on a tiny rendered synthetic dataset with a tiny head."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.library.colorhist import ColorHistEncoder  # registers the testcolor: encoder scheme

from chronolens.errors import FormatError
from chronolens.models.moment_detr.checkpoint import load_head
from chronolens.models.moment_detr.config import MomentDETRConfig
from chronolens.tasks.ground.moment_detr import MomentDETRPredictor
from chronolens.tasks.ground.nms import temporal_nms
from chronolens.training.recipes.moment_detr.data import Example, crop
from chronolens.training.recipes.moment_detr.recipe import (
    MomentDETRRecipeConfig,
    load_config,
    run_moment_detr,
)

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "moment_detr"


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chronolens.data.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth")
    config = SynthConfig(
        videos=6,
        seed=5,
        width=48,
        height=48,
        min_duration=6.0,
        max_duration=8.0,
        long_fraction=0.0,
        split_fractions=(0.5, 0.5, 0.0, 0.0),
    )
    generate(out, config, progress=False)
    return out


def _tiny(arch: str, **kw: object) -> MomentDETRRecipeConfig:
    base: dict[str, object] = dict(
        model=MomentDETRConfig.tiny(max_clips=3),  # 6-8 s videos are 3-4 clips: some are cropped
        arch=arch,
        encoder="testcolor:x",
        steps=3,
        batch_size=4,
        warmup_steps=1,
        checkpoint_every=2,
        threads=1,
        progress=False,
    )
    base.update(kw)
    return MomentDETRRecipeConfig(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", ["moment-detr", "qd-detr"])
def test_recipe_trains_exports_scores_and_resumes(synth_dir: Path, tmp_path: Path, arch: str) -> None:
    result = run_moment_detr(
        synth_dir, tmp_path / "run", _tiny(arch), command="chronolens train moment-detr test"
    )
    assert result.train.steps == 3 and len(result.train.losses) == 3
    assert all(np.isfinite(result.train.losses))
    assert "MR-full-R1@0.5" in result.metrics and "MR-full-mAP" in result.metrics
    loaded = load_head(result.model_dir)
    assert loaded.meta["arch"] == arch and loaded.extractor.encoder == "testcolor:x"
    assert loaded.meta["train"]["command"] == "chronolens train moment-detr test"
    assert loaded.head.config.video_dim == ColorHistEncoder().dim
    predictor = MomentDETRPredictor.from_checkpoint(result.model_dir, suppress=temporal_nms)
    out = predictor.predict(np.zeros((20, ColorHistEncoder().dim), np.float32), "a red square")
    assert len(out["pred_saliency_scores"]) == 20

    again = run_moment_detr(synth_dir, tmp_path / "run", _tiny(arch), resume=True)
    assert again.train.start_step == 3 and again.train.losses == []
    reloaded = load_head(again.model_dir).head
    assert all(
        torch.equal(a, b) for a, b in zip(loaded.head.parameters(), reloaded.parameters(), strict=True)
    )


def test_crop_keeps_a_moment_inside_the_window() -> None:
    from chronolens.data.formats.qvhighlights import QVHRecord

    record = QVHRecord(
        qid=0,
        query="q",
        vid="v",
        duration=100.0,
        relevant_windows=((60.0, 64.0),),
        relevant_clip_ids=(30, 31),
        saliency_scores=((4, 4, 4), (2, 2, 2)),
    )
    ex = Example(
        record=record,
        clips=np.arange(50, dtype=np.float32)[:, None],
        tokens=np.zeros((1, 1), np.float32),
        windows=np.array([[60.0, 64.0]]),
        levels=np.zeros(50),
    )
    rng = np.random.default_rng(0)
    for _ in range(20):
        clips, moments, levels = crop(ex, 10, rng)
        lo = int(clips[0, 0])
        assert clips.shape == (10, 1) and levels.shape == (10,) and 21 <= lo <= 31
        assert moments.shape == (1, 2) and moments[0, 1] > moments[0, 0]
        assert moments[0, 0] == pytest.approx(max(0.0, 60.0 - 2 * lo))


def test_shipped_configs_load_and_typos_fail() -> None:
    tiny = load_config(CONFIGS / "tiny-cpu.toml", ["train.arch=qd-detr"])
    assert tiny.arch == "qd-detr" and tiny.loss.rank_contrastive
    paper = load_config(CONFIGS / "paper-gpu.toml")
    assert paper.model == MomentDETRConfig()
    with pytest.raises(FormatError, match="arch"):
        load_config(None, ["train.arch=cg-detr"])
    with pytest.raises(FormatError, match="hidden_dim"):
        load_config(None, ["model.hiden_dim=3"])


def test_the_registry_entry_point_needs_data(tmp_path: Path) -> None:
    from chronolens.errors import ChronolensError
    from chronolens.training.recipes.moment_detr.recipe import run_recipe

    with pytest.raises(ChronolensError, match="--data"):
        run_recipe(_tiny("moment-detr"), tmp_path / "run")
    with pytest.raises(ValueError, match="batch_size"):
        _tiny("qd-detr", batch_size=1)


def test_cli_train_moment_detr(synth_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from chronolens.cli.main import main

    out = tmp_path / "run"
    args = ["train", "moment-detr", "--data", str(synth_dir), "--config", str(CONFIGS / "tiny-cpu.toml")]
    overrides = ["train.encoder=testcolor:x", "model.hidden_dim=16", "model.ffn_dim=32", "model.heads=2",
                 "model.max_clips=3", "train.warmup_steps=1"]  # fmt: skip
    code = main([*args, *overrides, "--arch", "qd-detr", "--steps", "2", "--batch-size", "4", "--seed", "3",
                 "--out", str(out), "--no-progress", "--json"])  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert Path(report["model_dir"]) == out / "model" and "MR-full-mAP" in report["metrics"]
    assert load_head(out / "model").extractor.encoder == "testcolor:x"
    predictor = MomentDETRPredictor.from_checkpoint(out / "model")  # the one NMS by default
    assert predictor.suppress is temporal_nms
