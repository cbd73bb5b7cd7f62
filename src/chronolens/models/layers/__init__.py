"""Shared model blocks: token compressors for video LLMs (Perceiver, pooling, DiffFP, MovieChat memory).

Every compressor reads ``(B, U, K, D)`` units (frames, or windows of a video Q-Former) with a
``(B, U)`` mask and returns ``CompressedTokens``: tokens, which are real, and the frame span each
token stands for. Each has a frozen config with the paper's defaults, ``tiny()``, and
``output_tokens(n_frames, ...)``.
"""

from chronolens.models.layers.build import CompressorConfig, build_compressor
from chronolens.models.layers.difffp import DiffFP, DiffFPConfig, PackedPatches, patchify
from chronolens.models.layers.moviechat import MovieChatConfig, MovieChatMemory, merge_most_similar
from chronolens.models.layers.perceiver import PerceiverConfig, PerceiverResampler
from chronolens.models.layers.st_pool import STPool, STPoolConfig, grid_shape
from chronolens.models.layers.tokens import (
    CompressedTokens,
    frame_spans,
    span_union,
    spans_to_seconds,
    window_spans,
)

__all__ = [
    "CompressedTokens",
    "CompressorConfig",
    "DiffFP",
    "DiffFPConfig",
    "MovieChatConfig",
    "MovieChatMemory",
    "PackedPatches",
    "PerceiverConfig",
    "PerceiverResampler",
    "STPool",
    "STPoolConfig",
    "build_compressor",
    "frame_spans",
    "grid_shape",
    "merge_most_similar",
    "patchify",
    "span_union",
    "spans_to_seconds",
    "window_spans",
]
