"""``chronolens demo --timechat``: train a tiny TimeChat for a few minutes, then caption and ask.

The whole of ``chronolens synth`` + ``chronolens train timechat`` + ``caption`` / ``ask`` at the
scale of minutes, on a small synthetic world:

1. render a small synthetic dataset (``chronolens.data.synth.generate``; 90 % train, 10 % test);
2. train the tiny TimeChat recipe (``training.recipes.timechat.run_timechat``, the settings of
   ``configs/timechat/tiny-cpu.toml`` at a smaller scale: 16 frames, short videos, grounding and
   dense captions) for a step count that takes ``minutes`` on 2 free CPU cores;
3. caption a held-out video and ask it when one of its events happens
   (``chronolens.tasks.answer``, as ``chronolens caption`` / ``ask`` do), next to the truth.

The model knows only the synthetic world it was trained on, and only as much of it as a few
minutes teach; the demo says so.
"""

from __future__ import annotations

import logging
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chronolens.data.synth import SynthConfig, SynthDataset, SynthVideo, generate, load_synth
from chronolens.errors import ChronolensError
from chronolens.tasks.answer import TimedCaptions, VideoAnswer, ask, caption, grounding_instruction
from chronolens.timebase import Span

if TYPE_CHECKING:
    from chronolens.training.recipes.timechat.recipe import TimeChatRunResult
    from chronolens.training.recipes.timechat.settings import TimeChatRecipe

__all__ = [
    "DEMO_RECIPE",
    "STEPS_PER_MINUTE",
    "TimeChatDemoConfig",
    "TimeChatDemoResult",
    "demo_recipe",
    "run_timechat_demo",
]

logger = logging.getLogger(__name__)

# Main-stage steps per minute of training on 2 free CPU cores at DEMO_RECIPE's scale (batch 16,
# 16 frames, train.threads = 2). From tiny-cpu.toml's measured 2.11 steps/s on 2 free cores at
# 32 frames (the README), rounded down to 2 steps/s for the dvc answers; on a loaded machine a
# step takes longer (the demo prints the minutes it really trained).
STEPS_PER_MINUTE = 120
# configs/timechat/tiny-cpu.toml (not shipped in the wheel) at the demo's scale: the model and the
# auxiliary losses that make the tiny model ground are the same; 16 frames instead of 32 and
# short videos keep a step cheap, and dense captions (dvc) are trained beside grounding (tvg) so
# that both `caption` and `ask` have something to say. tests/demo/test_demo_timechat.py checks
# the shared keys against the shipped file.
DEMO_RECIPE: tuple[str, ...] = (
    "model.preset='tiny'",
    "model.image_encoder='builtin:synth-clip'",
    "model.llm='tiny'",
    "model.llm_hidden=128",
    "model.llm_layers=4",
    "model.llm_heads=4",
    "model.llm_intermediate=256",
    "model.n_frames=16",
    "model.frame_queries=4",
    "model.qformer_hidden=64",
    "model.qformer_layers=2",
    "model.qformer_heads=4",
    "model.qformer_intermediate=128",
    "model.window=8",
    "model.stride=8",
    "model.video_queries=8",
    "model.video_qformer_layers=1",
    "model.lora_r=16",
    "model.lora_alpha=32",
    "model.lora_dropout=0.0",
    "model.max_text_tokens=256",
    "data.tasks=['tvg', 'dvc']",
    "train.batch_size=16",
    "train.lr=2e-3",
    "train.min_lr_ratio=0.05",
    "train.warmup_steps=20",
    "train.weight_decay=0.01",
    "train.threads=2",
    "train.llm_mode='full'",
    "train.crop_prob=0.8",
    "train.crop_min=0.4",
    "train.word_init='image-text'",
    "train.align_weight=1.0",
    "train.ground_attn_weight=1.0",
    "train.ground_attn_target='boundaries'",
    "train.time_digits_weight=1.0",
    "eval.max_new_tokens=24",
    "eval.batch_size=32",
)
EVAL_QUERIES = 16  # held-out grounding queries scored after training (with the baselines)

