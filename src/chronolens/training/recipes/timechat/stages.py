"""The stages of a TimeChat run, one function each, in the order ``run_timechat`` calls them.

1. :func:`start_run` checks what can be checked before anything loads and writes ``recipe.json``;
2. :func:`load_data` reads the TimeIT turns and their videos' frame features (cached);
3. :func:`build_model` builds TimeChat and the auxiliary heads the recipe asks for;
4. :func:`lm_pretrain_stage` runs the tiny LLM's text-only stage;
5. :func:`main_stage` trains what the paper trains and exports the model;
6. :func:`evaluate_stage` grounds the eval queries and writes answers and metrics;
7. :func:`write_summary` writes ``summary.json``.

Every stage's loop settings come from :func:`stage_loop`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from chronolens.data.formats.timeit_tasks import TVC
from chronolens.errors import ChronolensError
from chronolens.models.timechat.config import TimeChatConfig
from chronolens.models.timechat.features import FrameFeatures
from chronolens.training.loop import LoopConfig, TrainResult, loop_config, train
from chronolens.training.recipes.timechat.align import (
    VideoTokenAlignment,
    init_word_embeddings,
    mean_image_embedding,
)
from chronolens.training.recipes.timechat.attention import GroundingAttention, number_pieces
from chronolens.training.recipes.timechat.data import (
    FeatureCache,
    TimeITTurn,
    VideoFeatures,
    encode_videos,
    load_turns,
)
from chronolens.training.recipes.timechat.evaluate import (
    evaluate_grounding_split,
    evaluate_transcription_split,
)
from chronolens.training.recipes.timechat.runtime import (
    autocast_dtype,
    base_llm_names,
    resolve_device,
    trainable_only,
)
from chronolens.training.recipes.timechat.settings import (
    EVAL_DIR,
    LM_STAGE_DIR,
    MODEL_DIR,
    RECIPE_FILE,
    TimeChatRecipe,
    TrainSettings,
)
from chronolens.training.recipes.timechat.tasks import AUX_LOSSES, LMPretrainTask, TimeChatTask
from chronolens.training.recipes.timechat.timecode import VideoTokenTimeDigits

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat, TimeChatSample

__all__ = [
    "BuiltModel",
    "MainStage",
    "RunData",
    "build_model",
    "eval_tasks",
    "evaluate_stage",
    "grounding_span",
    "lm_pretrain_stage",
    "load_data",
    "log_progress",
    "main_stage",
    "stage_loop",
    "start_run",
    "tokenizer_corpus",
    "write_summary",
]

logger = logging.getLogger(__name__)


def grounding_span(turn: TimeITTurn) -> tuple[float, float] | None:
    """The span a grounding turn's answer states (None for other tasks or no span)."""
    from chronolens.timebase.text import parse_span

    if turn.task != "tvg":
        return None
    span = parse_span(turn.answer)
    return None if span is None else (span.start, span.end)


def eval_tasks(train_tasks: Sequence[str]) -> tuple[str, ...]:
    """The TimeIT tasks the eval split is scored on: grounding, plus transcription when trained on."""
    return ("tvg", TVC) if TVC in train_tasks else ("tvg",)


def tokenizer_corpus(turns: Sequence[TimeITTurn], config: TimeChatConfig) -> list[str]:
    """The texts the tiny LLM's word-level tokenizer is built from: prompts, answers, frame times."""
    from chronolens.models.timechat import build_prompt

    texts = [build_prompt(t.question) for t in turns] + [t.answer for t in turns]
    texts.append(config.timestamp_instruction(12.5))
    if config.transcript:  # every word the prompts' transcripts may hold (no budget: a superset)
        from chronolens.models.timechat.transcript import transcript_text

        for turn in turns:
            lines = transcript_text(turn.asr, max_lines=len(turn.asr)) if turn.asr else None
            if lines:
                texts.append(lines)
    return texts


def log_progress(
    stage: str, task: TimeChatTask | LMPretrainTask, on_log: Callable[[dict[str, Any]], None] | None
) -> Callable[[dict[str, Any]], None]:
    """A loop ``on_log`` callback adding text tokens/s to each record."""
    state = {"tokens": task.tokens, "t": time.perf_counter()}

    def callback(record: dict[str, Any]) -> None:
        now = time.perf_counter()
        rate = (task.tokens - state["tokens"]) / max(now - state["t"], 1e-9)
        state["tokens"], state["t"] = task.tokens, now
        record = {**record, "stage": stage, "tokens_per_s": rate}
        aux: dict[str, float] = {}  # display name -> auxiliary loss included in the loss, unweighted
        for key, name in AUX_LOSSES:
            value = getattr(task, f"last_{key}", None)
            if value is not None:
                record[key] = aux[name] = value
        record["aux_losses"] = aux  # for on_log's display, in AUX_LOSSES order
        logger.info(
            "%s step %d loss %.4f%s %.0f tokens/s",
            stage,
            record["step"],
            record["loss"],
            f" ({', '.join(f'{name} {value:.4f}' for name, value in aux.items())})" if aux else "",
            rate,
        )
        if on_log is not None:
            on_log(record)

    return callback


