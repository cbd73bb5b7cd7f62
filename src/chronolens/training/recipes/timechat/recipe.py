"""TimeChat instruction tuning on TimeIT data, with a grounding evaluation in the same run.

A recipe (``settings.load_recipe``, through the shared ``chronolens.training.config``: a TOML
file with ``[model]``, ``[data]``, ``[train]``, ``[eval]`` plus ``section.key=value`` overrides)
is run by ``run_timechat(recipe, out_dir)``, which runs one function per stage:

1. reads the TimeIT train (and eval) json, samples ``n_frames`` frames per video uniformly and
   caches their frozen image-tower features on disk (``data``; ``stages.load_data``);
2. builds ``TimeChat`` (for ``llm = "tiny"`` a word-level tokenizer over the training text;
   ``stages.build_model``);
3. for the tiny random-init LLM only, optionally runs a short text-only stage
   (``train.lm_pretrain_steps``): the base LM learns the instruction and answer language
   (causal LM loss on question + answer text, no video), then it is frozen again. A randomly
   initialised LLM that stays frozen cannot write anything, which is why this stage exists; a real
   LLM backbone needs none (``stages.lm_pretrain_stage``);
4. trains what the paper trains (frame Q-Former, video Q-Former, projection, LoRA; or, with
   ``train.llm_mode = "full"``, the whole tiny LLM too) with the loss on answer tokens only, through
   the generic loop (seeded, resumable, gradient accumulation, bf16 autocast where supported);
   batches encode each distinct video once and may cut grounding samples to random temporal
   crops with shifted answers (``train.crop_prob``) so answers cannot be memorised (the loop
   tasks live in ``tasks``);
5. exports the trained weights + config with ``save_timechat`` to ``OUT/model`` (4 and 5:
   ``stages.main_stage``);
6. grounds the eval split's grounding queries with greedy decoding, parses the answers with
   ``chronolens.timebase.text.parse_span`` (clamped to the video; unparsed answers are misses) and
   scores R1@{0.3,0.5,0.7} and mIoU next to the uniform-window and random baselines; when the run
   trains TimeIT's transcription task (``data.tasks`` holds ``tvc``) it also transcribes the eval
   split's transcription turns and scores word error rate and segment start / end error
   (``stages.evaluate_stage``), and writes ``summary.json`` (``stages.write_summary``).

With ``model.transcript = true`` prompts carry each video's timestamped transcript (the TimeIT
json's ASR, or the transcript file beside the video; ``data.load_turns``), see
``chronolens.models.timechat.transcript``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chronolens.errors import ChronolensError
from chronolens.training.loop import TrainResult
from chronolens.training.recipes.timechat.data import build_samples
from chronolens.training.recipes.timechat.settings import TimeChatRecipe, load_recipe
from chronolens.training.recipes.timechat.stages import (
    build_model,
    evaluate_stage,
    grounding_span,
    lm_pretrain_stage,
    load_data,
    main_stage,
    start_run,
    write_summary,
)

__all__ = ["TimeChatRunResult", "default_config", "load_config", "run_recipe", "run_timechat"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TimeChatRunResult:
    """What a finished run produced."""

    model_dir: Path  # the exported model (load with chronolens.models.timechat.load_timechat)
    train: TrainResult  # main-stage loop outcome
    lm_pretrain: TrainResult | None  # text-only stage outcome (tiny LLM with lm_pretrain_steps > 0)
    metrics: dict[str, dict[str, float | int]]  # {"timechat"|"uniform-window"|"random": grounding metrics}
    timings: dict[str, float]  # seconds: features, lm_pretrain, train, eval, total
    n_train_samples: int  # training samples (question/answer turns)
    n_trainable: int  # trainable parameters in the main stage
    tokens_per_s: float  # text tokens per second over the main stage


def default_config() -> TimeChatRecipe:
    """The recipe's settings with every default (the registry's entry point)."""
    return TimeChatRecipe()


def load_config(path: str | os.PathLike[str] | None = None, overrides: Sequence[str] = ()) -> TimeChatRecipe:
    """The registry's entry point: :func:`~chronolens.training.recipes.timechat.settings.load_recipe`."""
    return load_recipe(path, overrides)


def run_recipe(
    config: TimeChatRecipe,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    command: str = "",
) -> TimeChatRunResult:
    """The registry's entry point: :func:`run_timechat`.

    Raises:
        ChronolensError: a ``data_dir`` was given (this recipe reads its data from the config).
    """
    del command  # the run records its resolved recipe (recipe.json) instead
    if data_dir is not None:
        raise ChronolensError("the timechat recipe reads its data from the config (data.root=DIR)")
    return run_timechat(config, out_dir, resume=resume, progress=progress, on_log=on_log)


def run_timechat(
    recipe: TimeChatRecipe,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TimeChatRunResult:
    """Train TimeChat as ``recipe`` says, export it and score grounding on the eval split.

    One function per stage (``stages``), in the order the module docstring lists: data and
    features, model, the text-only LM stage, the main stage and export, evaluation, the summary.

    Args:
        recipe: the run's settings (``load_recipe``).
        out_dir: run directory: ``checkpoints/``, ``train_log.jsonl``, ``lm-pretrain/``,
            ``model/`` (the export), ``eval/`` (answers and metrics), ``recipe.json``.
        resume: continue from the latest checkpoints of each stage in ``out_dir``.
        progress: progress bars.
        on_log: receives every logged training record (with ``stage`` and ``tokens_per_s``).

    Returns:
        A ``TimeChatRunResult``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    device, autocast = start_run(recipe, out)
    data = load_data(recipe, progress=progress)
    t_features = time.perf_counter() - t0
    built = build_model(recipe, data, device)
    # after the model: with model.transcript the tokenizer counts each transcript's token budget
    samples = build_samples(
        data.train_turns, data.train_features, config=built.config, tokenizer=built.model.tokenizer
    )
    spans = [grounding_span(t) for t in data.train_turns]
    lm_result, t_lm = lm_pretrain_stage(
        recipe.train,
        built,
        data.train_turns,
        out,
        device=device,
        resume=resume,
        progress=progress,
        on_log=on_log,
    )
    main = main_stage(
        recipe.train,
        built,
        samples,
        spans,
        out,
        device=device,
        autocast=autocast,
        resume=resume,
        progress=progress,
        on_log=on_log,
    )
    metrics, t_eval = evaluate_stage(
        recipe, built.model, data, out, device=device, autocast=autocast, progress=progress
    )
    timings = {
        "features": t_features,
        "lm_pretrain": t_lm,
        "train": main.wall_s,
        "eval": t_eval,
        "total": time.perf_counter() - t0,
    }
    write_summary(out, main, metrics, timings, data.cache)
    if not math.isfinite(main.result.final_loss) and main.result.losses:
        logger.warning("final loss is not finite")
    return TimeChatRunResult(
        model_dir=main.model_dir,
        train=main.result,
        lm_pretrain=lm_result,
        metrics=metrics,
        timings=timings,
        n_train_samples=main.n_samples,
        n_trainable=main.n_trainable,
        tokens_per_s=main.tokens_per_s,
    )