Stage = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class TimeChatDemoConfig:
    """Settings of ``chronolens demo --timechat`` (tests shrink every one of them)."""

    minutes: float = 3.0  # training budget on 2 free CPU cores (becomes STEPS_PER_MINUTE steps/min)
    steps: int | None = None  # main-stage steps instead of ``minutes``
    videos: int = 80  # synthetic videos rendered (90 % train, 10 % held out)
    seed: int = 7  # seed of the synthetic world
    size: int = 128  # frame width and height in pixels (the tower sees 96 px)
    min_duration: float = 8.0  # seconds, shortest video
    max_duration: float = 16.0  # seconds, longest video
    max_new_tokens: int = 96  # cap on generated tokens for the caption and the answer
    overrides: tuple[str, ...] = ()  # more recipe settings, section.key=value, applied last

    def __post_init__(self) -> None:
        if not self.minutes > 0:
            raise ValueError(f"TimeChatDemoConfig.minutes must be > 0, got {self.minutes}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"TimeChatDemoConfig.steps must be >= 1, got {self.steps}")
        if self.videos < 2:
            raise ValueError(
                f"TimeChatDemoConfig.videos must be >= 2 (train and held out), got {self.videos}"
            )
        if self.max_new_tokens < 1:
            raise ValueError(f"TimeChatDemoConfig.max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def train_steps(self) -> int:
        """Main-stage steps: ``steps``, or ``minutes`` at :data:`STEPS_PER_MINUTE`."""
        return self.steps if self.steps is not None else max(1, round(self.minutes * STEPS_PER_MINUTE))


@dataclass
class TimeChatDemoResult:
    """What the demo trained and what the model said about a held-out video."""

    model_dir: Path  # the checkpoint `chronolens caption/ask --checkpoint` takes
    steps: int  # main-stage steps trained
    n_train_videos: int
    n_train_samples: int  # question/answer turns trained on
    video: Path  # the held-out video captioned and asked about
    duration: float  # its length in seconds
    true_events: tuple[tuple[Span, str], ...]  # its true (span, caption) events
    caption: TimedCaptions
    question: str  # the question asked (a grounding question about one true event)
    question_truth: Span  # that event's true span
    answer: VideoAnswer
    metrics: dict[str, dict[str, float | int]]  # held-out grounding: timechat and the baselines
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per stage
    commands: list[str] = field(default_factory=list)  # what to try next

    @property
    def honesty(self) -> str:
        """What this model is, in one sentence."""
        minutes = self.seconds.get("train", 0.0) / 60
        return (
            f"a tiny TimeChat trained for {minutes:.1f} minutes ({self.steps} steps) on a synthetic world "
            f"of {self.n_train_videos} videos of coloured shapes; it knows only that world, and only "
            f"as much as {self.steps} steps teach (the README's 2,500-step run grounds better)"
        )

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (``chronolens demo --timechat --json``)."""
        return {
            "model_dir": str(self.model_dir),
            "steps": self.steps,
            "n_train_videos": self.n_train_videos,
            "n_train_samples": self.n_train_samples,
            "video": str(self.video),
            "duration": self.duration,
            "true_events": [{"timestamp": [s.start, s.end], "caption": c} for s, c in self.true_events],
            "caption": self.caption.to_json(),
            "question_truth": [self.question_truth.start, self.question_truth.end],
            "ask": self.answer.to_json(),
            "metrics": self.metrics,
            "seconds": self.seconds,
            "commands": self.commands,
            "note": self.honesty,
        }


def demo_recipe(data: Path, cache: Path, cfg: TimeChatDemoConfig) -> TimeChatRecipe:
    """The demo's recipe: :data:`DEMO_RECIPE` with its data, step count and ``cfg.overrides``."""
    from chronolens.training.recipes.timechat.settings import load_recipe

    steps = cfg.train_steps
    return load_recipe(
        None,
        [
            *DEMO_RECIPE,
            f"data.root={data}",
            f"data.cache_dir={cache}",
            f"data.max_eval_queries={EVAL_QUERIES}",
            f"train.steps={steps}",
            f"train.warmup_steps={min(20, max(steps // 10, 1))}",
            f"train.log_every={max(steps // 5, 1)}",  # five loss lines on stderr
            f"train.checkpoint_every={steps}",
            *cfg.overrides,
        ],
    )


def _render(data: Path, cfg: TimeChatDemoConfig, progress: bool) -> None:
    """Render the demo's world once (reused while ``synth.json`` is there)."""
    if (data / "synth.json").exists():
        return
    synth = SynthConfig(
        videos=cfg.videos,
        seed=cfg.seed,
        width=cfg.size,
        height=cfg.size,
        min_duration=cfg.min_duration,
        max_duration=cfg.max_duration,
        long_fraction=0.0,
        split_fractions=(0.9, 0.0, 0.1, 0.0),
    )
    generate(data, synth, progress=progress)


def _held_out(dataset: SynthDataset) -> SynthVideo:
    """The held-out video with the most events."""
    members = list(dataset.split("test"))
    if not members:
        raise ChronolensError(f"{dataset.root} holds no held-out (test) video: render more videos")
    return max(members, key=lambda v: len(v.events))


def _loss_lines(on_stage: Stage | None, steps: int) -> Callable[[dict[str, Any]], None] | None:
    if on_stage is None:
        return None

    def line(record: dict[str, Any]) -> None:
        on_stage(f"  step {record['step']}/{steps}  loss {float(record['loss']):.3f}")

    return line


def _commands(video: Path, model_dir: Path, question: str) -> list[str]:
    q = shlex.quote
    return [
        f"chronolens caption {q(str(video))} --checkpoint {q(str(model_dir))}",
        f"chronolens ask {q(str(video))} {q(question)} --checkpoint {q(str(model_dir))}",
    ]


def run_timechat_demo(
    out: str | os.PathLike[str],
    *,
    config: TimeChatDemoConfig | None = None,
    progress: bool = True,
    on_stage: Stage | None = None,
) -> TimeChatDemoResult:
    """Render a small world, train the tiny TimeChat on it, then caption and ask a held-out video.

    Args:
        out: working directory: ``data/`` (the world), ``features/`` (the frame-feature cache),
            ``run/`` (the training run; ``run/model`` is the checkpoint).
        config: the demo's settings.
        progress: progress bars (``chronolens.progress``: on a terminal only).
        on_stage: called with a short line as each stage starts and at five points of training
            (the CLI prints them on stderr); None logs the stages at INFO instead.

    Returns:
        The checkpoint, what the model said, the truth and the commands to try next.
    """
    from chronolens.training.recipes.timechat.recipe import run_timechat

    cfg = config or TimeChatDemoConfig()
    root = Path(out)
    data, seconds = root / "data", {}
    say = on_stage or logger.info
    t0 = time.perf_counter()
    if not (data / "synth.json").exists():
        say(f"rendering {cfg.videos} synthetic videos…")
    _render(data, cfg, progress)
    seconds["render"] = time.perf_counter() - t0
    recipe = demo_recipe(data, root / "features", cfg)
    steps = recipe.train.steps
    minutes = steps / STEPS_PER_MINUTE
    say(f"training the tiny TimeChat recipe: {steps} steps (about {minutes:.1f} min on 2 free cores)…")
    t0 = time.perf_counter()
    run: TimeChatRunResult = run_timechat(
        recipe, root / "run", progress=progress, on_log=_loss_lines(on_stage, steps)
    )
    seconds["features"], seconds["train"] = run.timings["features"], run.timings["train"]
    seconds["eval"] = run.timings["eval"]
    seconds["training run"] = time.perf_counter() - t0
    dataset = load_synth(data)
    video = _held_out(dataset)
    path = Path(dataset.video_path(video))
    event = video.events[0] if video.events else None
    query = event.query if event is not None else video.caption
    truth = Span(event.start, min(event.end, video.duration)) if event else Span(0.0, video.duration)
    question = grounding_instruction(query)
    say(f"captioning and asking about the held-out {path.name}…")
    t0 = time.perf_counter()
    captions = caption(path, checkpoint=run.model_dir, max_new_tokens=cfg.max_new_tokens, details=True)
    answer = ask(path, question, checkpoint=run.model_dir, max_new_tokens=cfg.max_new_tokens, details=True)
    seconds["answer"] = time.perf_counter() - t0
    return TimeChatDemoResult(
        model_dir=run.model_dir,
        steps=steps,
        n_train_videos=len(dataset.split("train")),
        n_train_samples=run.n_train_samples,
        video=path,
        duration=video.duration,
        true_events=tuple((Span(e.start, min(e.end, video.duration)), e.caption) for e in video.events),
        caption=captions,
        question=question,
        question_truth=truth,
        answer=answer,
        metrics=run.metrics,
        seconds=seconds,
        commands=_commands(path, run.model_dir, question),
    )
