"""Image-text encoders behind one protocol, resolved by name through a registry."""

from chronolens.encoders.base import Encoder

__all__ = ["Encoder"]
