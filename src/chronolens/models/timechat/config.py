"""Configuration of TimeChat (Ren et al., CVPR 2024): sizes, windows, LLM and LoRA settings.

Defaults are the paper's: 96 frames, a 12-layer BERT-base InstructBLIP Q-Former with 32 query
tokens per frame, a 2-layer video Q-Former over windows of Lw = S = 32 frames with Nv = 32 queries
per window (so 96 frames give 3 * 32 = 96 video tokens), LoRA on the LLM attention projections.
``TimeChatConfig.tiny()`` is the few-hundred-kilobyte configuration unit tests and the CPU recipe
train from scratch.

``compressor`` swaps the sliding video Q-Former for another token compressor of
``chronolens.models.layers`` (Perceiver resampler, spatio-temporal pooling, DiffFP, MovieChat
memory), or runs one on the Q-Former's window tokens (``compress_after_qformer``); the default
"qformer" is TimeChat as published.

Time encodings besides TimeChat's timestamp-aware frame encoder (always on; combinable with each
other and with every compressor): ``time_encoding_numpro`` draws frame numbers onto the frames
(NumPro, ``numpro.py``); ``time_tokens`` puts TimeMarker's ``sec{t}`` text or VTG-LLM's absolute
time tokens ``<t0>``..``<tN>`` before each group of video tokens (``time_tokens.py``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from chronolens.errors import did_you_mean
from chronolens.models.layers import (
    CompressorConfig,
    DiffFPConfig,
    MovieChatConfig,
    PerceiverConfig,
    STPoolConfig,
    grid_shape,
)
from chronolens.models.timechat.numpro import NumPro

__all__ = ["COMPRESSORS", "TIME_TOKENS", "TINY_LLM", "TimeChatConfig"]

TINY_LLM = "tiny"  # llm name of the random-init LlamaForCausalLM built from the llm_* fields
# TimeChatConfig.compressor values: TimeChat's own sliding video Q-Former, then models.layers' blocks.
COMPRESSORS = ("qformer", "perceiver", "st_pool", "difffp", "moviechat")
# TimeChatConfig.time_tokens values: nothing, TimeMarker's "sec{t}" text, VTG-LLM's <tK> tokens.
TIME_TOKENS = ("none", "timemarker", "absolute")


@dataclass(frozen=True, kw_only=True)
class TimeChatConfig:
    """TimeChat architecture. Frozen and keyword-only; ``to_dict``/``from_dict`` round-trip through JSON."""

    image_encoder: str = "builtin:synth-clip"  # encoder registry name; its vision tower gives patch features
    vision_dim: int | None = None  # Dv of the patch features; None = TimeChat.build reads image_encoder
    llm: str = TINY_LLM  # "tiny" (random-init Llama from llm_*), or a local dir / hub id / .gguf file
    llm_hidden: int = 128  # "tiny" only: LLM hidden size
    llm_layers: int = 2  # "tiny" only: decoder layers
    llm_heads: int = 4  # "tiny" only: attention heads; must divide llm_hidden
    llm_intermediate: int = 256  # "tiny" only: MLP width
    n_frames: int = 96  # frames sampled uniformly per video; also the size of the frame position table
    frame_queries: int = 32  # Nq learnable query tokens per frame (timestamp-aware frame Q-Former)
    qformer_hidden: int = 768  # frame Q-Former width (BERT-base in the paper)
    qformer_layers: int = 12  # frame Q-Former layers
    qformer_heads: int = 12  # frame Q-Former attention heads; must divide qformer_hidden
    qformer_intermediate: int = 3072  # frame Q-Former MLP width
    cross_attention_frequency: int = 2  # frame Q-Former: cross-attention to patches every k-th layer
    qformer_init_std: float = 0.02  # std of the random init of both Q-Formers + queries (BLIP-2's)
    qformer_dropout: float = 0.1  # dropout in both Q-Formers, hidden and attention (BERT's 0.1)
    qformer_tokenizer: str | None = None  # BERT-style tokenizer dir for the timestamp text; None = word-level
    qformer_text_tokens: int = 32  # max tokens of one timestamp instruction (incl. specials)
    timestamp_text: bool = True  # ablation switch: False feeds no timestamp instruction to the frame Q-Former
    timestamp_template: str = "This frame is sampled at {t:.1f}s."  # instruction text; {t} = seconds
    # TimeChat's load_video message after the video in every prompt: "The video contains N frames
    # sampled at t1, ..., tN seconds." (prompting.frame_times_text); False leaves it out.
    frame_times_prompt: bool = True
    window: int = 32  # Lw frames per video Q-Former window
    stride: int = 32  # S frames between window starts; <= window so no frame is skipped
    video_queries: int = 32  # Nv learnable queries per window
    video_qformer_layers: int = 2  # video Q-Former layers (cross-attention in every layer)
    sliding: bool = True  # False = global video Q-Former (ablation): one window over all frames
    # Token compression (models.layers): "qformer" (TimeChat's video Q-Former) | "perceiver" |
    # "st_pool" | "difffp" | "moviechat". The others replace the video Q-Former and read the frame
    # tokens (Nq per frame), or, with compress_after_qformer, read its window tokens (Nv per window).
    compressor: str = "qformer"
    compress_after_qformer: bool = False  # run the compressor on the video Q-Former's output
    perceiver_latents: int = 64  # Perceiver: latent queries = video tokens (Flamingo: 64)
    perceiver_layers: int = 6  # Perceiver: cross-attention blocks (Flamingo: 6)
    st_pool_kernel: int = 2  # spatio-temporal pooling: k x k over each unit's token grid
    st_pool_stride: int = 2  # spatio-temporal pooling: s units (frames / windows) averaged in time
    # DiffFP: a frame is dropped when every patch feature's mean |difference| to the previous frame's
    # is below this (VideoLLaMA3's 0.1 is on [0, 1] pixels; the model sees the tower's patch features)
    difffp_threshold: float = 0.1
    moviechat_short_term: int = 18  # MovieChat: short-term FIFO length in units (frames)
    moviechat_long_term: int = 256  # MovieChat: long-term memory size in (merged) units
    # NumPro (features.encode_video): each frame's number drawn on its pixels before the image tower
    time_encoding_numpro: bool = False
    numpro_position: str = "bottom_right"  # bottom_right | bottom_left | top_right | top_left | center
    numpro_size: float = 0.2  # glyph height as a fraction of the frame height
    numpro_label: str = "frame"  # "frame" (index among the sampled frames) | "seconds"
    # Time tokens before each group of video tokens (a window's, a frame's, a merged slot's), at
    # splice time: "none" | "timemarker" (the text "sec{t}") | "absolute" (special token <t{s}>)
    time_tokens: str = "none"
    time_token_seconds: int = 600  # "absolute": <t0>..<t{N-1}>, one per second; later times use the last
    lora_r: int = 64  # LoRA rank
    lora_alpha: int = 16  # LoRA scaling numerator (scale = alpha / r)
    lora_dropout: float = 0.05  # dropout on the LoRA input
    lora_targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")  # LLM modules LoRA wraps
    max_text_tokens: int = 512  # prompt + answer tokens per sample, excluding the video tokens
    # Speech in the prompt (models.timechat.transcript): False keeps every prompt as without speech.
    transcript: bool = False  # put the video's timestamped transcript (ASR) in the prompt
    transcript_max_lines: int = 15  # most transcript lines, spread evenly over the video (TimeChat: 15)
    # most LLM tokens of the transcript block; the budget is min(this, max_text_tokens // 2) and
    # lines are dropped (evenly) until the block fits
    transcript_max_tokens: int = 256
    seed: int = 0  # initialisation seed of the randomly initialised parts (Q-Formers, projection, tiny LLM)

    def __post_init__(self) -> None:
        positive = {
            "llm_hidden": self.llm_hidden,
            "llm_layers": self.llm_layers,
            "llm_heads": self.llm_heads,
            "llm_intermediate": self.llm_intermediate,
            "n_frames": self.n_frames,
            "frame_queries": self.frame_queries,
            "qformer_hidden": self.qformer_hidden,
            "qformer_layers": self.qformer_layers,
            "qformer_heads": self.qformer_heads,
            "qformer_intermediate": self.qformer_intermediate,
            "cross_attention_frequency": self.cross_attention_frequency,
            "qformer_text_tokens": self.qformer_text_tokens,
            "window": self.window,
            "stride": self.stride,
            "video_queries": self.video_queries,
            "video_qformer_layers": self.video_qformer_layers,
            "lora_r": self.lora_r,
            "lora_alpha": self.lora_alpha,
            "max_text_tokens": self.max_text_tokens,
            "transcript_max_lines": self.transcript_max_lines,
            "transcript_max_tokens": self.transcript_max_tokens,
            "perceiver_latents": self.perceiver_latents,
            "perceiver_layers": self.perceiver_layers,
            "st_pool_kernel": self.st_pool_kernel,
            "st_pool_stride": self.st_pool_stride,
            "moviechat_short_term": self.moviechat_short_term,
            "moviechat_long_term": self.moviechat_long_term,
            "time_token_seconds": self.time_token_seconds,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"TimeChatConfig.{name} must be an integer >= 1, got {value!r}")
        if self.vision_dim is not None and (isinstance(self.vision_dim, bool) or self.vision_dim < 1):
            raise ValueError(f"TimeChatConfig.vision_dim must be None or >= 1, got {self.vision_dim!r}")
        if not self.image_encoder:
            raise ValueError("TimeChatConfig.image_encoder must name an encoder, e.g. 'builtin:synth-clip'")
        if not self.llm:
            raise ValueError(f"TimeChatConfig.llm must be '{TINY_LLM}' or a model dir / hub id / .gguf file")
        if self.llm_hidden % self.llm_heads:
            raise ValueError(
                f"TimeChatConfig.llm_heads ({self.llm_heads}) must divide llm_hidden ({self.llm_hidden})"
            )
        if self.qformer_hidden % self.qformer_heads:
            raise ValueError(
                f"TimeChatConfig.qformer_heads ({self.qformer_heads}) must divide qformer_hidden "
                f"({self.qformer_hidden})"
            )
        if self.stride > self.window:
            raise ValueError(
                f"TimeChatConfig.stride ({self.stride}) must be <= window ({self.window}); "
                "a larger stride would skip frames between windows"
            )
        if not 0.0 < self.qformer_init_std <= 1.0:
            raise ValueError(
                f"TimeChatConfig.qformer_init_std must be in (0, 1], got {self.qformer_init_std!r}"
            )
        if not 0.0 <= self.qformer_dropout < 1.0:
            raise ValueError(
                f"TimeChatConfig.qformer_dropout must be in [0, 1), got {self.qformer_dropout!r}"
            )
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ValueError(f"TimeChatConfig.lora_dropout must be in [0, 1), got {self.lora_dropout!r}")
        if not self.lora_targets or not all(isinstance(t, str) and t for t in self.lora_targets):
            raise ValueError(
                f"TimeChatConfig.lora_targets must be non-empty module names, got {self.lora_targets!r}"
            )
        if self.compressor not in COMPRESSORS:
            raise ValueError(
                f"TimeChatConfig.compressor must be one of {', '.join(COMPRESSORS)}, got "
                f"{self.compressor!r}{did_you_mean(str(self.compressor), COMPRESSORS)}"
            )
        if self.compress_after_qformer and self.compressor == "qformer":
            raise ValueError("TimeChatConfig.compress_after_qformer needs a compressor other than 'qformer'")
        if isinstance(self.difffp_threshold, bool) or not self.difffp_threshold >= 0.0:
            raise ValueError(f"TimeChatConfig.difffp_threshold must be >= 0, got {self.difffp_threshold!r}")
        if self.time_tokens not in TIME_TOKENS:
            raise ValueError(
                f"TimeChatConfig.time_tokens must be one of {', '.join(TIME_TOKENS)}, got "
                f"{self.time_tokens!r}{did_you_mean(str(self.time_tokens), TIME_TOKENS)}"
            )
        try:
            NumPro(position=self.numpro_position, size=self.numpro_size, label=self.numpro_label)
        except ValueError as exc:
            raise ValueError(f"TimeChatConfig.numpro_*: {exc}") from exc
        try:
            self.timestamp_template.format(t=1.0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"TimeChatConfig.timestamp_template must format with {{t}} seconds only, got "
                f"{self.timestamp_template!r} ({exc})"
            ) from exc

    # -- derived --------------------------------------------------------------------------------

    @property
    def transcript_token_budget(self) -> int:
        """Most LLM tokens of the transcript block: ``min(transcript_max_tokens, max_text_tokens // 2)``."""
        return min(self.transcript_max_tokens, self.max_text_tokens // 2)

    @property
    def is_tiny_llm(self) -> bool:
        """Whether the LLM is the random-init Llama built from the ``llm_*`` fields."""
        return self.llm == TINY_LLM

    def n_windows(self, n_frames: int) -> int:
        """Number of video Q-Former windows over ``n_frames`` frames: ``ceil(T / S)``, or 1 when global.

        As in TimeChat's ``range(0, T, stride)`` loop, windows start every S frames and the last
        ones may be shorter than Lw.
        """
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        if not self.sliding:
            return 1
        return math.ceil(n_frames / self.stride)

    @property
    def uses_video_qformer(self) -> bool:
        """Whether the sliding video Q-Former runs (the default, or before a compressor)."""
        return self.compressor == "qformer" or self.compress_after_qformer

    def compressor_units(self, n_frames: int) -> tuple[int, int]:
        """``(units, tokens per unit)`` the compressor reads: W x Nv after the Q-Former, else T x Nq."""
        if self.uses_video_qformer:
            return self.n_windows(n_frames), self.video_queries
        if n_frames < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}")
        return n_frames, self.frame_queries

    def compressor_config(self) -> CompressorConfig | None:
        """The ``models.layers`` config of ``compressor`` at this model's widths; None for "qformer"."""
        if self.compressor == "perceiver":
            return PerceiverConfig(
                dim=self.qformer_hidden,
                latents=self.perceiver_latents,
                layers=self.perceiver_layers,
                heads=self.qformer_heads,
                head_dim=self.qformer_hidden // self.qformer_heads,
                ff_mult=max(1, self.qformer_intermediate // self.qformer_hidden),
                max_units=self.n_frames,  # at most one unit per frame
                init_std=self.qformer_init_std,
            )
        if self.compressor == "st_pool":
            return STPoolConfig(kernel=self.st_pool_kernel, stride=self.st_pool_stride)
        if self.compressor == "difffp":
            return DiffFPConfig(threshold=self.difffp_threshold)
        if self.compressor == "moviechat":
            return MovieChatConfig(short_term=self.moviechat_short_term, long_term=self.moviechat_long_term)
        return None

    def n_video_tokens(self, n_frames: int) -> int:
        """Video tokens the LLM sees for a ``n_frames``-frame video (TimeChat: windows * Nv).

        DiffFP's count depends on the pixels; this is its upper bound (nothing dropped).
        """
        qformer_tokens = self.n_windows(n_frames) * self.video_queries
        compressor = self.compressor_config()
        if compressor is None:
            return qformer_tokens
        units, per_unit = self.compressor_units(n_frames)
        if isinstance(compressor, PerceiverConfig):
            return compressor.output_tokens(units, per_unit)
        if isinstance(compressor, STPoolConfig):
            return compressor.output_tokens(units, grid_shape(per_unit))
        if isinstance(compressor, MovieChatConfig):
            return compressor.output_tokens(units, per_unit)
        return units * per_unit  # DiffFP: at most every unit

    @property
    def max_video_tokens(self) -> int:
        """Most video tokens of any video of up to ``n_frames`` frames (sizes the tiny LLM's positions)."""
        if self.compressor != "moviechat":  # the count grows with the frames
            return self.n_video_tokens(self.n_frames)
        return max(self.n_video_tokens(t) for t in range(1, self.n_frames + 1))

    def numpro_settings(self) -> NumPro | None:
        """NumPro's drawing settings for ``features.encode_video``; None when NumPro is off."""
        if not self.time_encoding_numpro:
            return None
        return NumPro(position=self.numpro_position, size=self.numpro_size, label=self.numpro_label)

    def timestamp_instruction(self, seconds: float) -> str:
        """The frame Q-Former's instruction for a frame at ``seconds`` ("This frame is sampled at 2.0s.")."""
        return self.timestamp_template.format(t=seconds)

    # -- (de)serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["lora_targets"] = list(self.lora_targets)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimeChatConfig:
        """Rebuild from ``to_dict`` output.

        Raises:
            ValueError: unknown keys (names them) or invalid values.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown TimeChatConfig fields: {', '.join(unknown)}")
        values = dict(data)
        if "lora_targets" in values:
            values["lora_targets"] = tuple(values["lora_targets"])
        return cls(**values)

    def with_(self, **overrides: Any) -> TimeChatConfig:
        """A copy with some fields replaced (validated again)."""
        return replace(self, **overrides)

    # -- presets -------------------------------------------------------------------------------

    @classmethod
    def paper(cls, **overrides: Any) -> TimeChatConfig:
        """The paper's configuration (96 frames, Lw = S = Nv = 32, BERT-base frame Q-Former).

        The paper's LLM is LLaMA-2 7B (Video-LLaMA weights) and its image tower EVA ViT-g/14; pass
        ``llm=`` and ``image_encoder=`` for what you have locally.
        """
        return cls(**overrides)

    @classmethod
    def tiny(cls, **overrides: Any) -> TimeChatConfig:
        """A configuration small enough to train from scratch on a CPU in minutes (and test in ms)."""
        values: dict[str, Any] = {
            "llm": TINY_LLM,
            "llm_hidden": 64,
            "llm_layers": 2,
            "llm_heads": 4,
            "llm_intermediate": 128,
            "n_frames": 16,
            "frame_queries": 4,
            "qformer_hidden": 64,
            "qformer_layers": 2,
            "qformer_heads": 4,
            "qformer_intermediate": 128,
            "cross_attention_frequency": 1,
            "qformer_text_tokens": 24,
            # BLIP-2's 0.02 assumes a pretrained Q-Former; from scratch it leaves the video tokens of
            # different videos nearly identical (relative difference ~1e-4 after the two Q-Formers),
            # so training first has to find the video. 0.2 keeps them apart (~0.7) at these widths.
            "qformer_init_std": 0.2,
            "window": 8,
            "stride": 8,
            "video_queries": 4,
            "video_qformer_layers": 1,
            "lora_r": 8,
            "lora_alpha": 16,
            "lora_dropout": 0.0,
            "max_text_tokens": 256,
            # compressors (used only when `compressor` picks them): sized for tens of frames
            "perceiver_latents": 8,
            "perceiver_layers": 1,
            "moviechat_short_term": 4,
            "moviechat_long_term": 8,
        }
        values.update(overrides)
        return cls(**values)
