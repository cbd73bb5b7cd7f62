"""One builder for every token compressor: its module from its config."""

from __future__ import annotations

from torch import nn

from chronolens.models.layers.difffp import DiffFP, DiffFPConfig
from chronolens.models.layers.moviechat import MovieChatConfig, MovieChatMemory
from chronolens.models.layers.perceiver import PerceiverConfig, PerceiverResampler
from chronolens.models.layers.st_pool import STPool, STPoolConfig

__all__ = ["CompressorConfig", "build_compressor"]

CompressorConfig = PerceiverConfig | STPoolConfig | DiffFPConfig | MovieChatConfig


def build_compressor(config: CompressorConfig) -> nn.Module:
    """The compressor module a config describes (random init where it has weights).

    Raises:
        TypeError: ``config`` is not one of the compressor configs.
    """
    if isinstance(config, PerceiverConfig):
        return PerceiverResampler(config)
    if isinstance(config, STPoolConfig):
        return STPool(config)
    if isinstance(config, DiffFPConfig):
        return DiffFP(config)
    if isinstance(config, MovieChatConfig):
        return MovieChatMemory(config)
    raise TypeError(f"no compressor is built from {type(config).__name__}")