def stage_loop(settings: TrainSettings, stage: str, *, progress: bool) -> LoopConfig:
    """The loop settings of one stage (``"lm-pretrain"`` or ``"main"``) of a TimeChat run."""
    common: dict[str, Any] = {
        "min_lr_ratio": settings.min_lr_ratio,
        "weight_decay": settings.weight_decay,
        "seed": settings.seed,
        "checkpoint_every": settings.checkpoint_every,
        "log_every": settings.log_every,
        "progress": progress,
        "extra": {"recipe": "timechat", "stage": stage},
    }
    if stage == "lm-pretrain":
        # The text-only stage keeps the loop's own grad_accum (1) and max_grad_norm (1.0), as
        # the runs behind docs/timechat.md's figures did; only the main stage takes train.*'s.
        return loop_config(
            steps=settings.lm_pretrain_steps,
            lr=settings.lm_pretrain_lr,
            warmup_steps=settings.warmup_steps,
            **common,
        )
    return loop_config(
        steps=settings.steps,
        lr=settings.lr,
        warmup_steps=settings.warmup_steps,
        grad_accum=settings.grad_accum,
        max_grad_norm=settings.max_grad_norm,
        **common,
    )


@dataclass(frozen=True, slots=True)
class RunData:
    """The turns of a run and their frame features (stage 1)."""

    tower: FrameFeatures  # the frozen image tower, loaded once for both sets
    train_turns: list[TimeITTurn]
    eval_turns: list[TimeITTurn]  # grounding queries scored after training ([] = none)
    train_features: dict[Path, VideoFeatures]  # n_frames * frame_pool frames per training video
    eval_features: dict[Path, VideoFeatures]  # n_frames frames per eval video
    cache: FeatureCache  # hit/miss counts of both sets


@dataclass(frozen=True, slots=True)
class BuiltModel:
    """The model of a run and its auxiliary heads (stage 2)."""

    model: TimeChat
    config: TimeChatConfig  # the recipe's, with vision_dim taken from the loaded tower
    alignment: VideoTokenAlignment | None  # train.align_weight > 0
    timecode: VideoTokenTimeDigits | None  # train.time_digits_weight > 0


@dataclass(frozen=True, slots=True)
class MainStage:
    """The outcome of the main training stage (stage 4) and the export (stage 5)."""

    result: TrainResult
    model_dir: Path
    wall_s: float  # seconds in the loop
    tokens_per_s: float  # text tokens per second over the stage
    n_samples: int  # training samples (question/answer turns)
    n_trainable: int  # trainable parameters


def start_run(recipe: TimeChatRecipe, out: Path) -> tuple[torch.device, torch.dtype | None]:
    """Check what can be checked before anything loads, set up torch and write ``recipe.json``."""
    from chronolens.atomic import write_json_atomic

    settings, config = recipe.train, recipe.model
    if settings.word_init != "random" and not config.is_tiny_llm:
        raise ChronolensError(
            f"train.word_init = {settings.word_init!r} is for the tiny LLM; "
            f"{config.llm!r} has its own embeddings"
        )
    if settings.threads:
        torch.set_num_threads(settings.threads)
    device = resolve_device(settings.device)
    autocast = autocast_dtype(settings.precision, device)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / RECIPE_FILE, recipe.to_dict(), indent=2)
    return device, autocast


