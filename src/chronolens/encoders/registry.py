"""Encoder names -> encoders: ``<scheme>:<reference>``, one builder per scheme.

Schemes register explicitly (``@register_scheme("hf", ...)`` on a builder function); the builders
live in ``chronolens.encoders.schemes``, which ``chronolens.encoders`` imports, so the table is full
whenever this module is used through the package. ``load_encoder`` is the one entry point; unknown
names fail with the valid choices, the closest match and the remedy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from chronolens.encoders.base import Encoder
from chronolens.errors import ModelNotFoundError, closest

__all__ = [
    "DEFAULT_ENCODER",
    "EncoderEntry",
    "LoadOptions",
    "SchemeSpec",
    "encoder_slug",
    "list_encoders",
    "list_schemes",
    "load_encoder",
    "register_scheme",
]

_SCHEME_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_+-]*):(.*)$")
_EXAMPLE_NAME = "hf:openai/clip-vit-base-patch32"  # shown in remedies


DEFAULT_ENCODER = "builtin:synth-clip"  # the encoder used when none is named: ships inside chronolens


@dataclass(frozen=True, kw_only=True)
class LoadOptions:
    """How to load an encoder, whatever its scheme."""

    device: str | None = None  # torch device ("cpu", "cuda", "cuda:1"); None: CUDA if available else CPU
    precision: str = "auto"  # "auto" (bf16 autocast where native), "fp32" or "bf16"
    batch_size: int = 32  # frames / texts per forward pass
    compile: bool = False  # torch.compile the towers (slow first call)

    def __post_init__(self) -> None:
        from chronolens.encoders.precision import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size}")


@dataclass(frozen=True, kw_only=True)
class EncoderEntry:
    """One line of ``chronolens models``: a loadable name or name pattern."""

    name: str  # e.g. "hf:<hub id or local dir>" or "builtin:synth-clip"
    description: str  # one line
    available: bool = True  # False when it cannot load here (weights not built, dependency missing)


Builder = Callable[[str, LoadOptions], Encoder]
Lister = Callable[[], list[EncoderEntry]]


@dataclass(frozen=True, kw_only=True)
class SchemeSpec:
    """A registered scheme: how names under it load and how they are listed."""

    scheme: str  # the part before the colon
    usage: str  # name pattern, e.g. "hf:<hub id or local dir>"
    description: str  # one line
    builder: Builder = field(repr=False)  # (reference after the colon, options) -> Encoder
    lister: Lister | None = field(default=None, repr=False)  # concrete names under the scheme, if any
    available: bool = True  # False when the scheme cannot work in this environment


_SCHEMES: dict[str, SchemeSpec] = {}


def register_scheme(
    scheme: str,
    *,
    usage: str,
    description: str,
    lister: Lister | None = None,
    available: bool = True,
) -> Callable[[Builder], Builder]:
    """Register ``builder`` for names ``<scheme>:<reference>``.

    Args:
        scheme: the prefix before the colon; letters, digits, ``_+-``.
        usage: the name pattern shown by ``list_encoders``.
        description: one line shown by ``list_encoders``.
        lister: returns the concrete names under this scheme (e.g. builtin models).
        available: whether the scheme can load anything in this environment.
    """
    if not _SCHEME_PATTERN.match(f"{scheme}:"):
        raise ValueError(f"scheme must be letters, digits and _+- starting with a letter, got {scheme!r}")

    def decorate(builder: Builder) -> Builder:
        if scheme in _SCHEMES and _SCHEMES[scheme].builder is not builder:
            raise ValueError(f"encoder scheme {scheme!r} is already registered")
        _SCHEMES[scheme] = SchemeSpec(
            scheme=scheme,
            usage=usage,
            description=description,
            builder=builder,
            lister=lister,
            available=available,
        )
        return builder

    return decorate


def list_schemes() -> list[SchemeSpec]:
    """Registered schemes, sorted by name."""
    return [_SCHEMES[s] for s in sorted(_SCHEMES)]


def list_encoders() -> list[EncoderEntry]:
    """Every scheme's name pattern, followed by the concrete names some schemes know (builtins)."""
    entries: list[EncoderEntry] = []
    for spec in list_schemes():
        entries.append(EncoderEntry(name=spec.usage, description=spec.description, available=spec.available))
        if spec.lister is not None:
            entries.extend(spec.lister())
    return entries


def _unknown_scheme(name: str, scheme: str) -> ModelNotFoundError:
    valid = sorted(_SCHEMES)
    hint = closest(scheme, valid)
    did_you_mean = f"; did you mean '{hint}:'?" if hint else ""
    return ModelNotFoundError(
        f"unknown encoder scheme '{scheme}' in '{name}'; valid schemes: {', '.join(valid)}{did_you_mean} "
        f"(see `chronolens models`, e.g. {_EXAMPLE_NAME})"
    )


def _concrete_names() -> list[str]:
    """Names the schemes' listers know (e.g. ``builtin:synth-clip``), without the patterns."""
    return [entry.name for spec in list_schemes() if spec.lister is not None for entry in spec.lister()]


def _bare_name(name: str) -> ModelNotFoundError:
    known = _concrete_names()
    hint = closest(name, [n.partition(":")[2] for n in known])
    hint = next((n for n in known if n.partition(":")[2] == hint), None) if hint else None
    suggestion = f"'{hint}'" if hint else f"'hf:{name}' (a Hugging Face id or local dir)"
    return ModelNotFoundError(
        f"encoder name '{name}' has no scheme; did you mean {suggestion}? "
        f"Names look like hf:<hub id or local dir>, builtin:<name> or openclip:<arch>/<tag> "
        f"(see `chronolens models`)"
    )


def load_encoder(
    name: str,
    *,
    device: str | None = None,
    precision: str = "auto",
    batch_size: int = 32,
    compile: bool = False,
) -> Encoder:
    """Load the encoder a name refers to.

    Args:
        name: ``hf:<hub id or local dir>``, ``builtin:<name>`` or ``openclip:<arch>/<tag>``.
        device: torch device; None picks CUDA when available, else CPU.
        precision: ``"auto"`` (bf16 autocast where the hardware has native bf16), ``"fp32"``,
            ``"bf16"``.
        batch_size: frames / texts per forward pass.
        compile: wrap the towers in ``torch.compile``.

    Returns:
        An ``Encoder`` whose ``name`` is ``name``.

    Raises:
        ModelNotFoundError: unknown scheme, bare name, unknown builtin, or nothing loadable.
        ValueError: invalid ``precision`` or ``batch_size``.
    """
    options = LoadOptions(device=device, precision=precision, batch_size=batch_size, compile=compile)
    match = _SCHEME_PATTERN.match(name.strip())
    if match is None:
        raise _bare_name(name)
    scheme, ref = match.group(1), match.group(2)
    spec = _SCHEMES.get(scheme)
    if spec is None:
        raise _unknown_scheme(name, scheme)
    if not ref:
        raise ModelNotFoundError(f"encoder name '{name}' is missing its reference; use {spec.usage}")
    return spec.builder(ref, options)


def encoder_slug(name: str) -> str:
    """A file-system-safe form of an encoder name, for per-encoder directories (``hf:a/b`` -> ``hf-a-b``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "encoder"
