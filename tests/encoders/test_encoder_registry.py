"""Encoder names: schemes, builtin records, and the errors for names that do not resolve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.encoders.tiny import TINY_PROJECTION, save_tiny_clip

from chronolens.encoders import builtin, list_encoders, load_encoder, register_scheme
from chronolens.encoders import registry as registry_module
from chronolens.encoders.builtin import BUILTIN_MODELS, BuiltinModel, builtin_directory
from chronolens.encoders.registry import LoadOptions, list_schemes
from chronolens.errors import ChronolensError, MissingDependencyError, ModelNotFoundError


def test_list_encoders_has_every_scheme_and_the_builtin() -> None:
    entries = {entry.name: entry for entry in list_encoders()}
    assert {
        "hf:<hub id or local dir>",
        "builtin:<name>",
        "openclip:<arch>/<tag>",
        "builtin:synth-clip",
    } <= set(entries)
    assert all(entry.description and "\n" not in entry.description for entry in entries.values())
    assert entries["openclip:<arch>/<tag>"].available is False
    assert {"builtin", "hf", "openclip"} <= {spec.scheme for spec in list_schemes()}  # tests may add more


def test_unknown_scheme_lists_choices_and_closest() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        load_encoder("hff:openai/clip-vit-base-patch32")
    message = str(info.value)
    assert "unknown encoder scheme 'hff'" in message
    assert "builtin, hf, openclip" in message
    assert "did you mean 'hf:'" in message
    assert "\n" not in message


def test_unknown_scheme_without_close_match() -> None:
    with pytest.raises(ModelNotFoundError, match="valid schemes") as info:
        load_encoder("zzzz:thing")
    assert "did you mean" not in str(info.value)


def test_bare_name_suggests_hf() -> None:
    with pytest.raises(
        ModelNotFoundError, match=r"has no scheme; did you mean 'hf:openai/clip-vit-base-patch32'"
    ):
        load_encoder("openai/clip-vit-base-patch32")


def test_bare_path_suggests_hf(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=f"did you mean 'hf:{tmp_path}'"):
        load_encoder(str(tmp_path))


def test_bare_builtin_name_suggests_builtin() -> None:
    with pytest.raises(ModelNotFoundError, match="did you mean 'builtin:synth-clip'"):
        load_encoder("synth_clip")


def test_unknown_builtin_lists_choices_and_closest() -> None:
    with pytest.raises(ModelNotFoundError) as info:
        load_encoder("builtin:synth-clp")
    message = str(info.value)
    assert "unknown builtin encoder 'synth-clp'" in message
    assert "synth-clip" in message and "did you mean 'builtin:synth-clip'" in message


def test_empty_reference() -> None:
    with pytest.raises(ModelNotFoundError, match=r"missing its reference; use hf:<hub id or local dir>"):
        load_encoder("hf:")


def test_openclip_not_supported_explains_why() -> None:
    with pytest.raises(MissingDependencyError, match="torchvision") as info:
        load_encoder("openclip:ViT-B-32/laion2b_s34b_b79k")
    assert "hf:" in str(info.value)  # offers the alternative
    with pytest.raises(ModelNotFoundError, match="<arch>/<tag>"):
        load_encoder("openclip:ViT-B-32")


def test_errors_are_chronolens_errors() -> None:
    for name in ("nope", "hff:x", "builtin:nope", "openclip:a/b"):
        with pytest.raises(ChronolensError):
            load_encoder(name)


def test_load_options_validation() -> None:
    with pytest.raises(ValueError, match="precision"):
        LoadOptions(precision="int4")
    with pytest.raises(ValueError, match="batch_size"):
        LoadOptions(batch_size=0)


def test_register_custom_scheme(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "_SCHEMES", dict(registry_module._SCHEMES))
    calls: list[tuple[str, LoadOptions]] = []

    @register_scheme("fake", usage="fake:<anything>", description="a test scheme")
    def build_fake(ref: str, options: LoadOptions) -> object:
        calls.append((ref, options))
        return object()

    load_encoder("fake:abc:def", batch_size=4)
    assert calls == [("abc:def", LoadOptions(batch_size=4))]
    assert any(entry.name == "fake:<anything>" for entry in list_encoders())

    with pytest.raises(ValueError, match="already registered"):
        register_scheme("fake", usage="fake:x", description="again")(lambda ref, options: object())  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="scheme must be"):
        register_scheme("bad scheme", usage="x", description="x")


def test_builtin_records_are_well_formed() -> None:
    record = BUILTIN_MODELS["synth-clip"]
    assert record.directory == "synth-clip"
    assert record.licence and record.card and record.description
    assert "chronolens train builtin-clip" in record.build_command
    with pytest.raises(ValueError, match="name"):
        BuiltinModel(name="a:b", directory="x", description="d", licence="MIT", card="c", build_command="b")
    with pytest.raises(ValueError, match="directory"):
        BuiltinModel(name="a", directory="/abs", description="d", licence="MIT", card="c", build_command="b")


def test_builtin_directory_is_inside_the_package() -> None:
    root = builtin._weights_root()
    assert root.parts[-3:] == ("chronolens", "encoders", "weights")


def test_builtin_without_weights_says_how_to_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtin, "_weights_root", lambda: tmp_path)
    (tmp_path / "synth-clip").mkdir()  # an empty directory is still "not built"
    with pytest.raises(ModelNotFoundError) as info:
        load_encoder("builtin:synth-clip")
    record = BUILTIN_MODELS["synth-clip"]
    assert str(info.value) == f"builtin:synth-clip weights are not built yet; run `{record.build_command}`"
    entry = next(e for e in list_encoders() if e.name == "builtin:synth-clip")
    assert entry.available is False and "not built yet" in entry.description


def test_builtin_loads_through_the_hf_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtin, "_weights_root", lambda: tmp_path)
    save_tiny_clip(tmp_path / "synth-clip")
    assert builtin_directory("synth-clip") == tmp_path / "synth-clip"
    encoder = load_encoder("builtin:synth-clip", device="cpu", precision="fp32")
    assert encoder.name == "builtin:synth-clip"
    assert encoder.dim == TINY_PROJECTION
    direct = load_encoder(f"hf:{tmp_path / 'synth-clip'}", device="cpu", precision="fp32")
    assert encoder.weights_sha256 == direct.weights_sha256
    frames = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_allclose(encoder.encode_images(frames), direct.encode_images(frames), atol=1e-6)
    entry = next(e for e in list_encoders() if e.name == "builtin:synth-clip")
    assert entry.available is True
