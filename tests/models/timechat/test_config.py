"""TimeChatConfig: the paper's defaults, token counts, validation and JSON round trips."""

from __future__ import annotations

import json
import math

import pytest

from chronolens.models.timechat import TimeChatConfig


def test_paper_defaults_give_the_papers_token_budget() -> None:
    config = TimeChatConfig.paper()
    assert (config.n_frames, config.window, config.stride, config.video_queries) == (96, 32, 32, 32)
    assert config.frame_queries == 32
    assert config.lora_targets == ("q_proj", "k_proj", "v_proj", "o_proj")
    # 96 frames, Lw = S = 32 -> 3 windows of 32 queries.
    assert config.n_video_tokens(96) == 96
    assert config.with_(sliding=False).n_video_tokens(96) == 32


@pytest.mark.parametrize("stride", [1, 3, 8])
@pytest.mark.parametrize("n_frames", [1, 7, 8, 9, 64, 200])
def test_token_count_is_ceil_of_frames_over_stride(n_frames: int, stride: int) -> None:
    config = TimeChatConfig.tiny(window=8, stride=stride, video_queries=4)
    assert config.n_windows(n_frames) == math.ceil(n_frames / stride)
    assert config.n_video_tokens(n_frames) == math.ceil(n_frames / stride) * 4
    assert config.with_(sliding=False).n_video_tokens(n_frames) == 4


def test_timestamp_instruction() -> None:
    assert TimeChatConfig.tiny().timestamp_instruction(2.0) == "This frame is sampled at 2.0s."
    assert TimeChatConfig.tiny().timestamp_instruction(12.25) == "This frame is sampled at 12.2s."


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stride": 9, "window": 8}, "stride"),
        ({"qformer_heads": 5}, "qformer_heads"),
        ({"llm_heads": 3}, "llm_heads"),
        ({"frame_queries": 0}, "frame_queries"),
        ({"vision_dim": 0}, "vision_dim"),
        ({"lora_dropout": 1.0}, "lora_dropout"),
        ({"lora_targets": ()}, "lora_targets"),
        ({"timestamp_template": "at {seconds}s"}, "timestamp_template"),
        ({"llm": ""}, "llm"),
    ],
)
def test_invalid_fields_are_named(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"TimeChatConfig.{field}"):
        TimeChatConfig.tiny(**overrides)


def test_json_round_trip() -> None:
    config = TimeChatConfig.tiny(vision_dim=48, sliding=False, lora_targets=("q_proj", "v_proj"))
    data = json.loads(json.dumps(config.to_dict()))
    assert data["lora_targets"] == ["q_proj", "v_proj"]
    assert TimeChatConfig.from_dict(data) == config


def test_from_dict_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown TimeChatConfig fields: bogus"):
        TimeChatConfig.from_dict({**TimeChatConfig.tiny().to_dict(), "bogus": 1})


def test_config_is_frozen() -> None:
    config = TimeChatConfig.tiny()
    with pytest.raises(AttributeError):
        config.window = 3  # type: ignore[misc]
