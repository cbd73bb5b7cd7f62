"""TimeChat instruction tuning on TimeIT data, with a grounding evaluation in the same run.

A recipe (``timechat_settings.load_recipe``: a TOML file with ``[model]``, ``[data]``,
``[train]``, ``[eval]`` plus ``section.key=value`` overrides) is run by
``run_timechat(recipe, out_dir)``, which:

1. reads the TimeIT train (and eval) json, samples ``n_frames`` frames per video uniformly and
   caches their frozen image-tower features on disk (``timechat_data``);
2. builds ``TimeChat`` (for ``llm = "tiny"`` a word-level tokenizer over the training text);
3. for the tiny random-init LLM only, optionally runs a short text-only stage
   (``train.lm_pretrain_steps``): the base LM learns the instruction and answer language
   (causal LM loss on question + answer text, no video), then it is frozen again. A randomly
   initialised LLM that stays frozen cannot write anything, which is why this stage exists; a real
   LLM backbone needs none;
4. trains what the paper trains (frame Q-Former, video Q-Former, projection, LoRA; or, with
   ``train.llm_mode = "full"``, the whole tiny LLM too) with the loss on answer tokens only, through
   the generic loop (seeded, resumable, gradient accumulation, bf16 autocast where supported);
   batches encode each distinct video once and may cut grounding samples to random temporal
   crops with shifted answers (``train.crop_prob``) so answers cannot be memorised (the loop
   tasks live in ``timechat_tasks``);
5. exports the trained weights + config with ``save_timechat`` to ``OUT/model``;
6. grounds the eval split's grounding queries with greedy decoding, parses the answers with
   ``chronolens.timebase.text.parse_span`` (clamped to the video; unparsed answers are misses) and
   scores R1@{0.3,0.5,0.7} and mIoU next to the uniform-window and random baselines.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from chronolens.errors import ChronolensError
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.models.timechat.features import FrameFeatures
from chronolens.training.loop import LoopConfig, TrainResult, train
from chronolens.training.recipes.timechat.align import (
    VideoTokenAlignment,
    init_word_embeddings,
    mean_image_embedding,
)
from chronolens.training.recipes.timechat.attention import GroundingAttention, number_pieces
from chronolens.training.recipes.timechat.data import (
    TimeITTurn,
    VideoFeatures,
    build_samples,
    encode_videos,
    load_turns,
)
from chronolens.training.recipes.timechat.evaluate import evaluate_grounding_split
from chronolens.training.recipes.timechat.settings import (
    EVAL_DIR,
    LM_STAGE_DIR,
    MODEL_DIR,
    RECIPE_FILE,
    TimeChatRecipe,
)
from chronolens.training.recipes.timechat.tasks import AUX_LOSSES, LMPretrainTask, TimeChatTask
from chronolens.training.recipes.timechat.timecode import VideoTokenTimeDigits

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat

__all__ = ["TimeChatRunResult", "run_timechat"]

logger = logging.getLogger(__name__)


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ChronolensError("train.device = 'cuda' but torch sees no CUDA device")
    return torch.device(name)


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA when supported ("auto"); fp32 on CPU unless bf16 is asked for.

    On the 2-core CPU build machine bf16 autocast made the tiny model's steps slower (the
    matrices are too small for the bf16 kernels to pay for the casts), so "auto" keeps fp32 there.
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def _trainable(model: torch.nn.Module, names: set[str]) -> Iterator[None]:
    """Temporarily make exactly the parameters in ``names`` trainable."""
    before = {name: p.requires_grad for name, p in model.named_parameters()}
    try:
        for name, p in model.named_parameters():
            p.requires_grad_(name in names)
        yield
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(before[name])


def _base_llm_names(model: TimeChat) -> set[str]:
    """Names (in ``model``) of the LLM's own weights, LoRA adapters excluded."""
    prefix = next(name for name, module in model.named_children() if module is model.llm)
    return {f"{prefix}.{name}" for name, _ in model.llm.named_parameters() if "lora_" not in name}


# ---------------------------------------------------------------------------------------------
# The recipe
# ---------------------------------------------------------------------------------------------


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


def _grounding_span(turn: TimeITTurn) -> tuple[float, float] | None:
    """The span a grounding turn's answer states (None for other tasks or no span)."""
    from chronolens.timebase.text import parse_span

    if turn.task != "tvg":
        return None
    span = parse_span(turn.answer)
    return None if span is None else (span.start, span.end)


def _corpus(turns: Sequence[TimeITTurn], config: TimeChatConfig) -> list[str]:
    from chronolens.models.timechat import build_prompt

    texts = [build_prompt(t.question) for t in turns] + [t.answer for t in turns]
    texts.append(config.timestamp_instruction(12.5))
    return texts


