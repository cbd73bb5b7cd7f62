"""TimeChat (CVPR 2024): a time-sensitive video LLM - timestamp-aware frame Q-Former, sliding video
Q-Former, projection and a causal LM with LoRA. See ``chronolens.models.timechat.model``."""

from chronolens.models.timechat.config import TINY_LLM, TimeChatConfig
from chronolens.models.timechat.features import FrameFeatures, sample_video
from chronolens.models.timechat.model import TimeChat, TimeChatOutput
from chronolens.models.timechat.prompting import (
    IGNORE_INDEX,
    VIDEO_PLACEHOLDER,
    TimeChatBatch,
    TimeChatSample,
    build_prompt,
    collate,
    encode_text,
    frame_times_text,
)
from chronolens.models.timechat.tokenizer import build_text_tokenizer
from chronolens.models.timechat.weights import load_timechat, save_timechat

__all__ = [
    "IGNORE_INDEX",
    "TINY_LLM",
    "VIDEO_PLACEHOLDER",
    "FrameFeatures",
    "TimeChat",
    "TimeChatBatch",
    "TimeChatConfig",
    "TimeChatOutput",
    "TimeChatSample",
    "build_prompt",
    "build_text_tokenizer",
    "collate",
    "encode_text",
    "frame_times_text",
    "load_timechat",
    "sample_video",
    "save_timechat",
]
