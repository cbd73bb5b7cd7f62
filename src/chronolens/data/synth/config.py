"""Settings of the synthetic benchmark generator."""

from __future__ import annotations

import math
from dataclasses import dataclass

from chronolens.data.split_names import SPLIT_CHOICES
from chronolens.timebase.grid import CLIP_LENGTH

__all__ = ["SPLIT_CHOICES", "SynthConfig"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SynthConfig:
    """How many videos to render and what they look like.

    The defaults make 224x224 videos of 10-60 s at mostly low frame rates, with a rare
    10-minute video; tests shrink them to a few seconds at 64x64.
    """

    videos: int = 100  # number of videos to render
    seed: int = 0  # everything is a function of (seed, split, video index)
    split: str = "all"  # one of SPLIT_CHOICES: one split, or "all" (split_fractions below)
    width: int = 224  # frame width in pixels (even)
    height: int = 224  # frame height in pixels (even)
    fps_choices: tuple[float, ...] = (8.0, 10.0, 12.5, 15.0, 24.0)  # frame rates drawn per video
    fps_weights: tuple[float, ...] = (0.3, 0.3, 0.2, 0.15, 0.05)  # their probabilities; () = uniform
    min_duration: float = 10.0  # seconds, shortest regular video
    max_duration: float = 60.0  # seconds, longest regular video
    long_fraction: float = 0.02  # probability that a video is a long one
    long_duration: tuple[float, float] = (600.0, 660.0)  # seconds, range of a long video
    event_min: float = 2.0  # seconds, shortest event window
    event_max: float = 7.0  # seconds, longest event window
    gap_min: float = 1.0  # seconds, shortest pause between consecutive events
    gap_max: float = 5.0  # seconds, longest pause between consecutive events
    overlap_prob: float = 0.3  # probability that an event starts before the previous one ends
    cut_window: float = 2.0  # seconds of a scene-cut event window (the border cue fades over it)
    distractors: tuple[int, int] = (1, 3)  # min, max static distractor objects per video
    clip_length: float = CLIP_LENGTH  # seconds per saliency clip (QVHighlights uses 2 s)
    split_fractions: tuple[float, float, float, float] = (0.7, 0.1, 0.1, 0.1)  # train/val/test/comp
    holdout_fraction: float = 0.2  # share of colour-shape-action combos reserved for compositional
    crf: int = 20  # x264 constant rate factor
    preset: str = "veryfast"  # x264 preset (speed vs size; quality is fixed by crf)
    formats: bool = True  # also write QVHighlights, Charades-STA, dense captions, retrieval, TimeIT

    def __post_init__(self) -> None:
        if self.videos < 1:
            raise ValueError(f"SynthConfig.videos must be >= 1, got {self.videos}")
        if self.split not in SPLIT_CHOICES:
            raise ValueError(
                f"SynthConfig.split must be one of {', '.join(SPLIT_CHOICES)}, got {self.split!r}"
            )
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError("SynthConfig.width and .height must be even and >= 16")
        if not self.fps_choices or any(not (math.isfinite(f) and f > 0) for f in self.fps_choices):
            raise ValueError(f"SynthConfig.fps_choices must be positive numbers, got {self.fps_choices}")
        if self.fps_weights and (
            len(self.fps_weights) != len(self.fps_choices)
            or min(self.fps_weights) < 0
            or sum(self.fps_weights) <= 0
        ):
            raise ValueError(
                "SynthConfig.fps_weights must be empty or one non-negative weight per fps choice"
            )
        if not 0 < self.min_duration <= self.max_duration:
            raise ValueError(
                "SynthConfig.min_duration must be in (0, max_duration], "
                f"got {self.min_duration}/{self.max_duration}"
            )
        if not 0 <= self.long_fraction <= 1:
            raise ValueError(f"SynthConfig.long_fraction must be in [0, 1], got {self.long_fraction}")
        if not 0 < self.long_duration[0] <= self.long_duration[1]:
            raise ValueError(
                f"SynthConfig.long_duration must be an increasing positive pair, got {self.long_duration}"
            )
        if not 0 < self.event_min <= self.event_max:
            raise ValueError(f"SynthConfig.event_min must be in (0, event_max], got {self.event_min}")
        if not 0 <= self.gap_min <= self.gap_max:
            raise ValueError(f"SynthConfig.gap_min must be in [0, gap_max], got {self.gap_min}")
        if not 0 <= self.overlap_prob <= 1:
            raise ValueError(f"SynthConfig.overlap_prob must be in [0, 1], got {self.overlap_prob}")
        if self.cut_window <= 0:
            raise ValueError(f"SynthConfig.cut_window must be > 0, got {self.cut_window}")
        if not 0 <= self.distractors[0] <= self.distractors[1]:
            raise ValueError(
                f"SynthConfig.distractors must be an increasing pair >= 0, got {self.distractors}"
            )
        if self.clip_length <= 0:
            raise ValueError(f"SynthConfig.clip_length must be > 0, got {self.clip_length}")
        if min(self.split_fractions) < 0 or sum(self.split_fractions) <= 0:
            raise ValueError(f"SynthConfig.split_fractions must be non-negative, got {self.split_fractions}")
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"SynthConfig.holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"SynthConfig.crf must be in [0, 51], got {self.crf}")
