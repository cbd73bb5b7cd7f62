"""Tiny TimeChat models and samples for tests: random patch features, a few words, milliseconds to build."""

from __future__ import annotations

from typing import Any

import numpy as np

from chronolens.models.timechat import TimeChat, TimeChatConfig, TimeChatSample, build_prompt

__all__ = ["CORPUS", "DV", "PATCHES", "sample", "tiny_config", "tiny_model"]

DV = 16  # patch feature width of the fake image tower
PATCHES = 5  # patch tokens per frame
QUESTION = "when does the red box move?"
CORPUS = (
    QUESTION,
    "describe the video.",
    "from 1.5 to 3.0 seconds.",
    "from 4.0 to 6.5 seconds.",
    "a red box moves left.",
)


def tiny_config(**overrides: Any) -> TimeChatConfig:
    """``TimeChatConfig.tiny`` shrunk further (32-wide Q-Formers, 1 layer each) for unit tests."""
    values: dict[str, Any] = {
        "vision_dim": DV,
        "qformer_hidden": 32,
        "qformer_layers": 1,
        "qformer_heads": 2,
        "qformer_intermediate": 64,
        "llm_hidden": 32,
        "llm_layers": 1,
        "llm_heads": 2,
        "llm_intermediate": 64,
        "frame_queries": 2,
        "video_queries": 2,
        "window": 4,
        "stride": 4,
        "n_frames": 16,
        "lora_r": 4,
        "qformer_init_std": 0.5,  # videos distinguishable from the first step at these widths
        "qformer_dropout": 0.0,
    }
    values.update(overrides)
    return TimeChatConfig.tiny(**values)


def tiny_model(**overrides: Any) -> TimeChat:
    """A tiny TimeChat in eval mode (dropout off), deterministic for a given config."""
    model = TimeChat.build(tiny_config(**overrides), corpus=CORPUS)
    return model.eval()


def sample(
    n_frames: int,
    *,
    seed: int = 0,
    answer: str | None = "from 1.5 to 3.0 seconds.",
    prompt: str | None = None,
    step: float = 0.5,
) -> TimeChatSample:
    """A sample with random patch features, frames every ``step`` seconds."""
    rng = np.random.default_rng(seed)
    return TimeChatSample(
        features=rng.normal(size=(n_frames, PATCHES, DV)).astype(np.float32),
        timestamps=np.arange(n_frames, dtype=np.float64) * step,
        prompt=prompt if prompt is not None else build_prompt(QUESTION),
        answer=answer,
        video=f"video-{seed}",
        duration=n_frames * step,
    )
