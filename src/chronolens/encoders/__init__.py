"""Image-text encoders behind one protocol, resolved by name through a registry."""

from chronolens.encoders import schemes as _schemes  # noqa: F401  (registers hf:, builtin:, openclip:)
from chronolens.encoders.base import Encoder
from chronolens.encoders.registry import (
    DEFAULT_ENCODER,
    EncoderEntry,
    list_encoders,
    load_encoder,
    register_scheme,
)

__all__ = ["DEFAULT_ENCODER", "Encoder", "EncoderEntry", "list_encoders", "load_encoder", "register_scheme"]
