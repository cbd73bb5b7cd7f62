"""``chronolens index --ray`` without a cluster: the missing extra and the option's misuses."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chronolens.cli.main import main
from chronolens.errors import MissingDependencyError
from chronolens.ingest.ray_pipeline import RayConfig, import_ray


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'chronolens\[ray\]'"):
        import_ray()


def test_cli_missing_ray_is_one_line_and_creates_no_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    (tmp_path / "videos").mkdir()
    code = main(["index", str(tmp_path / "videos"), "--library", str(tmp_path / "lib"), "--ray"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "pip install 'chronolens[ray]'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "lib").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--features"], "--features"), (["--rebuild"], "--rebuild")],
)
def test_cli_ray_refuses_features_and_rebuild(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    (tmp_path / "videos").mkdir()
    code = main(["index", str(tmp_path / "videos"), "--library", str(tmp_path / "lib"), *extra, "--ray"])
    assert code == 2 and message in capsys.readouterr().err


def test_cli_ray_that_swallowed_the_path_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "videos").mkdir()
    code = main(["index", "--library", str(tmp_path / "lib"), "--ray", str(tmp_path / "videos")])
    assert code == 2
    assert "put the PATHs before --ray" in capsys.readouterr().err


def test_ray_config_validates_fields() -> None:
    with pytest.raises(ValueError, match="embed_actors"):
        RayConfig(embed_actors=0)
    with pytest.raises(ValueError, match="decode_tasks"):
        RayConfig(decode_tasks=0)