def load_data(recipe: TimeChatRecipe, *, progress: bool) -> RunData:
    """Read the TimeIT turns and encode (or load from the cache) their videos' frame features."""
    data, config = recipe.data, recipe.model
    train_turns = load_turns(
        data.path(data.train),
        tasks=data.tasks or None,
        video_root=data.video_root or None,
        max_items=data.max_train_items or None,
        speech=config.transcript,
    )
    eval_turns: list[TimeITTurn] = []
    if data.eval:
        eval_turns = load_turns(
            data.path(data.eval),
            tasks=eval_tasks(data.tasks),
            video_root=data.video_root or None,
            speech=config.transcript,
        )
        if data.max_eval_queries:  # the first N of each evaluated task
            eval_turns = [
                t
                for task in dict.fromkeys(t.task for t in eval_turns)
                for t in [u for u in eval_turns if u.task == task][: data.max_eval_queries]
            ]
    tower = FrameFeatures(config.image_encoder)  # one load (and one weights hash) for both sets
    train_features, cache = encode_videos(
        [t.video for t in train_turns],
        encoder=tower,
        n_frames=config.n_frames * recipe.train.frame_pool,
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
    return RunData(
        tower=tower,
        train_turns=train_turns,
        eval_turns=eval_turns,
        train_features=train_features,
        eval_features=features,
        cache=cache,
    )


def build_model(recipe: TimeChatRecipe, data: RunData, device: torch.device) -> BuiltModel:
    """Build TimeChat (and the auxiliary heads the recipe asks for) on ``device``."""
    from chronolens.models.timechat import TimeChat

    settings, config, tower = recipe.train, recipe.model, data.tower
    if config.vision_dim is None:
        config = config.with_(vision_dim=tower.dim)  # from the loaded tower: build need not load it again
    torch.manual_seed(config.seed)
    corpus = tokenizer_corpus(data.train_turns, config) if config.is_tiny_llm else None
    model = TimeChat.build(config, corpus=corpus)
    alignment = None
    llm_dim = int(model.llm.get_input_embeddings().weight.shape[1])
    if settings.word_init == "image-text":
        init_word_embeddings(model, tower, seed=config.seed)
    if settings.align_weight > 0:
        image_mean = mean_image_embedding(tower, (v.features for v in data.train_features.values()))
        alignment = VideoTokenAlignment(config, tower, llm_dim, image_mean=image_mean, seed=config.seed)
    timecode = None
    if settings.time_digits_weight > 0:
        # keep out of the words' and frames' subspace when the image-text options put them there
        image_text = settings.word_init != "random" or alignment is not None
        tower_dim = tower.embedding_dim if image_text else None
        timecode = VideoTokenTimeDigits(config, llm_dim, tower_dim=tower_dim, seed=config.seed)
    model.to(device)
    return BuiltModel(model=model, config=config, alignment=alignment, timecode=timecode)


def lm_pretrain_stage(
    settings: TrainSettings,
    built: BuiltModel,
    turns: Sequence[TimeITTurn],
    out: Path,
    *,
    device: torch.device,
    resume: bool,
    progress: bool,
    on_log: Callable[[dict[str, Any]], None] | None,
) -> tuple[TrainResult | None, float]:
    """The text-only LM stage of the tiny LLM (``train.lm_pretrain_steps``): result and seconds."""
    model, config = built.model, built.config
    if not settings.lm_pretrain_steps:
        return None, 0.0
    if not config.is_tiny_llm:
        logger.info("train.lm_pretrain_steps ignored: the LLM %s is pretrained", config.llm)
        return None, 0.0
    t1 = time.perf_counter()
    texts = [f"{t.question}\n{t.answer}" for t in turns]
    lm_task = LMPretrainTask(
        model, texts, settings.lm_pretrain_batch_size, device=device, max_tokens=config.max_text_tokens
    )
    with trainable_only(model, base_llm_names(model)):
        lm_result = train(
            lm_task,
            stage_loop(settings, "lm-pretrain", progress=progress),
            out / LM_STAGE_DIR,
            resume=resume,
            on_log=log_progress("lm", lm_task, on_log),
        )
    return lm_result, time.perf_counter() - t1


def grounding_attention(settings: TrainSettings, built: BuiltModel) -> GroundingAttention | None:
    """The attention-supervision loss (``train.ground_attn_weight > 0``), checked against the LLM."""
    model = built.model
    if settings.ground_attn_weight <= 0:
        return None
    n_layers = int(model.llm.config.num_hidden_layers)
    if settings.ground_attn_layer >= n_layers:
        raise ChronolensError(
            f"train.ground_attn_layer = {settings.ground_attn_layer}, but the LLM has {n_layers} layers"
        )
    model.llm.set_attn_implementation("eager")  # sdpa returns no attention probabilities
    return GroundingAttention(
        built.config,
        layer=settings.ground_attn_layer,
        target=settings.ground_attn_target,
        numbers=number_pieces(model.tokenizer) if settings.ground_attn_target == "boundaries" else None,
    )


def main_stage(
    settings: TrainSettings,
    built: BuiltModel,
    samples: list[TimeChatSample],
    spans: list[tuple[float, float] | None],
    out: Path,
    *,
    device: torch.device,
    autocast: torch.dtype | None,
    resume: bool,
    progress: bool,
    on_log: Callable[[dict[str, Any]], None] | None,
) -> MainStage:
    """Train what the paper trains (or the whole tiny LLM) and export the model to ``out/model``."""
    from chronolens.models.timechat.weights import save_timechat

    model = built.model
    if settings.llm_mode == "full":
        if not built.config.is_tiny_llm:
            raise ChronolensError("train.llm_mode = 'full' is for the tiny LLM only; real LLMs train LoRA")
        model.unfreeze_llm()  # recorded by save_timechat, so the export holds the whole LLM
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    task = TimeChatTask(
        model,
        samples,
        settings,
        device=device,
        autocast=autocast,
        spans=spans,
        alignment=built.alignment,
        grounding=grounding_attention(settings, built),
        timecode=built.timecode,
    )
    loop = stage_loop(settings, "main", progress=progress)
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
    with trainable_only(model, trainable):
        result = train(task, loop, out, resume=resume, on_log=log_progress("main", task, on_log))
        t_train = time.perf_counter() - t2
        tokens_per_s = task.tokens / max(t_train, 1e-9)
        model_dir = save_timechat(model, out / MODEL_DIR)
    return MainStage(
        result=result,
        model_dir=model_dir,
        wall_s=t_train,
        tokens_per_s=tokens_per_s,
        n_samples=len(samples),
        n_trainable=n_trainable,
    )


def evaluate_stage(
    recipe: TimeChatRecipe,
    model: TimeChat,
    data: RunData,
    out: Path,
    *,
    device: torch.device,
    autocast: torch.dtype | None,
    progress: bool,
) -> tuple[dict[str, dict[str, float | int]], float]:
    """Ground the eval queries, transcribe the transcription turns; answers and metrics to ``out/eval``.

    Returns:
        ``{"timechat" | "uniform-window" | "random": grounding metrics}`` when there are grounding
        turns, plus ``"transcription"`` (WER, segment time errors) when there are transcription
        turns; and the seconds taken.
    """
    from chronolens.atomic import write_json_atomic

    grounding = [t for t in data.eval_turns if t.task == "tvg"]
    speech = [t for t in data.eval_turns if t.task == TVC]
    if not grounding and not speech:
        return {}, 0.0
    t3 = time.perf_counter()
    metrics: dict[str, dict[str, float | int]] = {}
    if grounding:
        evaluation = evaluate_grounding_split(
            model,
            grounding,
            data.eval_features,
            recipe.eval,
            device=device,
            autocast=autocast,
            progress=progress,
        )
        metrics.update(evaluation.metrics)
        # answers + gt re-score to the same figures with `chronolens eval charades-sta`
        write_json_atomic(out / EVAL_DIR / "grounding_answers.json", evaluation.answers)
        write_json_atomic(out / EVAL_DIR / "grounding_gt.json", evaluation.ground_truth)
        write_json_atomic(out / EVAL_DIR / "grounding_metrics.json", evaluation.metrics, indent=2)
        for name, values in evaluation.metrics.items():
            logger.info("grounding %s: %s", name, {k: round(float(v), 2) for k, v in values.items()})
    if speech:
        transcription = evaluate_transcription_split(
            model,
            speech,
            data.eval_features,
            recipe.eval,
            device=device,
            autocast=autocast,
            progress=progress,
        )
        metrics["transcription"] = transcription.metrics
        write_json_atomic(out / EVAL_DIR / "transcription_answers.json", transcription.answers)
        write_json_atomic(out / EVAL_DIR / "transcription_metrics.json", transcription.metrics, indent=2)
        logger.info("transcription: %s", {k: round(float(v), 3) for k, v in transcription.metrics.items()})
    return metrics, time.perf_counter() - t3


def write_summary(
    out: Path,
    main: MainStage,
    metrics: dict[str, dict[str, float | int]],
    timings: dict[str, float],
    cache: FeatureCache,
) -> None:
    """``out/summary.json``: timings, metrics, sizes, throughput and the feature cache's use."""
    from chronolens.atomic import write_json_atomic

    summary = {
        "timings_s": timings,
        "metrics": metrics,
        "n_train_samples": main.n_samples,
        "n_trainable": main.n_trainable,
        "tokens_per_s": main.tokens_per_s,
        "feature_cache": {"hits": cache.hits, "misses": cache.misses, "dir": str(cache.root)},
        "final_loss": main.result.final_loss,
    }
    write_json_atomic(out / "summary.json", summary, indent=2)
