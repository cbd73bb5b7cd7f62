"""Speech model names -> backends: ``whisper:<faster-whisper dir or hub id>``, ``builtin:<name>``.

The same shape as the encoder registry: a name is ``<scheme>:<reference>``, each scheme has one
builder function registered explicitly below, ``list_speech()`` lists the patterns and the
concrete builtin names, and an unknown name fails with one line naming the valid choices, the
closest one and the remedy. Nothing heavy is imported until a builder runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from chronolens.errors import ModelNotFoundError, closest
from chronolens.speech.base import SpeechBackend

__all__ = [
    "DEFAULT_SPEECH_MODEL",
    "SpeechEntry",
    "SpeechOptions",
    "list_speech",
    "load_speech",
    "register_speech_scheme",
]

DEFAULT_SPEECH_MODEL = "builtin:whisper-base"  # the model used when none is named (PyPI data packages)

_SCHEME_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_+-]*):(.*)$")


@dataclass(frozen=True, kw_only=True)
class SpeechOptions:
    """How to run a speech model, whatever its scheme."""

    device: str = "auto"  # "cpu", "cuda" or "auto" (CUDA when CTranslate2 sees a GPU)
    compute_type: str = "default"  # CTranslate2 type: "default" is int8 on CPU, float16 on CUDA
    threads: int = 0  # CPU threads; 0: the cores this process may use
    beam_size: int = 5  # beam search width (faster-whisper's default)
    vad_filter: bool = False  # Silero VAD before decoding: off, it drops quiet or noisy speech
    word_timestamps: bool = True  # per-word times from cross-attention alignment
    max_new_tokens: int | None = None  # tokens decoded per 30 s window; None: Whisper's own limit
    # Decoding temperatures tried in turn when a window's output looks wrong (Whisper's fallback);
    # (0.0,) alone is fully deterministic, the later ones sample.
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
    # Segments whose audio is quieter than this RMS (full scale 1.0; 1e-3 is -60 dBFS) are dropped:
    # Whisper hallucinates short phrases ("You") over digital silence. 0.0 keeps everything.
    silence_rms: float = 1e-3

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.beam_size <= 0:
            raise ValueError(f"beam_size must be positive, got {self.beam_size}")
        if self.silence_rms < 0:
            raise ValueError(f"silence_rms must be >= 0, got {self.silence_rms}")
        if not self.temperatures or any(t < 0 for t in self.temperatures):
            raise ValueError(
                f"temperatures must be a non-empty tuple of values >= 0, got {self.temperatures}"
            )
        if self.max_new_tokens is not None and self.max_new_tokens <= 0:
            raise ValueError(f"max_new_tokens must be positive or None, got {self.max_new_tokens}")


@dataclass(frozen=True, kw_only=True)
class SpeechEntry:
    """One line of the speech-model listing: a loadable name or name pattern."""

    name: str  # "whisper:<faster-whisper dir or hub id>" or "builtin:whisper-base"
    description: str  # one line
    available: bool = True  # False when it cannot load here (dependency or data package missing)


Builder = Callable[[str, SpeechOptions], SpeechBackend]
Lister = Callable[[], list[SpeechEntry]]


@dataclass(frozen=True, kw_only=True)
class _Scheme:
    usage: str
    description: str
    builder: Builder = field(repr=False)
    lister: Lister | None = field(default=None, repr=False)


_SCHEMES: dict[str, _Scheme] = {}


def register_speech_scheme(
    scheme: str, *, usage: str, description: str, lister: Lister | None = None
) -> Callable[[Builder], Builder]:
    """Register ``builder`` for names ``<scheme>:<reference>``."""
    if not _SCHEME_PATTERN.match(f"{scheme}:"):
        raise ValueError(f"scheme must be letters, digits and _+- starting with a letter, got {scheme!r}")

    def decorate(builder: Builder) -> Builder:
        if scheme in _SCHEMES and _SCHEMES[scheme].builder is not builder:
            raise ValueError(f"speech scheme {scheme!r} is already registered")
        _SCHEMES[scheme] = _Scheme(usage=usage, description=description, builder=builder, lister=lister)
        return builder

    return decorate


def list_speech() -> list[SpeechEntry]:
    """Every scheme's name pattern, then the concrete names some schemes know (builtins)."""
    entries: list[SpeechEntry] = []
    for scheme in sorted(_SCHEMES):
        spec = _SCHEMES[scheme]
        entries.append(SpeechEntry(name=spec.usage, description=spec.description))
        if spec.lister is not None:
            entries.extend(spec.lister())
    return entries


def _concrete() -> list[str]:
    return [e.name for s in _SCHEMES.values() if s.lister is not None for e in s.lister()]


def _unknown(name: str) -> ModelNotFoundError:
    """The one-line error for a name that resolves to no scheme, with the closest valid name."""
    match = _SCHEME_PATTERN.match(name.strip())
    known = _concrete()
    patterns = ", ".join(_SCHEMES[s].usage for s in sorted(_SCHEMES))
    if match is None:  # a bare name: compare with the builtins' short names ("whisper-base")
        short = closest(name, [n.partition(":")[2] for n in known])
        hint = next((n for n in known if n.partition(":")[2] == short), None)
        suggestion = f"did you mean '{hint}'? " if hint else ""
        return ModelNotFoundError(
            f"speech model name '{name}' has no scheme; {suggestion}names look like {patterns}"
        )
    scheme = match.group(1)
    hint = closest(scheme, list(_SCHEMES))
    suggestion = f"; did you mean '{hint}:'?" if hint else ""
    return ModelNotFoundError(
        f"unknown speech scheme '{scheme}' in '{name}'; valid schemes: {', '.join(sorted(_SCHEMES))}"
        f"{suggestion} (names look like {patterns})"
    )


def load_speech(
    name: str = DEFAULT_SPEECH_MODEL,
    *,
    device: str = "auto",
    compute_type: str = "default",
    threads: int = 0,
    beam_size: int = 5,
    vad_filter: bool = False,
) -> SpeechBackend:
    """Load the speech backend a name refers to.

    Args:
        name: ``builtin:whisper-base`` or ``whisper:<faster-whisper model dir or hub id>``.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        compute_type: CTranslate2 compute type (``"int8"``, ``"float16"``, ...); ``"default"``
            picks int8 on CPU and float16 on CUDA.
        threads: CPU threads (0: the cores this process may use).
        beam_size: beam search width.
        vad_filter: run Silero VAD first (off by default: see docs/speech.md).

    Returns:
        A :class:`SpeechBackend` whose ``name`` is ``name`` and ``fingerprint`` the weights' sha256.

    Raises:
        ModelNotFoundError: unknown scheme or builtin, or a model that does not load.
        MissingDependencyError: faster-whisper or the model data packages are not installed.
    """
    options = SpeechOptions(
        device=device, compute_type=compute_type, threads=threads, beam_size=beam_size, vad_filter=vad_filter
    )
    match = _SCHEME_PATTERN.match(name.strip())
    spec = _SCHEMES.get(match.group(1)) if match else None
    if match is None or spec is None:
        raise _unknown(name)
    ref = match.group(2).strip()
    if not ref:
        raise ModelNotFoundError(f"speech model name '{name}' is missing its reference; use {spec.usage}")
    return spec.builder(ref, options)