def _log_progress(
    stage: str, task: TimeChatTask | LMPretrainTask, on_log: Callable[[dict[str, Any]], None] | None
) -> Callable[[dict[str, Any]], None]:
    """A loop ``on_log`` callback adding text tokens/s to each record."""
    state = {"tokens": task.tokens, "t": time.perf_counter()}

    def callback(record: dict[str, Any]) -> None:
        now = time.perf_counter()
        rate = (task.tokens - state["tokens"]) / max(now - state["t"], 1e-9)
        state["tokens"], state["t"] = task.tokens, now
        record = {**record, "stage": stage, "tokens_per_s": rate}
        aux = []  # auxiliary losses included in the loss above, unweighted
        for key, name in AUX_LOSSES:
            value = getattr(task, f"last_{key}", None)
            if value is not None:
                record[key] = value
                aux.append(f"{name} {value:.4f}")
        logger.info(
            "%s step %d loss %.4f%s %.0f tokens/s",
            stage,
            record["step"],
            record["loss"],
            f" ({', '.join(aux)})" if aux else "",
            rate,
        )
        if on_log is not None:
            on_log(record)

    return callback


def run_timechat(
    recipe: TimeChatRecipe,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> TimeChatRunResult:
    """Train TimeChat as ``recipe`` says, export it and score grounding on the eval split.

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
    from chronolens.atomic import write_json_atomic
    from chronolens.models.timechat import TimeChat
    from chronolens.models.timechat.weights import save_timechat

    t0 = time.perf_counter()
    settings, config = recipe.train, recipe.model
    if settings.word_init != "random" and not config.is_tiny_llm:
        raise ChronolensError(
            f"train.word_init = {settings.word_init!r} is for the tiny LLM; "
            f"{config.llm!r} has its own embeddings"
        )
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = _resolve_device(settings.device)
    autocast = _autocast_dtype(settings.precision, device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / RECIPE_FILE, recipe.to_dict(), indent=2)
    data = recipe.data
    train_turns = load_turns(
        data.path(data.train),
        tasks=data.tasks or None,
        video_root=data.video_root or None,
        max_items=data.max_train_items or None,
    )
    eval_turns: list[TimeITTurn] = []
    if data.eval:
        eval_turns = load_turns(data.path(data.eval), tasks=("tvg",), video_root=data.video_root or None)
        if data.max_eval_queries:
            eval_turns = eval_turns[: data.max_eval_queries]
    tower = FrameFeatures(config.image_encoder)  # one load (and one weights hash) for both sets
    train_features, cache = encode_videos(
        [t.video for t in train_turns],
        encoder=tower,
        n_frames=config.n_frames * settings.frame_pool,
        cache_dir=data.cache_dir or None,
        progress=progress,
    )
    features: dict[Path, VideoFeatures] = {}
    if eval_turns:  # evaluated as at inference: n_frames spread uniformly over each video
        features, eval_cache = encode_videos(
            [t.video for t in eval_turns],
            encoder=tower,
            n_frames=config.n_frames,
            cache_dir=data.cache_dir or None,
            progress=progress,
        )
        cache.hits, cache.misses = cache.hits + eval_cache.hits, cache.misses + eval_cache.misses
    t_features = time.perf_counter() - t0
    samples = build_samples(train_turns, train_features)
    spans = [_grounding_span(t) for t in train_turns]

    if config.vision_dim is None:
        config = config.with_(vision_dim=tower.dim)  # from the loaded tower: build need not load it again
    torch.manual_seed(config.seed)
    model = TimeChat.build(config, corpus=_corpus(train_turns, config) if config.is_tiny_llm else None)
    alignment = None
    llm_dim = int(model.llm.get_input_embeddings().weight.shape[1])
    if settings.word_init == "image-text":
        init_word_embeddings(model, tower, seed=config.seed)
    if settings.align_weight > 0:
        image_mean = mean_image_embedding(tower, (v.features for v in train_features.values()))
        alignment = VideoTokenAlignment(config, tower, llm_dim, image_mean=image_mean, seed=config.seed)
    timecode = None
    if settings.time_digits_weight > 0:
        # keep out of the words' and frames' subspace when the image-text options put them there
        image_text = settings.word_init != "random" or alignment is not None
        tower_dim = tower.embedding_dim if image_text else None
        timecode = VideoTokenTimeDigits(config, llm_dim, tower_dim=tower_dim, seed=config.seed)
    model.to(device)

    lm_result: TrainResult | None = None
    t_lm = 0.0
    if settings.lm_pretrain_steps and config.is_tiny_llm:
        t1 = time.perf_counter()
        texts = [f"{t.question}\n{t.answer}" for t in train_turns]
        lm_task = LMPretrainTask(
            model, texts, settings.lm_pretrain_batch_size, device=device, max_tokens=config.max_text_tokens
        )
        lm_loop = LoopConfig(
            steps=settings.lm_pretrain_steps,
            lr=settings.lm_pretrain_lr,
            min_lr_ratio=settings.min_lr_ratio,
            warmup_steps=min(settings.warmup_steps, settings.lm_pretrain_steps),
            weight_decay=settings.weight_decay,
            seed=settings.seed,
            checkpoint_every=settings.checkpoint_every,
            log_every=settings.log_every,
            progress=progress,
            extra={"recipe": "timechat", "stage": "lm-pretrain"},
        )
        with _trainable(model, _base_llm_names(model)):
            lm_result = train(
                lm_task,
                lm_loop,
                out / LM_STAGE_DIR,
                resume=resume,
                on_log=_log_progress("lm", lm_task, on_log),
            )
        t_lm = time.perf_counter() - t1
    elif settings.lm_pretrain_steps:
        logger.info("train.lm_pretrain_steps ignored: the LLM %s is pretrained", config.llm)

    if settings.llm_mode == "full":
        if not config.is_tiny_llm:
            raise ChronolensError("train.llm_mode = 'full' is for the tiny LLM only; real LLMs train LoRA")
        model.unfreeze_llm()  # recorded by save_timechat, so the export holds the whole LLM
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    grounding = None
    if settings.ground_attn_weight > 0:
        n_layers = int(model.llm.config.num_hidden_layers)
        if settings.ground_attn_layer >= n_layers:
            raise ChronolensError(
                f"train.ground_attn_layer = {settings.ground_attn_layer}, but the LLM has {n_layers} layers"
            )
        model.llm.set_attn_implementation("eager")  # sdpa returns no attention probabilities
        grounding = GroundingAttention(
            config,
            layer=settings.ground_attn_layer,
            target=settings.ground_attn_target,
            numbers=number_pieces(model.tokenizer) if settings.ground_attn_target == "boundaries" else None,
        )
    task = TimeChatTask(
        model,
        samples,
        settings,
        device=device,
        autocast=autocast,
        spans=spans,
        alignment=alignment,
        grounding=grounding,
        timecode=timecode,
    )
    loop = LoopConfig(
        steps=settings.steps,
        lr=settings.lr,
        min_lr_ratio=settings.min_lr_ratio,
        warmup_steps=min(settings.warmup_steps, settings.steps),
        weight_decay=settings.weight_decay,
        grad_accum=settings.grad_accum,
        max_grad_norm=settings.max_grad_norm,
        seed=settings.seed,
        checkpoint_every=settings.checkpoint_every,
        log_every=settings.log_every,
        progress=progress,
        extra={"recipe": "timechat", "stage": "main"},
    )
    n_trainable = sum(p.numel() for name, p in model.named_parameters() if name in trainable)
    logger.info(
        "training %d samples, %d trainable parameters (%s), precision %s, device %s",
        len(samples),
        n_trainable,
        settings.llm_mode,
        "bf16" if autocast is not None else "fp32",
        device,
    )
    t2 = time.perf_counter()
    with _trainable(model, trainable):
        result = train(task, loop, out, resume=resume, on_log=_log_progress("main", task, on_log))
        t_train = time.perf_counter() - t2
        tokens_per_s = task.tokens / max(t_train, 1e-9)
        model_dir = save_timechat(model, out / MODEL_DIR)

    metrics: dict[str, dict[str, float | int]] = {}
    t_eval = 0.0
    if eval_turns:
        t3 = time.perf_counter()
        evaluation = evaluate_grounding_split(
            model, eval_turns, features, recipe.eval, device=device, autocast=autocast, progress=progress
        )
        t_eval = time.perf_counter() - t3
        metrics = evaluation.metrics
        # answers + gt re-score to the same figures with `chronolens eval charades-sta`
        write_json_atomic(out / EVAL_DIR / "grounding_answers.json", evaluation.answers)
        write_json_atomic(out / EVAL_DIR / "grounding_gt.json", evaluation.ground_truth)
        write_json_atomic(out / EVAL_DIR / "grounding_metrics.json", metrics, indent=2)
        for name, values in metrics.items():
            logger.info("grounding %s: %s", name, {k: round(float(v), 2) for k, v in values.items()})
    timings = {
        "features": t_features,
        "lm_pretrain": t_lm,
        "train": t_train,
        "eval": t_eval,
        "total": time.perf_counter() - t0,
    }
    summary = {
        "timings_s": timings,
        "metrics": metrics,
        "n_train_samples": len(samples),
        "n_trainable": n_trainable,
        "tokens_per_s": tokens_per_s,
        "feature_cache": {"hits": cache.hits, "misses": cache.misses, "dir": str(cache.root)},
        "final_loss": result.final_loss,
    }
    write_json_atomic(out / "summary.json", summary, indent=2)
    if not math.isfinite(result.final_loss) and result.losses:
        logger.warning("final loss is not finite")
    return TimeChatRunResult(
        model_dir=model_dir,
        train=result,
        lm_pretrain=lm_result,
        metrics=metrics,
        timings=timings,
        n_train_samples=len(samples),
        n_trainable=n_trainable,
        tokens_per_s=tokens_per_s,
    )
