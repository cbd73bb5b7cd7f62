"""Embedding throughput: chronolens' encoder vs plain transformers, on a ViT-B/32-sized CLIP.

Builds a random-init CLIP with the clip-vit-base-patch32 shapes (``CLIPConfig()`` defaults:
ViT-B/32 at 224 px, 12+12 layers, D=512) plus a small word-level tokenizer, writes it with
``save_pretrained`` and measures on 224x224 uint8 frames:

  (a) baseline: ``CLIPModel.get_image_features(pixel_values)``, fp32, eager, batch 16 (img/s);
  (b) ``load_encoder("hf:<dir>", precision="auto")`` -> ``encode_images`` (bf16 autocast where the
      CPU has native bf16), preprocessing included;
  (c) with ``--compile``: the same with ``torch.compile``.

It also checks that bf16 ranks like fp32: cosine between bf16 and fp32 embeddings, and image->text
top-1 / top-5 agreement on random frames and texts.

Run: ``.venv/bin/python benchmarks/embed.py [--frames 96] [--compile] [--model-dir DIR]``.
``make_vitb32_encoder_dir(path)`` is importable for other benchmarks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger("benchmarks.embed")

BASELINE_BATCH = 16  # batch size of the baseline measurement, as in the goal
IMAGE_SIZE = 224  # clip-vit-base-patch32 input resolution
GOAL_SPEEDUP = 1.8  # encoder img/s / baseline img/s
SEED = 0
QUALITY_IMAGES = 64  # frames for the bf16-vs-fp32 ranking check
QUALITY_TEXTS = 200  # texts for the bf16-vs-fp32 ranking check
_VOCAB_TEXT = (
    "a an the of on in at to with and person man woman child dog cat car bike ball box table chair "
    "door red green blue yellow black white big small walks runs jumps sits opens puts takes holds "
    "throws falls kitchen street park room beach night day water tree house"
)


def _save_tokenizer(directory: Path, max_length: int) -> None:
    """A lower-casing word-level tokenizer framed as ``<bos> ... <eos>`` (the builtin model's kind)."""
    from chronolens.models.synth_clip.tokenizer import build_tokenizer

    build_tokenizer([_VOCAB_TEXT], max_length=max_length).save_pretrained(directory)


def make_vitb32_encoder_dir(path: Path, *, seed: int = SEED) -> Path:
    """Write (once) a random-init clip-vit-base-patch32-shaped CLIP directory loadable as ``hf:<path>``.

    An existing complete directory is reused. The files are written to a temporary sibling and
    renamed into place, so an interrupted run never leaves a half-written model.

    Args:
        path: the model directory to create.
        seed: torch seed of the random weights.

    Returns:
        ``path``.
    """
    from transformers import CLIPConfig, CLIPModel

    path = Path(path)
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        config = CLIPConfig()
        # Shapes stay the clip-vit-base-patch32 ones; only the special-token ids follow our tokenizer.
        config.text_config.pad_token_id, config.text_config.bos_token_id, config.text_config.eos_token_id = (
            0,
            2,
            3,
        )
        torch.manual_seed(seed)
        CLIPModel(config).eval().save_pretrained(staging, safe_serialization=True)
        _save_tokenizer(staging, config.text_config.max_position_embeddings)
        preprocessor = {
            "image_processor_type": "CLIPImageProcessor",
            "size": {"shortest_edge": IMAGE_SIZE},
            "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
            "do_center_crop": True,
            "resample": 3,
        }
        (staging / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return path


# Per-CPU-second rates of the last _throughput call: on a shared machine wall-clock rates fall
# with other people's load, CPU-time rates much less (they are exact with --threads 1).
_CPU_RATES: dict[str, float] = {}


def _throughput(
    run_batch: Callable[[np.ndarray], object], frames: np.ndarray, batch: int, label: str
) -> float:
    """Images per wall-clock second of ``run_batch`` over ``frames`` in batches, after one warm-up.

    Also records images per CPU-second (all threads of this process) in ``_CPU_RATES[label]``.
    """
    run_batch(frames[:batch])
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, len(frames), batch):
        run_batch(frames[start : start + batch])
    _CPU_RATES[label] = len(frames) / (time.process_time() - cpu_started)
    return len(frames) / (time.perf_counter() - started)


def _random_texts(count: int, rng: np.random.Generator) -> list[str]:
    return [" ".join(rng.choice(_VOCAB_TEXT.split(), size=int(rng.integers(3, 12)))) for _ in range(count)]


def _ranking_agreement(
    fp32: tuple[np.ndarray, np.ndarray], bf16: tuple[np.ndarray, np.ndarray]
) -> dict[str, float]:
    """Compare image->text rankings of two encoders' ``(images (N, D), texts (M, D))``."""
    sim_fp32 = fp32[0] @ fp32[1].T  # (N, M)
    sim_bf16 = bf16[0] @ bf16[1].T
    top1 = float(np.mean(sim_fp32.argmax(axis=1) == sim_bf16.argmax(axis=1)))
    top5_fp32 = np.argsort(-sim_fp32, axis=1)[:, :5]
    top5_bf16 = np.argsort(-sim_bf16, axis=1)[:, :5]
    overlap5 = float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top5_fp32, top5_bf16, strict=True)]))
    return {
        "image_cosine_min": float((fp32[0] * bf16[0]).sum(axis=1).min()),
        "text_cosine_min": float((fp32[1] * bf16[1]).sum(axis=1).min()),
        "top1_agreement": top1,
        "top5_overlap": overlap5,
        "similarity_spread": float(sim_fp32.std()),  # how distinct the random-init scores are at all
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=96, help="frames per throughput measurement")
    parser.add_argument("--batch-size", type=int, default=BASELINE_BATCH, help="encoder batch size")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (slow to compile)")
    parser.add_argument(
        "--model-dir", type=Path, help="where to write / reuse the model (default: a temp dir)"
    )
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import CLIPModel

    from chronolens.encoders import load_encoder
    from chronolens.encoders.precision import cpu_has_native_bf16

    temp = None
    if args.model_dir is None:
        temp = tempfile.TemporaryDirectory(prefix="chronolens-bench-")
        args.model_dir = Path(temp.name) / "clip-vit-b32-random"
    try:
        started = time.perf_counter()
        model_dir = make_vitb32_encoder_dir(args.model_dir)
        build_s = time.perf_counter() - started
        rng = np.random.default_rng(SEED)
        frames = rng.integers(0, 256, (args.frames, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
        results: dict[str, object] = {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu_has_native_bf16(),
            "frames": args.frames,
            "model_build_s": round(build_s, 1),
        }

        # (a) baseline: plain transformers, fp32, eager, on already preprocessed pixels.
        baseline = CLIPModel.from_pretrained(model_dir).eval()
        fp32 = load_encoder(f"hf:{model_dir}", device="cpu", precision="fp32", batch_size=args.batch_size)
        pixels = fp32.pixel_values(frames).numpy()  # type: ignore[attr-defined]

        def run_baseline(batch: np.ndarray) -> object:
            with torch.inference_mode():
                return baseline.get_image_features(pixel_values=torch.from_numpy(batch))

        base = _throughput(run_baseline, pixels, BASELINE_BATCH, "baseline_fp32")
        results["baseline_fp32_img_s"] = round(base, 2)

        # (b) chronolens, fp32 and auto (bf16 autocast where native).
        results["encoder_fp32_img_s"] = round(
            _throughput(fp32.encode_images, frames, args.batch_size, "encoder_fp32"), 2
        )
        auto = load_encoder(f"hf:{model_dir}", device="cpu", precision="auto", batch_size=args.batch_size)
        auto_rate = _throughput(auto.encode_images, frames, args.batch_size, "encoder_auto")
        results["encoder_auto_dtype"] = str(auto.dtype).removeprefix("torch.")  # type: ignore[attr-defined]
        results["encoder_auto_img_s"] = round(auto_rate, 2)
        results["encoder_auto_speedup"] = round(auto_rate / base, 2)

        # Ranking quality of bf16 against fp32.
        quality_frames = frames[:QUALITY_IMAGES]
        texts = _random_texts(QUALITY_TEXTS, rng)
        bf16 = load_encoder(f"hf:{model_dir}", device="cpu", precision="bf16", batch_size=args.batch_size)
        results["bf16_vs_fp32"] = _ranking_agreement(
            (fp32.encode_images(quality_frames), fp32.encode_texts(texts)),
            (bf16.encode_images(quality_frames), bf16.encode_texts(texts)),
        )

        # (c) torch.compile on top of auto.
        if args.compile:
            compiled = load_encoder(
                f"hf:{model_dir}", device="cpu", precision="auto", batch_size=args.batch_size, compile=True
            )
            started = time.perf_counter()
            compiled.encode_images(frames[: args.batch_size])
            results["compile_first_call_s"] = round(time.perf_counter() - started, 1)
            rate = _throughput(compiled.encode_images, frames, args.batch_size, "encoder_compiled")
            results["encoder_compiled_img_s"] = round(rate, 2)
            results["encoder_compiled_speedup"] = round(rate / base, 2)
    finally:
        if temp is not None:
            temp.cleanup()
    results["img_per_cpu_s"] = {label: round(rate, 2) for label, rate in _CPU_RATES.items()}
    results["cpu_speedup_auto"] = round(_CPU_RATES["encoder_auto"] / _CPU_RATES["baseline_fp32"], 2)

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for key, value in results.items():
        print(f"{key:28s} {value}")
    speedup = float(results["encoder_auto_speedup"])  # type: ignore[arg-type]
    verdict = "meets" if speedup >= GOAL_SPEEDUP else "misses"
    print(f"encoder (auto) is {speedup:.2f}x the fp32 baseline: {verdict} the {GOAL_SPEEDUP}x goal")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
