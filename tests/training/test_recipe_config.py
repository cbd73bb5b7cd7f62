"""The recipe registry and the one recipe config loader, the same way for every recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from chronolens.errors import ChronolensError, FormatError
from chronolens.training.recipes import get_recipe, list_recipes

TIMECHAT_TINY = Path(__file__).resolve().parents[2] / "configs" / "timechat" / "tiny-cpu.toml"
RECIPES = ["builtin-clip", "timechat", "moment-detr"]


def test_registry_lists_every_recipe_with_its_defaults() -> None:
    from chronolens.training.recipes.moment_detr.recipe import MomentDETRRecipeConfig
    from chronolens.training.recipes.synth_clip.recipe import BuiltinClipConfig
    from chronolens.training.recipes.timechat.settings import TimeChatRecipe

    assert [r.name for r in list_recipes()] == RECIPES
    assert all(r.help and "\n" not in r.help for r in list_recipes())
    assert get_recipe("builtin-clip").default_config() == BuiltinClipConfig()
    assert get_recipe("timechat").default_config() == TimeChatRecipe()
    # no file and no overrides: the defaults
    assert get_recipe("builtin-clip").load_config(None, []) == BuiltinClipConfig()
    assert get_recipe("timechat").load_config(None, []) == TimeChatRecipe()
    assert get_recipe("moment-detr").load_config(None, []) == MomentDETRRecipeConfig()


def test_unknown_recipe_suggests_the_closest() -> None:
    with pytest.raises(ChronolensError, match=r"unknown recipe 'timechta' \(did you mean 'timechat'\?\)"):
        get_recipe("timechta")


def test_builtin_clip_file_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "clip.toml"
    path.write_text("[model]\nimage_size = 32\n\n[train]\nsteps = 7\nlr = 1e-4\nmax_videos = 3\n")
    config = get_recipe("builtin-clip").load_config(path, ["train.steps=9", "train.lr=1", "train.steps=11"])
    assert config.model.image_size == 32 and config.model.patch_size == 8  # other model keys: defaults
    assert config.steps == 11  # overrides come after the file; the last one wins
    assert config.lr == 1.0 and isinstance(config.lr, float)  # an int is accepted for a float
    assert config.max_videos == 3 and config.batch_size == 64


def test_timechat_file_then_overrides() -> None:
    config = get_recipe("timechat").load_config(TIMECHAT_TINY, ["train.steps=5", "model.sliding=false"])
    assert config.train.steps == 5 and config.model.sliding is False
    assert config.model.llm == "tiny"  # from the file


@pytest.mark.parametrize("name", RECIPES)
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=3", r"unknown setting train.stepz \(did you mean 'steps'\?\)"),
        ("trian.steps=3", r"unknown section 'trian' \(did you mean 'train'\?\)"),
        ("train.steps=three", r"train.steps: expected an integer, got 'three'"),
        ("train.steps=0", r"steps must be >= 1"),
        ("train.seed", r"expected section.key=value"),
    ],
)
def test_bad_overrides_are_the_same_error_in_both_recipes(name: str, override: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        get_recipe(name).load_config(None, [override])


@pytest.mark.parametrize("name", RECIPES)
def test_malformed_or_unknown_keys_in_the_file(name: str, tmp_path: Path) -> None:
    recipe = get_recipe(name)
    broken = tmp_path / "broken.toml"
    broken.write_text("[train\nsteps = 3\n")
    with pytest.raises(FormatError, match=r"broken.toml: not a readable TOML recipe"):
        recipe.load_config(broken, [])
    with pytest.raises(FormatError, match=r"missing.toml: not a readable TOML recipe"):
        recipe.load_config(tmp_path / "missing.toml", [])
    typo = tmp_path / "typo.toml"
    typo.write_text("[train]\nstep = 3\n")
    with pytest.raises(FormatError, match=r"typo.toml: unknown setting train.step \(did you mean 'steps'"):
        recipe.load_config(typo, [])
    scalar = tmp_path / "scalar.toml"
    scalar.write_text("train = 3\n")
    with pytest.raises(FormatError, match=r"train must be a table"):
        recipe.load_config(scalar, [])


def test_builtin_clip_sections_hold_only_settings() -> None:
    recipe = get_recipe("builtin-clip")
    # the architecture is its own section and progress a run-time switch (--no-progress)
    for key in ("train.model={}", "train.progress=false"):
        with pytest.raises(FormatError, match="unknown setting"):
            recipe.load_config(None, [key])
    with pytest.raises(FormatError, match=r"unknown setting model.image_sise \(did you mean 'image_size'"):
        recipe.load_config(None, ["model.image_sise=32"])


@pytest.mark.parametrize("name", RECIPES)
@pytest.mark.parametrize("bad", ["override", "file"])
def test_cli_exits_1_on_a_bad_config_for_every_recipe(
    name: str, bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chronolens.cli.main import main

    out = tmp_path / "run"
    config = TIMECHAT_TINY if name == "timechat" else None
    extra = ["train.stepz=3"]
    if bad == "file":
        config, extra = tmp_path / "broken.toml", []
        config.write_text("[train]\nsteps = = 3\n")
    args = ["train", name, "--out", str(out), "--no-progress", *extra]
    if config is not None:
        args += ["--config", str(config)]
    if name in ("builtin-clip", "moment-detr"):
        args += ["--data", str(tmp_path)]
    assert main(args) == 1
    err = capsys.readouterr().err
    expected = "did you mean 'steps'?" if bad == "override" else "not a readable TOML recipe"
    assert err.startswith("chronolens: error: ") and expected in err
    assert not out.exists()  # refused before anything ran
